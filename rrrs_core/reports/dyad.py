"""The dyad report: one therapist-patient pair over time, for supervision and the therapist's reflection.

Cover (who, when, which codebook and coders, key figures, what to look at first, how the flags are
computed), the trajectory charts of the dyad page, a table per session, then every flagged session in
detail, most severe first (minutes to review on the video, timeline, episodes, strategies used and not used, reflection
prompts), patterns across sessions and the supervisor's notes. Patient ids are never printed: the dyad id
is the pseudonym.
"""

from __future__ import annotations

import math
from datetime import datetime

import duckdb
import pandas as pd
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, PageBreak

from rrrs_core import codebook as cb
from rrrs_core import notes as notes_mod
from rrrs_core.charts import dyad as dyad_charts
from rrrs_core.episodes import EPISODE_WINDOW, episodes_table
from rrrs_core.queries import caseload as cq
from rrrs_core.queries import directory, recency
from rrrs_core.queries import dyad as dq
from rrrs_core.queries import selfreport as srq
from rrrs_core.queries import severity as sev
from rrrs_core.reliability import coder_line as cl
from rrrs_core.reports import blocks as b
from rrrs_core.reports import data, images
from rrrs_core.reports import layout as lay
from rrrs_core.reports import review as rv
from rrrs_core.reports import selfreport as srr
from rrrs_core.reports.dyad_cover import cover
from rrrs_core.reports.strip import segment_strip
from rrrs_core.reports.timeline import timeline
from rrrs_core.scope import CLINIC, Scope

CHART_WIDTH = 500     # CSS px, about the frame width in points: charts print at 1 px = 1 pt
STRIP_SESSIONS = 15   # sessions per segment-strip chart
EPISODE_WIDTHS = {"Episode": 0.05, "Minutes": 0.09, "Status": 0.1, "Rupture markers": 0.22,
                  "Strategies within window": 0.22, "Unclear strategies": 0.2, "Window": 0.09}


def dyad_report(con: duckdb.DuckDBPyConnection, dyad_id: str, *, generated_by: str, scope: Scope = CLINIC,
                threshold: int = 4, now: datetime | None = None) -> bytes:
    """PDF bytes of the dyad report; NotFoundError for an unknown dyad or one outside `scope`."""
    dyad = dq.require_dyad(con, scope, dyad_id)
    traj = dq.trajectory(con, scope, dyad_id, threshold)
    reviews = rv.build_reviews(traj, data.dyad_marks(con, dyad_id), threshold, dyad_id=dyad_id)
    codings = data.dyad_codings(con, dyad_id)
    notes = notes_mod.for_dyad(con, dyad_id)
    strip = dq.segment_strip(con, scope, dyad_id) if len(traj) else None
    both = srq.beside(srq.dyad_axis(con, scope, dyad_id), traj)
    meta = lay.Meta(f"Dyad {dyad_id} - 3RS supervision report", generated_by, lay.resolve_now(now),
                    directory.is_synthetic(con))

    last = recency.last_session(con, dyad_id, scope)
    flags = cq.dyad_flags(con, dyad_id, dyad["therapist_id"], threshold)
    reliability = cl.coder_lines(con, tuple(traj.coder_id.value_counts().index)) if len(traj) else []
    story: list[Flowable] = cover(dyad, traj, reviews, codings, scope, threshold, last, flags, reliability,
                                  srr.cover_line(both))
    story += _about(threshold)
    patient = srr.dyad_charts(both, flags, threshold, CHART_WIDTH)
    if not len(traj) and patient:
        story += [PageBreak(), *patient]
    if len(traj):
        # A cover that overflows leaves most of its second page free: the trajectory goes on there.
        story += [CondPageBreak(lay.FRAME_HEIGHT * 0.6), *_trajectory(traj, strip, threshold, both, patient), *_session_table(traj, threshold),
                  *srr.dyad_discordance(both)]
        flagged = rv.flagged_in_order(reviews)
        if flagged:
            story += [PageBreak(), b.para("Flagged sessions in detail", "h1"),
                      b.para(f"Every flagged session, most severe first (newest first on ties). "
                             f"{b.esc(sev.RULE.format(threshold=threshold))} Minutes refer to the session "
                             "recording. Metacommunicative strategies (invites thoughts/feelings, "
                             "acknowledges own contribution, discloses internal experience, links the rupture "
                             "to patterns with the therapist or in other relationships) are listed apart.",
                             "body")]
            n_codings = {int(s): int(n) for s, n in zip(traj.session_number, traj.n_codings, strict=True)}
            for r in flagged:
                story += _flagged_session(r, n_codings[r.session_number])
        story += _patterns(reviews)
    story += _notes(notes)
    return lay.build(story, meta)


def _chunks(n: int, most: int) -> list[slice]:
    """`n` items in balanced runs of at most `most` (30 -> 15 + 15, 20 -> 10 + 10)."""
    parts = max(1, math.ceil(n / most))
    size = math.ceil(n / parts) if n else 0
    return [slice(i, min(i + size, n)) for i in range(0, n, size)] if n else []


def _trajectory(traj: pd.DataFrame, strip: pd.DataFrame | None, threshold: int, both: pd.DataFrame,
                patient: list[Flowable]) -> list[Flowable]:
    """The charts over the dyad's session axis (coded and self-reported sessions), the patient's view (the
    `patient` flowables) right under the rupture chart so a session sits at the same x on both."""
    sessions = tuple(int(s) for s in both.session_number)
    story: list[Flowable] = [
        b.para("Over time", "h1"),
        b.para(f"Sessions with therapist contribution at or above {threshold} are shaded in purple on every "
               "chart; \u201cpending\u201d marks sessions whose global ratings are not in yet.", "small"),
        images.chart(dyad_charts.rupture_share_chart(traj, threshold, width=CHART_WIDTH, sessions=sessions)),
        *patient,
        b.gap(6),
        images.chart(dyad_charts.ratings_chart(traj, threshold, width=CHART_WIDTH - 40, sessions=sessions)),
    ]
    if strip is not None and len(strip):
        # One chart per run of sessions so a long therapy stays legible instead of shrinking to a stamp.
        for part in _chunks(len(traj), STRIP_SESSIONS):
            sub = traj.iloc[part]
            rows = strip[strip.session_number.isin(sub.session_number)]
            story += [CondPageBreak(lay.FRAME_HEIGHT * 0.5), segment_strip(rows, sub, threshold), b.gap(6)]
    return story


def _session_table(traj: pd.DataFrame, threshold: int) -> list[Flowable]:
    header = ["Session", "Date", "Coder", "Segs", "W segs", "C segs", "R segs", "Rupture share",
              "Episodes (unaddr.)", "Overall withdrawal", "Overall confront.", "Overall resolution",
              "Therapist contrib."]
    rows, high = [], []
    for i, r in enumerate(traj.itertuples()):
        p = bool(r.ratings_pending)
        rows.append([
            int(r.session_number), b.fmt_date(r.session_date), r.coder_id, int(r.n_segments),
            int(r.withdrawal_segments), int(r.confrontation_segments), int(r.resolution_segments),
            b.fmt_share(r.rupture_share), rv.episodes_cell(r.episodes, r.unaddressed, r.unaddressed_in_session),
            b.fmt_rating(r.overall_withdrawal, p), b.fmt_rating(r.overall_confrontation, p),
            b.fmt_rating(r.overall_resolution, p), b.fmt_rating(r.therapist_contribution, p),
        ])
        if r.high_contribution:
            high.append(i)
    widths = [0.065, 0.105, 0.055, 0.07, 0.06, 0.06, 0.06, 0.065, 0.08, 0.085, 0.085, 0.085, 0.085]
    return [
        CondPageBreak(160), b.para("Session by session", "h1"),
        b.para("Segs: coded segments. W / C / R segs: segments with a withdrawal / confrontation / resolution "
               "marker marked check; rupture share: rupture segments / segments. Episodes: rupture episodes "
               "(unaddressed in brackets; +n e: n unaddressed in session, cut short by its end). Global ratings "
               f"1-5. Purple rows: therapist contribution at or above {threshold}.", "small"),
        b.table(header, rows, widths, highlight=high, right=range(3, 13), font_size=7.2),
    ]


def _flagged_session(r: rv.SessionReview, codings: int) -> list[Flowable]:
    """The detail of one flagged session; `codings` is how many codings the session has."""
    book = cb.DEFAULT
    res, tc = book.global_item("overall_resolution"), book.global_item("therapist_contribution")
    ratings = ("Global ratings pending." if r.ratings_pending else
               f"Overall resolution {r.overall_resolution}: {res.scale.anchor(r.overall_resolution)}. "
               f"Therapist contribution {r.therapist_contribution}: {tc.scale.anchor(r.therapist_contribution)}.")
    head = [
        b.para(f'<a name="s{r.session_number}"/>Session {r.session_number} - {b.fmt_date(r.session_date)}',
               "h2"),
        b.para(f"<b>Flagged (severity {r.severity} of 8):</b> {b.esc('; '.join(r.reasons()))}. "
               f"Coder {b.esc(r.coder_id)}"
               f"{f' (primary of {codings} codings)' if codings > 1 else ''}. {b.esc(ratings)}", "body"),
        b.para("<b>Minutes to review on the video</b>", "body"),
        *b.bullets(b.esc(x) for x in rv.review_ranges(r)),
        b.gap(2),
        timeline(r.marks, r.n_segments, r.segment_minutes, r.episodes),
    ]
    story: list[Flowable] = [CondPageBreak(260), KeepTogether(head)]
    if r.episodes:
        t = episodes_table(list(r.episodes))
        widths = [EPISODE_WIDTHS.get(c, 0.12) for c in t.columns]
        story += [b.para("Rupture-to-resolution episodes", "h3"),
                  b.table(["No." if c == "Episode" else c for c in t.columns], t.values.tolist(), widths)]
    use = rv.strategy_use(r.marks, r.segment_minutes, book)
    rows = [[kind, "\n".join(use.used[kind]) or "none", "\n".join(use.unclear[kind]) or "-",
             "; ".join(use.unused[kind]) or "-"] for kind in (rv.META, rv.OTHER)]
    story += [
        b.para("Resolution strategies in this session", "h3"),
        b.table(["", "Used (check)", "Unclear (check-minus)", "Not used"], rows, [0.19, 0.27, 0.22, 0.32],
                bold_first=True),
    ]
    prompts = rv.reflection_prompts(r, book, EPISODE_WINDOW)
    if prompts:
        story.append(KeepTogether([b.para("Reflection prompts", "h3"),
                                   b.boxed(b.bullets(b.esc(p) for p in prompts), lay.tint("#F2F2F2", 1))]))
    story.append(b.gap(10))
    return story


def _patterns(reviews: list[rv.SessionReview]) -> list[Flowable]:
    recurring = rv.recurring_ruptures(reviews)
    if not recurring:
        return []
    items = [b.esc(f"{label} recurs in flagged sessions {b.fmt_list(sessions)}. Does this pattern remind you "
                   "of how the patient relates to others, or of something in you?")
             for label, sessions in recurring]
    return [CondPageBreak(120), b.para("Patterns across sessions", "h1"), *b.bullets(items)]


def _notes(notes: pd.DataFrame) -> list[Flowable]:
    if notes.empty:
        return []
    story: list[Flowable] = [CondPageBreak(140), b.para("Supervisor's notes", "h1")]
    for n in notes.itertuples():
        where = "the dyad" if b.is_missing(n.session_number) else f"session {int(n.session_number)}"
        story.append(KeepTogether([
            b.para(f"<b>{b.esc(n.author)}</b>, {b.esc(f'{pd.Timestamp(n.created_at):%Y-%m-%d %H:%M}')}, "
                   f"on {where}", "small"),
            b.text(n.body, "note"),
        ]))
    return story


def _about(threshold: int) -> list[Flowable]:
    return [b.para("How the flags are computed", "h2"),
            *b.bullets(style="bullet_small", items=rv.flag_rules(threshold, EPISODE_WINDOW)),
            b.para("How coder reliability is computed", "h2"),
            b.para(b.esc(cl.RULE), "small")]
