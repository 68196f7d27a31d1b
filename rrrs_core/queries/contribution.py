"""Therapist contribution: the sessions where coders saw the therapist feed a rupture.

A supervisor uses this list to pick sessions to review with a trainee, so it shows what happened in
each session (rupture segment counts and the rupture codes marked) next to the rating. Ratings are
also compared with the therapist's own mean: a trainee who is usually rated 1 and suddenly gets 3 is
worth a look even below the absolute threshold.

The list runs worst first by the shared severity of `rrrs_core.queries.severity` (then newest), the order
of every flagged-session list in rrrs.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from rrrs_core.queries.severity import severity_sql
from rrrs_core.scope import CLINIC, Scope

ABOVE_OWN_MEAN = 1.0    # a session this many points above the therapist's own mean is flagged
DEFAULT_LIMIT = 500     # rows listed; the summary still counts every session

_RATED = """
    SELECT dyad_id, therapist_id, supervisor_id, session_number, session_date, coding_id,
        codebook_id, codebook_version, withdrawal_segments, confrontation_segments,
        overall_resolution, therapist_contribution, {severity} AS severity,
        avg(therapist_contribution) OVER (PARTITION BY therapist_id) AS therapist_mean
    FROM v_session_metrics
    WHERE {where} AND therapist_contribution IS NOT NULL
"""


def high_contribution_sessions(
    con: duckdb.DuckDBPyConnection,
    scope: Scope = CLINIC,
    threshold: int = 4,
    include_relative: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> pd.DataFrame:
    """Rated sessions in scope with contribution >= `threshold`, worst first: severity (the shared rule),
    then newest (date, then number).

    With `include_relative`, sessions `ABOVE_OWN_MEAN` points above their therapist's mean are listed
    too. `rupture_codes` names the withdrawal/confrontation codes marked `check`, in codebook order,
    with "× n" when a code was marked in n > 1 segments. At most `limit` rows are returned, the most severe.
    """
    where, params = scope.sql("therapist_id")
    sql = f"""
    WITH rated AS ({_RATED.format(where=where, severity=severity_sql())}),
    listed AS (
        SELECT *, therapist_contribution >= therapist_mean + {ABOVE_OWN_MEAN} AS above_own_mean
        FROM rated
        WHERE therapist_contribution >= ?
           OR (? AND therapist_contribution >= therapist_mean + {ABOVE_OWN_MEAN})
        ORDER BY severity DESC, session_date DESC NULLS LAST, session_number DESC, dyad_id
        LIMIT ?
    ),
    codes AS (
        SELECT l.coding_id, cc.label, cc.position, count(*) AS n_segments
        FROM listed l
        JOIN mark k ON k.coding_id = l.coding_id AND k.clarity = 'check'
        JOIN codebook_code cc ON cc.codebook_id = l.codebook_id
            AND cc.codebook_version = l.codebook_version AND cc.key = k.code
        WHERE cc.family IN ('withdrawal', 'confrontation')
        GROUP BY l.coding_id, cc.label, cc.position
    ),
    code_text AS (
        SELECT coding_id,
            string_agg(label || CASE WHEN n_segments > 1 THEN ' ×' || n_segments ELSE '' END, '; '
                       ORDER BY position) AS rupture_codes
        FROM codes GROUP BY coding_id
    )
    SELECT l.dyad_id, l.therapist_id, l.supervisor_id, l.session_number, l.session_date, l.severity::INTEGER
        AS severity, l.therapist_contribution, round(l.therapist_mean, 2) AS therapist_mean, l.above_own_mean,
        round(l.therapist_contribution - l.therapist_mean, 2) AS above_mean_by,
        l.withdrawal_segments, l.confrontation_segments, coalesce(t.rupture_codes, '') AS rupture_codes,
        l.overall_resolution
    FROM listed l LEFT JOIN code_text t USING (coding_id)
    ORDER BY l.severity DESC, l.session_date DESC NULLS LAST, l.session_number DESC, l.dyad_id
    """
    return con.execute(sql, [*params, int(threshold), bool(include_relative), int(limit)]).df()


def contribution_summary(
    con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, threshold: int = 4
) -> dict[str, int]:
    """Counts for the page header: rated and unrated sessions, at/above threshold, above own mean.

    One pass over the view: the window mean ignores unrated sessions, as `avg` skips NULLs.
    """
    where, params = scope.sql("therapist_id")
    sql = f"""
    WITH s AS (
        SELECT therapist_contribution AS tc,
            avg(therapist_contribution) OVER (PARTITION BY therapist_id) AS therapist_mean
        FROM v_session_metrics WHERE {where}
    )
    SELECT count(tc) AS n_rated,
        count(*) FILTER (WHERE tc IS NULL) AS n_unrated,
        count(*) FILTER (WHERE tc >= ?) AS n_at_threshold,
        count(*) FILTER (WHERE tc >= therapist_mean + {ABOVE_OWN_MEAN}) AS n_above_own_mean,
        count(*) FILTER (WHERE tc >= therapist_mean + {ABOVE_OWN_MEAN} AND tc < ?)
            AS n_above_own_mean_below_threshold
    FROM s
    """
    row = con.execute(sql, [*params, int(threshold), int(threshold)]).fetchone()
    keys = ("n_rated", "n_unrated", "n_at_threshold", "n_above_own_mean", "n_above_own_mean_below_threshold")
    return dict(zip(keys, (int(v) for v in row), strict=True)) if row else dict.fromkeys(keys, 0)


def contribution_distribution(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC) -> pd.DataFrame:
    """Per therapist in scope, how many rated sessions got each contribution rating 1-5 (zeros kept)."""
    where, params = scope.sql("therapist_id")
    sql = f"""
    WITH counts AS (
        SELECT therapist_id, therapist_contribution AS rating, count(*) AS n
        FROM v_session_metrics
        WHERE {where} AND therapist_contribution IS NOT NULL
        GROUP BY ALL
    ),
    grid AS (
        SELECT t.therapist_id, r.rating
        FROM (SELECT DISTINCT therapist_id FROM counts) t CROSS JOIN range(1, 6) r(rating)
    )
    SELECT g.therapist_id, g.rating::INTEGER AS rating, coalesce(c.n, 0) AS n
    FROM grid g LEFT JOIN counts c USING (therapist_id, rating)
    ORDER BY g.therapist_id, g.rating
    """
    return con.execute(sql, params).df()
