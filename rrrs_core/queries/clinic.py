"""Clinic-wide aggregates for quality-improvement meetings: de-identified by construction.

These queries never return patient or dyad ids, and name therapists only by a keyed pseudonym computed in
SQL (`rrrs_core.pseudonym`). Small cells are suppressed in two steps, so a QI slide cannot point at a
patient:

1. Primary suppression: any count, share or mean computed from fewer than `MIN_CELL` sessions is hidden.
2. Secondary (complementary) suppression: the clinic page and PDF also show totals (each period's
   'All treatments' row, a row's rated sessions against its rating counts, a quarter against its months,
   the clinic's session count in the header). Where one hidden cell could be worked out from a total by
   subtracting the visible cells, the next smallest cell of that total (a component before the total
   itself) is hidden too, and so on until no hidden value can be computed from the published figures.
   "Computed" means exactly: its value is fixed by the linear relations between published cells (sums,
   and counts times a shown mean), which `rrrs_core.suppression` checks with linear algebra rather than by rule of
   thumb, so chains of totals (2-D tables, months and quarters) are covered as well.

A table row counts as one cell: when a row is hidden, its counts, share and means all are (so a share or
mean cannot be multiplied back into a count). Every hidden count is shown as `SUPPRESSED`, whether it was
hidden for being small or to protect a small cell: a different mark for the second kind would tell
readers that cell holds `MIN_CELL` or more and narrow down the small one. Counts come back as text so the
app and PDF show them alike; shares and means come back as numbers, NULL when hidden. The raw counts used
for the decision never leave this module.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core import pseudonym, suppression
from rrrs_core.scope import CLINIC, Scope
from rrrs_core.suppression import Cells, Key

MIN_CELL = 5
SUPPRESSED = "*"
SUPPRESSION_NOTE = (
    f"Suppression rule: any count, share or mean computed from fewer than {MIN_CELL} sessions is not shown "
    f"(the count appears as '{SUPPRESSED}', shares and means are left blank). Where a total is also shown "
    "(All treatments, a row's rated sessions, a quarter against its months, the clinic totals), further "
    "cells are hidden the same way - the next smallest first - so that no hidden value can be worked out "
    f"by subtracting the visible ones from the total; a '{SUPPRESSED}' may therefore stand for "
    f"{MIN_CELL} or more sessions."
)
PERIODS: tuple[str, ...] = ("month", "quarter")
ALL_TREATMENTS = "All treatments"
UNSPECIFIED = "Unspecified"
RATINGS = range(1, 6)



def _period(period: str) -> str:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
    return period


# --- period tables (trends and contribution ratings) -------------------------------------------------


_SESSIONS = """
    SELECT date_trunc(?, session_date)::DATE AS period_start,
        coalesce(treatment, '{unspecified}') AS treatment,
        rupture_segments > 0 AS ruptured, overall_resolution, therapist_contribution
    FROM v_session_metrics
    WHERE {where} AND session_date IS NOT NULL
"""

_GROUPS = f"""
    SELECT period_start, grouping(treatment) = 1 AS is_total,
        CASE WHEN grouping(treatment) = 1 THEN '{ALL_TREATMENTS}' ELSE treatment END AS treatment, {{measures}}
    FROM s {{filter}} GROUP BY GROUPING SETS ((period_start, treatment), (period_start))
    ORDER BY period_start, is_total, treatment
"""


def _raw_rows(con: duckdb.DuckDBPyConnection, scope: Scope, period: str) -> pd.DataFrame:
    where, params = scope.sql("therapist_id")
    measures = ("count(*) AS n, avg(ruptured::INTEGER) AS share, count(overall_resolution) AS n_rated, "
                "avg(overall_resolution) AS mean_res")
    sql = (f"WITH s AS ({_SESSIONS.format(where=where, unspecified=UNSPECIFIED)}) "
           + _GROUPS.format(measures=measures, filter=""))
    return con.execute(sql, [period, *params]).df()


def _raw_ratings(con: duckdb.DuckDBPyConnection, scope: Scope, period: str) -> pd.DataFrame:
    where, params = scope.sql("therapist_id")
    counts = ", ".join(f"count(*) FILTER (WHERE therapist_contribution = {r}) AS c{r}" for r in RATINGS)
    measures = f"count(*) AS n, {counts}, avg(therapist_contribution) AS mean_tc"
    sql = (f"WITH s AS ({_SESSIONS.format(where=where, unspecified=UNSPECIFIED)}) "
           + _GROUPS.format(measures=measures, filter="WHERE therapist_contribution IS NOT NULL"))
    return con.execute(sql, [period, *params]).df()


def _row_key(kind: str, r: object) -> Key:
    return ("row", kind, pd.Timestamp(r.period_start).date(), bool(r.is_total), r.treatment)  # type: ignore[attr-defined]


def _rating_key(kind: str, r: object, rating: int) -> Key:
    return ("rating", *_row_key(kind, r)[1:], rating)


def _row_keys(kind: str, r: object) -> list[Key]:
    return [_row_key(kind, r)]


def _rating_keys(kind: str, r: object) -> list[Key]:
    return [_rating_key(kind, r, k) for k in RATINGS]


def _small(n: int) -> bool:
    return 1 <= n < MIN_CELL


@dataclass
class _PeriodPlan:
    rows: dict[str, pd.DataFrame]
    ratings: dict[str, pd.DataFrame]
    hidden: set[Key]


def _period_plan(con: duckdb.DuckDBPyConnection, scope: Scope) -> _PeriodPlan:
    """Both period tables for months and quarters, with one suppression pattern for all of them.

    Months and quarters are protected together (a quarter is the sum of its months, and the page switches
    between them), as are the two tables (a trends row and a ratings row describe the same sessions: one
    key hides both), and the period totals against the clinic's dated sessions in the page header.
    """
    rows = {kind: _raw_rows(con, scope, kind) for kind in PERIODS}
    ratings = {kind: _raw_ratings(con, scope, kind) for kind in PERIODS}
    head = overview(con, scope)
    dated: Key = ("dated sessions",)
    cells = Cells()
    cells.add(dated, head["n_sessions"] - head["n_undated"], 9, False)
    cells.fixed.add(dated)
    for kind in PERIODS:
        n_tc = {_row_key(kind, r): int(r.n) for r in ratings[kind].itertuples()}
        for r in rows[kind].itertuples():
            key = _row_key(kind, r)
            small = r.n < MIN_CELL or _small(r.n_rated) or _small(n_tc.get(key, 0))
            cells.add(key, r.n, 3 if r.is_total else 2, small)
        for r in ratings[kind].itertuples():
            key = _row_key(kind, r)
            cells.tied[key] = [_rating_key(kind, r, k) for k in RATINGS]
            for k in RATINGS:
                c = getattr(r, f"c{k}")
                cells.add(_rating_key(kind, r, k), c, 1 if r.is_total else 0, _small(c))
            # Rating counts sum to the row's rated sessions; a shown mean gives their weighted sum.
            cells.relate({key: -1.0, **{_rating_key(kind, r, k): 1.0 for k in RATINGS}})
            cells.relate({_rating_key(kind, r, k): float(k) for k in RATINGS}, carrier=key, need=3)
        for table, keys in ((rows[kind], _row_keys), (ratings[kind], _rating_keys)):
            for _, group in table.groupby("period_start"):
                parts = [keys(kind, r) for r in group.itertuples() if not r.is_total]
                total = [keys(kind, r) for r in group.itertuples() if r.is_total]
                for i, tkey in enumerate(total[0] if total else []):  # each column: components vs total
                    cells.relate({**{p[i]: 1.0 for p in parts}, tkey: -1.0})
        totals = [_row_key(kind, r) for r in rows[kind].itertuples() if r.is_total]
        cells.relate({**dict.fromkeys(totals, 1.0), dated: -1.0})
    # A quarter's cell is the sum of its months' cells, row by row and rating by rating.
    for table, keys in ((rows, _row_keys), (ratings, _rating_keys)):
        months: dict[tuple[object, ...], list[list[Key]]] = {}
        for r in table["month"].itertuples():
            q = pd.Timestamp(r.period_start).to_period("Q").start_time.date()
            months.setdefault((q, bool(r.is_total), r.treatment), []).append(keys("month", r))
        for r in table["quarter"].itertuples():
            parts = months.get((pd.Timestamp(r.period_start).date(), bool(r.is_total), r.treatment), [])
            for i, qkey in enumerate(keys("quarter", r)):
                cells.relate({**{p[i]: 1.0 for p in parts}, qkey: -1.0})
    return _PeriodPlan(rows, ratings, _protect_memo(cells, [*rows.values(), *ratings.values()], head))


_MEMO: OrderedDict[str, set[Key]] = OrderedDict()
_MEMO_LOCK = threading.Lock()


def _protect_memo(cells: Cells, frames: list[pd.DataFrame], head: dict[str, int]) -> set[Key]:
    """`suppression.protect(cells)`, remembered for the last few inputs: the page and the PDF ask for both period
    tables, which share one pattern; the cells are a pure function of these frames and totals."""
    digest = hashlib.sha256(repr(sorted(head.items())).encode())
    for frame in frames:
        digest.update(frame.to_csv(index=False).encode())
    key = digest.hexdigest()
    with _MEMO_LOCK:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return set(_MEMO[key])
    hidden = suppression.protect(cells)
    with _MEMO_LOCK:
        _MEMO[key] = set(hidden)
        while len(_MEMO) > 8:
            _MEMO.popitem(last=False)
    return hidden


def _shown(value: object, hidden: bool) -> str:
    return SUPPRESSED if hidden else str(int(value))  # type: ignore[call-overload]


def trends(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, period: str = "month") -> pd.DataFrame:
    """Per period and treatment (plus an 'All treatments' row): sessions, share with ruptures, mean
    overall resolution. `rupture_share` is sessions with >= 1 rupture segment / sessions. `suppressed`
    marks rows hidden by the suppression rule (primary or complementary)."""
    kind = _period(period)
    plan = _period_plan(con, scope)
    raw = plan.rows[kind]
    hidden = [_row_key(kind, r) in plan.hidden for r in raw.itertuples()]
    out = raw[["period_start", "treatment", "is_total"]].copy()
    out["sessions"] = [_shown(n, h) for n, h in zip(raw.n, hidden, strict=True)]
    out["rupture_share"] = raw.share.where(~pd.Series(hidden, index=raw.index, dtype=bool))
    out["rated_sessions"] = [_shown(n, h) for n, h in zip(raw.n_rated, hidden, strict=True)]
    out["mean_resolution"] = raw.mean_res.where(
        ~pd.Series(hidden, index=raw.index, dtype=bool) & (raw.n_rated >= MIN_CELL))
    out["suppressed"] = pd.Series(hidden, index=raw.index, dtype=bool)
    return out.reset_index(drop=True)


def contribution_table(
    con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, period: str = "month"
) -> pd.DataFrame:
    """Per period and treatment (plus 'All treatments'): how many sessions got each therapist
    contribution rating 1-5, and the mean, among sessions with a contribution rating."""
    kind = _period(period)
    plan = _period_plan(con, scope)
    raw = plan.ratings[kind]
    row_hidden = pd.Series([_row_key(kind, r) in plan.hidden for r in raw.itertuples()], index=raw.index,
                           dtype=bool)
    out = raw[["period_start", "treatment", "is_total"]].copy()
    out["rated_sessions"] = [_shown(n, h) for n, h in zip(raw.n, row_hidden, strict=True)]
    for k in RATINGS:
        out[f"rating_{k}"] = [_shown(getattr(r, f"c{k}"), _rating_key(kind, r, k) in plan.hidden)
                              for r in raw.itertuples()]
    out["mean_contribution"] = raw.mean_tc.where(~row_hidden & (raw.n >= MIN_CELL))
    return out.reset_index(drop=True)


# --- therapists ---------------------------------------------------------------------------------------


def therapist_table(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC) -> pd.DataFrame:
    """Per therapist pseudonym over all dated and undated sessions: sessions, share with ruptures,
    mean resolution and mean contribution (each hidden below `MIN_CELL` sessions).

    The sessions column sums to the clinic's session count in the page header, so a single hidden
    therapist is protected by hiding the next smallest one too (their whole row).
    """
    where, params = scope.sql("therapist_id")
    raw = con.execute(
        f"""
        WITH {pseudonym.KEY_CTE},
        g AS (
            SELECT {pseudonym.sql('therapist_id')} AS therapist, count(*) AS n,
                avg((rupture_segments > 0)::INTEGER) AS share,
                count(overall_resolution) AS n_res, avg(overall_resolution) AS mean_res,
                count(therapist_contribution) AS n_tc, avg(therapist_contribution) AS mean_tc
            FROM v_session_metrics CROSS JOIN pseudonym_key WHERE {where}
            GROUP BY therapist_id, pseudonym_key.opad, pseudonym_key.ipad
        )
        SELECT * FROM g ORDER BY therapist
        """,
        [*pseudonym.params(con), *params],
    ).df()
    cells = Cells()
    everyone: Key = ("all sessions",)
    cells.add(everyone, overview(con, scope)["n_sessions"], 9, False)
    cells.fixed.add(everyone)
    for i, n in enumerate(raw.n):
        cells.add(("therapist", i), n, 0, n < MIN_CELL)
    cells.relate({**{("therapist", i): 1.0 for i in range(len(raw))}, everyone: -1.0})
    protected = suppression.protect(cells)
    hidden = pd.Series([("therapist", i) in protected for i in range(len(raw))], index=raw.index, dtype=bool)
    out = raw[["therapist"]].copy()
    out["sessions"] = [_shown(n, h) for n, h in zip(raw.n, hidden, strict=True)]
    out["rupture_share"] = raw.share.where(~hidden)
    out["mean_resolution"] = raw.mean_res.where(~hidden & (raw.n_res >= MIN_CELL))
    out["mean_contribution"] = raw.mean_tc.where(~hidden & (raw.n_tc >= MIN_CELL))
    return out.reset_index(drop=True)


def overview(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC) -> dict[str, int]:
    """Clinic totals for the header, and how many sessions lack a date (left out of the trends)."""
    where, params = scope.sql("therapist_id")
    row = con.execute(
        f"""
        SELECT count(*), count(DISTINCT therapist_id), count(DISTINCT treatment),
            count(*) FILTER (WHERE session_date IS NULL)
        FROM v_session_metrics WHERE {where}
        """,
        params,
    ).fetchone()
    keys = ("n_sessions", "n_therapists", "n_treatments", "n_undated")
    return dict(zip(keys, (int(v) for v in row), strict=True)) if row else dict.fromkeys(keys, 0)
