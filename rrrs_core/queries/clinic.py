"""Clinic-wide aggregates for quality-improvement meetings: de-identified by construction.

These queries never return patient or dyad ids, name therapists only by a pseudonym computed in SQL,
and suppress any cell computed from fewer than `MIN_CELL` sessions, so a QI slide cannot point at a
patient. Count cells come back as text ('<5' when suppressed) so the app and PDF show them alike;
shares and means come back as numbers, NULL when suppressed.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from rrrs_core.scope import CLINIC, Scope

MIN_CELL = 5
SUPPRESSED = f"<{MIN_CELL}"
SUPPRESSION_NOTE = (
    f"Suppression rule: any count, share or mean computed from fewer than {MIN_CELL} sessions is not "
    f"shown (counts of 1-{MIN_CELL - 1} appear as '{SUPPRESSED}', shares and means are left blank)."
)
PERIODS: tuple[str, ...] = ("month", "quarter")
ALL_TREATMENTS = "All treatments"
UNSPECIFIED = "Unspecified"
RATINGS = range(1, 6)


def pseudonym_sql(column: str) -> str:
    """SQL for a stable therapist pseudonym: 'Therapist ' + the first 6 hex digits of sha256(id)."""
    return f"'Therapist ' || left(sha256({column}), 6)"


def _count_text(expr: str, group_n: str | None = None) -> str:
    """A count as text, '<5' for 1-4 (and for every count of a group under `MIN_CELL`)."""
    small = f"({expr} BETWEEN 1 AND {MIN_CELL - 1})"
    if group_n:
        small += f" OR {group_n} < {MIN_CELL}"
    return f"CASE WHEN {small} THEN '{SUPPRESSED}' ELSE {expr}::VARCHAR END"


def _period(period: str) -> str:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
    return period


_SESSIONS = """
    SELECT date_trunc(?, session_date)::DATE AS period_start,
        coalesce(treatment, '{unspecified}') AS treatment,
        rupture_segments > 0 AS ruptured, overall_resolution, therapist_contribution
    FROM v_session_metrics
    WHERE {where} AND session_date IS NOT NULL
"""


def trends(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, period: str = "month") -> pd.DataFrame:
    """Per period and treatment (plus an 'All treatments' row): sessions, share with ruptures, mean
    overall resolution. `rupture_share` is sessions with >= 1 rupture segment / sessions."""
    where, params = scope.sql("therapist_id")
    sql = f"""
    WITH s AS ({_SESSIONS.format(where=where, unspecified=UNSPECIFIED)}),
    g AS (
        SELECT period_start, grouping(treatment) = 1 AS is_total,
            CASE WHEN grouping(treatment) = 1 THEN '{ALL_TREATMENTS}' ELSE treatment END AS treatment,
            count(*) AS n, avg(ruptured::INTEGER) AS share,
            count(overall_resolution) AS n_rated, avg(overall_resolution) AS mean_res
        FROM s GROUP BY GROUPING SETS ((period_start, treatment), (period_start))
    )
    SELECT period_start, treatment, is_total,
        {_count_text('n')} AS sessions,
        CASE WHEN n >= {MIN_CELL} THEN share END AS rupture_share,
        {_count_text('n_rated')} AS rated_sessions,
        CASE WHEN n_rated >= {MIN_CELL} THEN mean_res END AS mean_resolution,
        n < {MIN_CELL} OR n_rated < {MIN_CELL} AS suppressed
    FROM g ORDER BY period_start, is_total, treatment
    """
    return con.execute(sql, [_period(period), *params]).df()


def contribution_table(
    con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, period: str = "month"
) -> pd.DataFrame:
    """Per period and treatment (plus 'All treatments'): how many sessions got each therapist
    contribution rating 1-5, and the mean, among sessions with a contribution rating."""
    where, params = scope.sql("therapist_id")
    counts = ", ".join(
        f"count(*) FILTER (WHERE therapist_contribution = {r}) AS c{r}" for r in RATINGS
    )
    shown = ", ".join(f"{_count_text(f'c{r}', 'n')} AS rating_{r}" for r in RATINGS)
    sql = f"""
    WITH s AS ({_SESSIONS.format(where=where, unspecified=UNSPECIFIED)}),
    g AS (
        SELECT period_start, grouping(treatment) = 1 AS is_total,
            CASE WHEN grouping(treatment) = 1 THEN '{ALL_TREATMENTS}' ELSE treatment END AS treatment,
            count(*) AS n, {counts}, avg(therapist_contribution) AS mean_tc
        FROM s WHERE therapist_contribution IS NOT NULL
        GROUP BY GROUPING SETS ((period_start, treatment), (period_start))
    )
    SELECT period_start, treatment, is_total, {_count_text('n')} AS rated_sessions, {shown},
        CASE WHEN n >= {MIN_CELL} THEN mean_tc END AS mean_contribution
    FROM g ORDER BY period_start, is_total, treatment
    """
    return con.execute(sql, [_period(period), *params]).df()


def therapist_table(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC) -> pd.DataFrame:
    """Per therapist pseudonym over all dated and undated sessions: sessions, share with ruptures,
    mean resolution and mean contribution (each suppressed below `MIN_CELL` sessions)."""
    where, params = scope.sql("therapist_id")
    sql = f"""
    WITH g AS (
        SELECT {pseudonym_sql('therapist_id')} AS therapist, count(*) AS n,
            avg((rupture_segments > 0)::INTEGER) AS share,
            count(overall_resolution) AS n_res, avg(overall_resolution) AS mean_res,
            count(therapist_contribution) AS n_tc, avg(therapist_contribution) AS mean_tc
        FROM v_session_metrics WHERE {where}
        GROUP BY therapist_id
    )
    SELECT therapist, {_count_text('n')} AS sessions,
        CASE WHEN n >= {MIN_CELL} THEN share END AS rupture_share,
        CASE WHEN n_res >= {MIN_CELL} THEN mean_res END AS mean_resolution,
        CASE WHEN n_tc >= {MIN_CELL} THEN mean_tc END AS mean_contribution
    FROM g ORDER BY therapist
    """
    return con.execute(sql, params).df()


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
