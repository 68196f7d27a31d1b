"""The clinic report for quality-improvement meetings: the clinic page's aggregates, on paper.

De-identified exactly as the page: everything comes from `queries.clinic`, which never returns patient or
dyad ids, names therapists only by a keyed pseudonym computed in SQL, suppresses cells under five sessions
and, where totals are shown, the complementary cells that would let a reader subtract a hidden one back
(the same pattern as the page, for months and quarters alike). This module adds no identifiers or
figures of its own; a test scans the text of the PDF for ids.

On a read-only connection (`rrrs report clinic`) the database must already hold its pseudonym secret
(created when the app first opens it) or `$RRRS_PSEUDONYM_KEY` must be set; otherwise `RrrsError`.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
from reportlab.platypus import CondPageBreak, Flowable

from rrrs_core.charts import clinic as clinic_charts
from rrrs_core.queries import clinic as clinic_q
from rrrs_core.queries import clinic_compare, directory
from rrrs_core.reports import blocks as b
from rrrs_core.reports import images
from rrrs_core.reports import layout as lay
from rrrs_core.scope import CLINIC

CHART_WIDTH = 430


def clinic_report(con: duckdb.DuckDBPyConnection, *, generated_by: str, now: datetime | None = None,
                  period: str = clinic_q.DEFAULT_PERIOD) -> bytes:
    """PDF bytes of the clinic QI report (`period`: 'quarter', as the page opens, or 'month')."""
    if period not in clinic_q.PERIODS:
        raise ValueError(f"period must be one of {clinic_q.PERIODS}, not {period!r}")
    totals = clinic_q.overview(con, CLINIC)
    trends = clinic_q.trends(con, CLINIC, period)
    contribution = clinic_q.contribution_table(con, CLINIC, period)
    therapists = clinic_q.therapist_table(con, CLINIC)
    meta = lay.Meta("Clinic QI report - 3RS, de-identified", generated_by, lay.resolve_now(now),
                    directory.is_synthetic(con))

    story: list[Flowable] = [
        b.para("Clinic quality-improvement report", "title"),
        b.para("Rupture Resolution Rating System (3RS) - clinic-wide and de-identified", "subtitle"),
        b.para("No patient or dyad ids; therapists appear only by a stable pseudonym. "
               + b.esc(clinic_q.SUPPRESSION_NOTE), "body"),
        b.key_figures([
            (str(totals["n_sessions"]), "coded sessions", False),
            (str(totals["n_therapists"]), "therapists", False),
            (str(totals["n_treatments"]), "treatments", False),
            (period.capitalize(), "period of the trends", False),
        ]),
        b.gap(6),
    ]
    if totals["n_undated"]:
        story.append(b.para(f"{totals['n_undated']} session(s) without a date are left out of the trends.",
                            "small"))
    if trends.empty:
        story.append(b.para("No dated sessions yet, so there are no trends to show.", "body"))
    else:
        story += [
            *_comparison(clinic_compare.comparison(con, CLINIC, period), period),
            b.para("Trends", "h1"),
            b.para("Gaps in a line are suppressed cells (fewer than five sessions, or hidden to protect one). "
                   "Under each chart, n gives the sessions behind every point.", "small"),
            images.chart(clinic_charts.rupture_share_chart(trends, period, width=CHART_WIDTH)),
            b.gap(6),
            images.chart(clinic_charts.resolution_chart(trends, period, width=CHART_WIDTH)),
            *_trends_table(trends, period),
            *_contribution_table(contribution, period),
        ]
    story += _therapist_table(therapists)
    return lay.build(story, meta)


def _period(value: object, period: str) -> str:
    return clinic_compare.label(value, period)


def _totals(df: pd.DataFrame) -> list[int]:
    return [i for i, total in enumerate(df.is_total) if total]


def _comparison(summary: clinic_compare.Comparison | None, period: str) -> list[Flowable]:
    if summary is None:
        return []
    rows = [[r.measure, r.now, r.before, r.change] for r in summary.rows.itertuples()]
    return [
        b.para(f"This {period} ({summary.now}) vs the previous one ({summary.before})", "h1"),
        b.table(["Whole clinic", summary.now, summary.before, "Change"], rows, [0.34, 0.22, 0.22, 0.22],
                right=range(1, 4)),
        b.para(b.esc(clinic_compare.NOTE), "small"),
        b.gap(6),
    ]


def _shown_rows(df: pd.DataFrame, cells: list[str]) -> tuple[pd.DataFrame, int]:
    """The rows to print: every whole-clinic row and every treatment row with a shown cell. A treatment
    row whose cells are all suppressed says only that the treatment had sessions that period, which the
    Clinic page lists; leaving it out of the PDF publishes less, never more."""
    blank = (df[cells] == clinic_q.SUPPRESSED).all(axis=1) & ~df.is_total
    return df[~blank].reset_index(drop=True), int(blank.sum())


def _left_out(n: int) -> list[Flowable]:
    return [b.para(f"{n} treatment row(s) with every cell suppressed are left out here (the Clinic page lists "
                   "them).", "small")] if n else []


def _trends_table(trends: pd.DataFrame, period: str) -> list[Flowable]:
    trends, left_out = _shown_rows(trends, ["sessions", "rated_sessions"])
    rows = [[_period(r.period_start, period), r.treatment, r.sessions, b.fmt_share(r.rupture_share),
             r.rated_sessions, b.fmt_mean(r.mean_resolution)] for r in trends.itertuples()]
    return [
        CondPageBreak(200), b.para("Ruptures and resolution", "h1"),
        b.para("Newest first. With ruptures: sessions with at least one rupture segment / sessions. Mean "
               "resolution: mean Overall resolution (1-5, 3 = average) of rated sessions. Bold: all treatments.",
               "small"),
        *_left_out(left_out),
        b.table([period.capitalize(), "Treatment", "Sessions", "With ruptures", "Rated sessions",
                 "Mean resolution"], rows, [0.14, 0.26, 0.14, 0.15, 0.15, 0.16], right=range(2, 6),
                bold_rows=_totals(trends)),
    ]


def _contribution_table(table: pd.DataFrame, period: str) -> list[Flowable]:
    table, left_out = _shown_rows(table, ["rated_sessions"])
    rows = [[_period(r.period_start, period), r.treatment, r.rated_sessions, b.fmt_share(r.high_share),
             b.fmt_mean(r.mean_contribution)] for r in table.itertuples()]
    return [
        CondPageBreak(200), b.para("Therapist contribution", "h1"),
        b.para(b.esc(clinic_q.CONTRIBUTION_NOTE) + " Newest first. Bold: all treatments.", "small"),
        *_left_out(left_out),
        b.table([period.capitalize(), "Treatment", "Rated sessions", "Rated 4-5", "Mean contribution"], rows,
                [0.16, 0.3, 0.18, 0.16, 0.2], right=range(2, 5), bold_rows=_totals(table)),
    ]


def _therapist_table(table: pd.DataFrame) -> list[Flowable]:
    rows = [[r.therapist, r.sessions, b.fmt_share(r.rupture_share), b.fmt_mean(r.mean_resolution),
             b.fmt_mean(r.mean_contribution)] for r in table.itertuples()]
    story: list[Flowable] = [
        CondPageBreak(200), b.para("By therapist (pseudonymised)", "h1"),
        b.para("Pseudonyms are stable across meetings, so a therapist can recognise their own row if told it. "
               "They are keyed with a clinic secret, so they cannot be worked out from a staff list.", "small"),
    ]
    if not rows:
        return [*story, b.para("No coded sessions yet.", "body")]
    return [*story, b.table(["Therapist", "Sessions", "With ruptures", "Mean resolution", "Mean contribution"],
                            rows, [0.28, 0.15, 0.18, 0.19, 0.2], right=range(1, 5))]
