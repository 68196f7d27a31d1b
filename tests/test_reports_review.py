"""Pure pieces of the reports, without a database: flags, minute ranges, strategies, prompts, layout helpers."""

from __future__ import annotations

from datetime import date

import pytest

from rrrs_core.episodes import Mark, find_episodes
from rrrs_core.reports import review as rv
from rrrs_core.reports.blocks import fit_widths, fmt_rating
from rrrs_core.reports.timeline import timeline


def make(marks: list[Mark], tc: int | None = 1, n_segments: int = 10, pending: bool = False,
         session: int = 1, when: date | None = date(2026, 1, 5), dyad: str = "D1") -> rv.SessionReview:
    return rv.SessionReview(dyad, session, when, n_segments, 5, "C1", tc, 2, pending, 4, tuple(marks),
                            tuple(find_episodes(marks, n_segments, 5)))


WITHDRAW = Mark(3, "minimal_response", "withdrawal", "check", "Minimal response")
CONFRONT = Mark(6, "complaint_therapist", "confrontation", "check", "Complaint/concern about the therapist")
META = Mark(7, "invite_feelings", "resolution", "check", "Invites thoughts/feelings about therapist or therapy")
REDIRECT = Mark(4, "redirect_refocus", "resolution", "check_minus", "Redirects / refocuses")


def test_flags_follow_threshold_and_unaddressed_episodes():
    assert make([], tc=4).flagged and make([], tc=4).high_contribution
    assert not make([], tc=3).flagged
    assert make([WITHDRAW], tc=1).flagged                      # no strategy within 10 minutes
    assert not make([WITHDRAW, META._replace(segment=4)], tc=1).flagged
    assert not make([], tc=None, pending=True).flagged


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
    assert any("just before the patient withdrew (minimal response) around minute 10" in p for p in prompts)
    assert any(p.startswith("No resolution strategy was coded within 10 minutes") for p in prompts)
    assert any("Coders rated your contribution 5 of 5" in p and "What was your part in it?" in p
               for p in prompts)
    assert any("No metacommunicative strategy" in p for p in prompts)
    confront = rv.reflection_prompts(make([CONFRONT, META]))
    assert any("When the patient confronted you (complaint/concern about the therapist)" in p for p in confront)
    assert any("You used \u201cinvites thoughts/feelings" in p for p in confront)
    assert rv.reflection_prompts(make([], tc=1)) == []


def test_review_priority_puts_high_contribution_first_then_newest():
    old_high = make([], tc=5, when=date(2025, 1, 1), session=1)
    new_high = make([], tc=4, when=date(2026, 1, 1), session=2)
    new_unresolved = make([WITHDRAW], tc=1, when=date(2026, 2, 1), session=3)
    old_unresolved = make([WITHDRAW], tc=1, when=date(2025, 2, 1), session=4)
    ordered = sorted([old_unresolved, new_unresolved, new_high, old_high], key=rv.review_priority)
    assert [r.session_number for r in ordered] == [1, 2, 3, 4]


def test_recurring_ruptures_across_flagged_sessions():
    reviews = [make([CONFRONT], session=n) for n in (1, 2, 3)] + [make([], session=4)]
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
