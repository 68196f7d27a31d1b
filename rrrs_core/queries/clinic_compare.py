"""'This period vs the previous one' for the Clinic page and its PDF: the whole clinic's latest period beside
the calendar period before it.

Every figure is a cell of the whole-clinic rows of `queries.clinic.trends` and `contribution_table`, shown
or hidden exactly as there (a hidden cell stays hidden here, and a change is given only between two shown
values). The summary therefore publishes no figure of its own beyond the differences of shown ones, and the
suppression model (`queries.clinic._plan`) needs nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core.queries import clinic
from rrrs_core.scope import CLINIC, Scope

NOT_AVAILABLE = "-"
RATED_HIGH = "Contribution rated 4-5"
NOTE = ("The whole clinic's latest period with a shown total beside the one before, as in the tables below: "
        "'*' = suppressed, '-' = nothing to show (no sessions, or fewer than 5 rated). With ruptures and "
        "contribution rated 4-5 (the share of contribution-rated sessions) change in percentage points. "
        "The latest period may still be running: compare its sessions before reading a change as a trend.")


@dataclass(frozen=True)
class Comparison:
    now: str  # the periods' labels, e.g. "Q2 2025" and "Q1 2025"
    before: str
    rows: pd.DataFrame  # measure, now, before, change: all text, as printed


def label(start: object, period: str) -> str:
    ts = pd.Timestamp(start)  # type: ignore[arg-type]
    return f"Q{ts.quarter} {ts.year}" if period == "quarter" else f"{ts:%b %Y}"


def _total(frame: pd.DataFrame, start: pd.Timestamp) -> object | None:
    rows = frame[frame.is_total & (pd.to_datetime(frame.period_start) == start)]
    return next(rows.itertuples(), None)


def _count(row: object | None, col: str) -> tuple[str, float | None]:
    if row is None:
        return "0", 0.0  # no sessions that period: an unlisted row, public
    text = str(getattr(row, col))
    return text, None if text == clinic.SUPPRESSED else float(text)


def _measure(row: object | None, col: str, hidden: bool, fmt: str) -> tuple[str, float | None]:
    if hidden:
        return clinic.SUPPRESSED, None
    value = None if row is None else getattr(row, col)
    return (NOT_AVAILABLE, None) if value is None or pd.isna(value) else (fmt.format(value), float(value))


def _contribution(row: object | None, col: str, fmt: str) -> tuple[str, float | None]:
    """A whole-clinic contribution figure: hidden ('*') when its rated sessions are, or when it is blank
    beside 5 or more of them (the share 4-5 and the mean are hidden on their own, `clinic.contribution_table`)."""
    rated = None if row is None else str(row.rated_sessions)  # type: ignore[attr-defined]
    value = None if row is None else getattr(row, col)
    hidden = rated == clinic.SUPPRESSED or (rated is not None and pd.isna(value) and int(rated) >= clinic.MIN_CELL)
    return _measure(row, col, hidden, fmt)


def comparison(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, period: str = "quarter") -> Comparison | None:
    """The latest period whose whole-clinic row is shown (else the latest with dated sessions) and the
    calendar period before it; None without dated sessions. A last month of one session is suppressed, and
    a comparison of two '*' columns says nothing.

    Sessions: the whole clinic's sessions. With ruptures: the share of them with a rupture segment (change in
    percentage points). Mean resolution and mean contribution: over the rated sessions, shown from 5 rated.
    Contribution rated 4-5: the share of contribution-rated sessions rated 4 or 5 (percentage points).
    '*' = suppressed, '-' = nothing to show (no sessions, or fewer than 5 rated)."""
    trends = clinic.trends(con, scope, period)
    if trends.empty:
        return None
    contribution = clinic.contribution_table(con, scope, period)
    shown = trends[trends.is_total & (trends.sessions != clinic.SUPPRESSED)]
    latest = pd.to_datetime((shown if not shown.empty else trends).period_start).max()
    previous = latest - pd.DateOffset(months=3 if period == "quarter" else 1)
    out = []
    cells: dict[str, dict[str, tuple[str, float | None]]] = {}
    for when, start in (("now", latest), ("before", previous)):
        row, rated = _total(trends, start), _total(contribution, start)
        hidden = row is not None and row.sessions == clinic.SUPPRESSED  # type: ignore[attr-defined]
        cells[when] = {"Sessions": _count(row, "sessions"),
                       "With ruptures": _measure(row, "rupture_share", hidden, "{:.0%}"),
                       "Mean resolution": _measure(row, "mean_resolution", hidden or (
                           row is not None and row.rated_sessions == clinic.SUPPRESSED), "{:.2f}"),  # type: ignore[attr-defined]
                       "Mean contribution": _contribution(rated, "mean_contribution", "{:.2f}"),
                       RATED_HIGH: _contribution(rated, "high_share", "{:.0%}")}
    for measure, change_fmt, scale in (("Sessions", "{:+.0f}", 1), ("With ruptures", "{:+.0f} pts", 100),
                                       ("Mean resolution", "{:+.2f}", 1), ("Mean contribution", "{:+.2f}", 1),
                                       (RATED_HIGH, "{:+.0f} pts", 100)):
        (now_text, now), (before_text, before) = cells["now"][measure], cells["before"][measure]
        change = "" if now is None or before is None else change_fmt.format((now - before) * scale)
        out.append({"measure": measure, "now": now_text, "before": before_text, "change": change})
    return Comparison(label(latest, period), label(previous, period), pd.DataFrame(out))
