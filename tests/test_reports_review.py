"""Pure pieces of the reports, without a database: flags, minute ranges, strategies, prompts, layout helpers."""

from __future__ import annotations

from datetime import date

import pytest

from rrrs_core.episodes import Mark, find_episodes
from rrrs_core.reports import review as rv
from rrrs_core.reports.blocks import fit_widths, fmt_rating
from rrrs_core.reports.timeline import timeline


def make(marks: list[Mark], tc: int | None = 1, n_segments: int = 10, pending: bool = False,
         session: int = 1, when: date | None = date(2026, 1, 5), dyad: str = "D1",
         res: int | None = 2) -> rv.SessionReview:
    if pending:
        tc = res = None
    return rv.SessionReview(dyad, session, when, n_segments, 5, "C1", tc, res, pending, 4, tuple(marks),
                            tuple(find_episodes(marks, n_segments, 5)))


WITHDRAW = Mark(3, "minimal_response", "withdrawal", "check", "Minimal response")
CONFRONT = Mark(6, "complaint_therapist", "confrontation", "check", "Complaint/concern about the therapist")
META = Mark(7, "invite_feelings", "resolution", "check", "Invites thoughts/feelings about therapist or therapy")
REDIRECT = Mark(4, "redirect_refocus", "resolution", "check_minus", "Redirects / refocuses")


LAST = Mark(10, "minimal_response", "withdrawal", "check", "Minimal response")   # last of 10 segments


def test_flags_follow_the_coders_global_ratings():
    assert make([], tc=4).flagged and make([], tc=4).high_contribution
    assert not make([], tc=3).flagged
    # An unaddressed episode alone no longer flags a rated session: the coder's resolution rating leads.
    assert not make([WITHDRAW], tc=1, res=2).flagged
    assert make([WITHDRAW], tc=1, res=1).flagged                 # a rupture rated not resolved
    assert not make([], tc=1, res=1).flagged                     # resolution 1 without a rupture segment
    unclear = Mark(3, "denial", "withdrawal", "check_minus", "Denial")
    assert not make([unclear], tc=1, res=1).flagged              # check-minus is not a rupture segment
    # Ratings pending: the heuristic stands in, but not for an episode the session's end cut short.
    assert make([WITHDRAW], pending=True).flagged
    assert not make([LAST], pending=True).flagged
    assert not make([WITHDRAW, META._replace(segment=4)], pending=True).flagged
    assert not make([], pending=True).flagged


def test_reasons_name_the_rule_that_fired():
    assert make([WITHDRAW], tc=4, res=1).reasons() == ["therapist contribution 4 (at or above 4)",
                                                       "overall resolution 1 with ruptures"]
    assert make([WITHDRAW, CONFRONT, META], pending=True).reasons() == [
        "ratings pending; unaddressed episode at 10-15 min"]
    two = make([WITHDRAW, CONFRONT], pending=True).reasons()
    assert two == ["ratings pending; unaddressed episodes at 10-15, 25-30 min"]
    assert make([WITHDRAW], tc=3, res=3).reasons() == []


def test_severity_is_the_shared_rule():
    # (tc - 1) + (5 - res) with a rupture; without one the resolution adds nothing; pending adds nothing.
    assert make([WITHDRAW], tc=4, res=1).severity == 3 + 4
    assert make([], tc=4, res=1).severity == 3
    assert make([WITHDRAW], pending=True).severity == 0
    assert make([WITHDRAW, LAST], tc=5, res=1).rupture_segments == 2


def test_rupture_cut_by_the_session_end_is_unaddressed_in_session():
    r = make([WITHDRAW, META._replace(segment=5), LAST], tc=4)
    assert [e.status for e in r.episodes] == ["addressed", "unaddressed in session"]
    assert r.unaddressed == () and len(r.in_session) == 1
    assert rv.review_ranges(r) == ["45-50 min (unaddressed in session: rupture at 45-50 min)",
                                   "10-25 min (addressed: rupture at 10-15 min)"]
    assert rv.compact_ranges(r) == "10-15 min (addressed); 45-50 min (unaddressed in session)"
    prompts = rv.reflection_prompts(r)
    assert any(p.startswith("The session ended soon after the rupture at minutes 45-50") for p in prompts)
    assert not any(p.startswith("No resolution strategy was coded") for p in prompts)


def test_review_ranges_put_unaddressed_first_and_handle_no_episode():
    r = make([WITHDRAW, CONFRONT, META])
    assert rv.review_ranges(r) == ["10-25 min (unaddressed: rupture at 10-15 min)",
                                   "25-40 min (addressed: rupture at 25-30 min)"]
    assert rv.review_ranges(r, unaddressed_only=True) == ["10-25 min (unaddressed: rupture at 10-15 min)"]
    unclear = Mark(2, "denial", "withdrawal", "check_minus", "Denial")
    assert rv.review_ranges(make([unclear], tc=5)) == ["5-10 min (unclear rupture marker)"]
    assert rv.review_ranges(make([], tc=5)) == ["the whole session (0-50 min): no rupture marker was coded"]


def test_strategy_use_lists_metacommunicative_apart():
    use = rv.strategy_use([META, REDIRECT], 5)
    assert use.used[rv.META] == ["Invites thoughts/feelings about therapist or therapy (30-35 min)"]
    assert use.unclear[rv.OTHER] == ["Redirects / refocuses (15-20 min)"]
    assert "Acknowledges own contribution" in use.unused[rv.META]
    assert "Links rupture to patterns with therapist" in use.unused[rv.META]
    assert "Links rupture to other relationships" in use.unused[rv.META]
    assert "Redirects / refocuses" not in use.unused[rv.OTHER]
    assert len(use.unused[rv.META]) + len(use.used[rv.META]) == 5


def test_reflection_prompts_point_at_the_minutes():
    prompts = rv.reflection_prompts(make([WITHDRAW], tc=5))
    assert prompts[0] == "What was happening between you and the patient at minutes 10-15?"
    assert any("just before the patient withdrew (minimal response) at minutes 10-15?" in p for p in prompts)
    assert any(p.startswith("No resolution strategy was coded within 10 minutes") for p in prompts)
    assert any("Coders rated your contribution 5 of 5" in p and "What was your part in it?" in p
               for p in prompts)
    assert any("No metacommunicative strategy" in p for p in prompts)
    confront = rv.reflection_prompts(make([CONFRONT, META]))
    assert any("When the patient confronted you (complaint/concern about the therapist)" in p for p in confront)
    assert any("You used \u201cinvites thoughts/feelings" in p for p in confront)
    assert rv.reflection_prompts(make([], tc=1)) == []


def test_review_priority_is_severity_then_newest():
    old_high = make([], tc=5, when=date(2025, 1, 1), session=1)                   # severity 4
    new_high = make([], tc=4, when=date(2026, 1, 1), session=2)                   # severity 3
    worst = make([WITHDRAW], tc=4, res=1, when=date(2024, 1, 1), session=3)       # severity 7, oldest
    new_tie = make([WITHDRAW], tc=2, res=1, when=date(2026, 2, 1), session=4)     # severity 5
    old_tie = make([WITHDRAW], tc=2, res=1, when=date(2025, 2, 1), session=5)     # severity 5
    pending = make([WITHDRAW], pending=True, when=date(2026, 3, 1), session=6)    # severity 0
    not_flagged = make([WITHDRAW], tc=3, res=3, session=7)
    reviews = [old_high, new_high, worst, new_tie, old_tie, pending, not_flagged]
    ordered = rv.flagged_in_order(reviews)
    assert [r.session_number for r in ordered] == [3, 4, 5, 1, 2, 6]
    assert [r.severity for r in ordered] == [7, 5, 5, 4, 3, 0]
    assert sorted(reviews, key=rv.review_priority)[0] is worst


def test_prompts_name_a_minute_range_never_minute_zero():
    first = Mark(1, "minimal_response", "withdrawal", "check", "Minimal response")
    prompts = rv.reflection_prompts(make([first], tc=5))
    assert any("withdrew (minimal response) at minutes 0-5?" in p for p in prompts)
    meta_first = make([META._replace(segment=1), CONFRONT])
    assert any("You used \u201cinvites thoughts/feelings about therapist or therapy\u201d at minutes 0-5."
               in p for p in rv.reflection_prompts(meta_first))
    alone = rv.reflection_prompts(make([META._replace(segment=1)], tc=4))
    assert any("at minutes 0-5, with no rupture coded around it" in p for p in alone)
    every = [p for m in (prompts, rv.reflection_prompts(meta_first), alone) for p in m]
    assert not any("minute 0" in p for p in every)


def test_recurring_ruptures_across_flagged_sessions():
    reviews = [make([CONFRONT], session=n, res=1) for n in (1, 2, 3)] + [make([], session=4),
                                                                        make([CONFRONT], session=5)]
    assert rv.recurring_ruptures(reviews) == [("Complaint/concern about the therapist", [1, 2, 3])]


def test_timeline_drawing_has_a_row_per_code_plus_episodes():
    empty = timeline([], 9, 5)
    one = timeline([WITHDRAW], 9, 5, find_episodes([WITHDRAW], 9, 5))
    three = timeline([WITHDRAW, CONFRONT, META], 9, 5, find_episodes([WITHDRAW, CONFRONT, META], 9, 5))
    assert empty.height > 0 and one.height > empty.height and three.height > one.height


def test_fit_widths_gives_headers_room_without_changing_the_total():
    out = fit_widths([10, 100, 100], [40, 20, 20])
    assert round(sum(out), 6) == 210 and out[0] == 40 and out[1] > 20
    assert [round(w) for w in fit_widths([10, 10], [30, 10])] == [15, 5]


def test_pending_rating_text():
    assert fmt_rating(None, True) == "pending" and fmt_rating(3, False) == "3" and fmt_rating(None, False) == "-"


def test_compact_ranges_for_tables():
    assert rv.compact_ranges(make([WITHDRAW, CONFRONT, META])) == "10-15 min (unaddressed)"
    assert rv.compact_ranges(make([CONFRONT, META])) == "25-30 min (addressed)"
    assert rv.compact_ranges(make([LAST])) == "45-50 min (unaddressed in session)"
    assert rv.compact_ranges(make([], tc=5)).startswith("the whole session")


def test_chart_images_are_rendered_once_and_fit_the_frame():
    import altair as alt
    import pandas as pd

    from rrrs_core.reports import images
    from rrrs_core.reports.layout import FRAME_WIDTH

    chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x:Q", y="y:Q")
    png = images.render_png(chart.properties(width=900))
    assert images.render_png(chart.properties(width=900)) is png         # the second call is a cache hit
    w, h = images.png_size(png)
    img = images.image(png)
    assert img.width <= FRAME_WIDTH and abs(img.width / img.height - w / h) < 0.01
    full = (img.full_width, img.full_height)
    assert img.wrap(FRAME_WIDTH, full[1] * 0.9) == pytest.approx((full[0] * 0.9, full[1] * 0.9))  # shrinks a bit
    assert img.wrap(FRAME_WIDTH, full[1] * 0.5) == full                                         # not to a stamp


def test_dejavu_is_preferred_when_a_package_ships_it(tmp_path, monkeypatch):
    from pathlib import Path

    import reportlab

    from rrrs_core.reports import layout

    ttf = tmp_path / "mpl-data" / "fonts" / "ttf"
    ttf.mkdir(parents=True)
    for name in layout._DEJAVU:
        (ttf / name).write_bytes(b"")
    bundled = Path(reportlab.__file__).parent
    monkeypatch.setattr(layout, "_package_dir", {"matplotlib": tmp_path, "reportlab": bundled}.get)
    assert [p.name for p in layout.font_files()] == list(layout._DEJAVU)
    monkeypatch.setattr(layout, "_package_dir", {"reportlab": bundled}.get)
    assert [p.name for p in layout.font_files()] == ["Vera.ttf", "VeraBd.ttf", "VeraIt.ttf", "VeraBI.ttf"]
