"""Caseload: one row per dyad with its recent trend and concern flags, most concerning first.

A supervisor opens this page to decide which cases to look at before supervision, so the flags are
simple, documented rules computed in SQL (window functions over `v_session_metrics`), not a score
that has to be trusted blindly. Each flag's definition is in `FLAGS`, which the page shows verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core.scope import CLINIC, Scope

TREND_SESSIONS = 8      # sessions in the rupture sparkline
UNRESOLVED_RUN = 3      # consecutive rated sessions with unresolved ruptures
UNRESOLVED_MAX = 2      # overall resolution at or below this counts as unresolved
RISING_WINDOW = 4       # sessions over which confrontation must be rising
LAPSE_FACTOR = 3        # a gap this many times the usual gap is a sudden drop
WIDENED_MIN_DAYS = 14   # ...and at least this long
QUIET_MIN_DAYS = 28     # no session for at least this long before the clinic's latest session
ACTIVE_DAYS = 90        # a dyad with no session for longer is inactive (ended, or dropped out long ago)


@dataclass(frozen=True)
class Flag:
    """A concern flag: its column in `caseload()`, how it is shown, its weight in sorting, its rule."""

    key: str
    label: str
    weight: int
    definition: str


FLAGS: tuple[Flag, ...] = (
    Flag("unresolved_ruptures", "Unresolved ruptures", 3,
         f"Each of the dyad's last {UNRESOLVED_RUN} rated sessions has at least one rupture segment and "
         f"overall resolution <= {UNRESOLVED_MAX}."),
    Flag("confrontation_rising", "Confrontation rising", 2,
         f"Over the last {RISING_WINDOW} sessions (at least 3), the least-squares slope of the "
         "confrontation share (confrontation segments / segments) against session number is > 0 "
         "and the latest share is higher than the first."),
    Flag("sessions_dropped", "Sessions dropped off", 2,
         f"Either the latest gap between sessions is more than {LAPSE_FACTOR}x the median of the "
         f"dyad's earlier gaps and at least {WIDENED_MIN_DAYS} days, or the dyad has had no session "
         f"for more than max({QUIET_MIN_DAYS} days, {LAPSE_FACTOR}x its median gap) but at most "
         f"{ACTIVE_DAYS} days before the clinic's latest session date (the data's 'today'). After "
         f"{ACTIVE_DAYS} days without a session a dyad counts as inactive instead: the data does not "
         "record whether a treatment ended as planned."),
    Flag("ratings_pending", "Ratings pending", 1,
         "At least one coded session has no global ratings yet."),
)


def _score_sql() -> str:
    return " + ".join(f"CASE WHEN {f.key} THEN {f.weight} ELSE 0 END" for f in FLAGS)


def _labels_sql() -> str:
    parts = ", ".join(f"CASE WHEN {f.key} THEN '{f.label}' END" for f in FLAGS)
    return f"concat_ws(', ', {parts})"


def caseload(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, threshold: int = 4) -> pd.DataFrame:
    """One row per dyad in scope: active dyads first, then by concern (flag weights), then by
    high-contribution sessions.

    `active` is false when the dyad's last session is more than `ACTIVE_DAYS` before the clinic's
    latest session date. `rupture_trend` lists the rupture share (rupture segments / segments) of the last
    `TREND_SESSIONS` sessions, oldest first, for a sparkline; `n_high_contribution` counts sessions
    with therapist contribution >= `threshold`.
    """
    where, params = scope.sql("therapist_id")
    sql = f"""
    WITH params AS (SELECT ?::INTEGER AS threshold),
    s AS MATERIALIZED (
        SELECT dyad_id, therapist_id, supervisor_id, treatment, session_number, session_date,
            rupture_segments, overall_resolution, therapist_contribution, ratings_pending,
            rupture_segments / nullif(n_segments, 0) AS rupture_share,
            confrontation_segments / nullif(n_segments, 0) AS confrontation_share,
            session_date - lag(session_date) OVER w_up AS gap_days,
            row_number() OVER w_down AS rn
        FROM v_session_metrics
        WHERE {where}
        WINDOW w_up AS (PARTITION BY dyad_id ORDER BY session_number),
               w_down AS (PARTITION BY dyad_id ORDER BY session_number DESC)
    ),
    rated AS (
        SELECT dyad_id, rupture_segments, overall_resolution,
            row_number() OVER (PARTITION BY dyad_id ORDER BY session_number DESC) AS rrn
        FROM s WHERE overall_resolution IS NOT NULL
    ),
    unresolved AS (
        SELECT dyad_id,
            count(*) = {UNRESOLVED_RUN}
            AND bool_and(rupture_segments > 0 AND overall_resolution <= {UNRESOLVED_MAX}) AS flag
        FROM rated WHERE rrn <= {UNRESOLVED_RUN} GROUP BY dyad_id
    ),
    per_dyad AS (
        SELECT dyad_id,
            any_value(therapist_id) AS therapist_id,
            any_value(supervisor_id) AS supervisor_id,
            any_value(treatment) AS treatment,
            count(*) AS n_sessions,
            max(session_number) AS last_session,
            arg_max(session_date, session_number) AS last_date,
            list(rupture_share ORDER BY session_number) FILTER (WHERE rn <= {TREND_SESSIONS})
                AS rupture_trend,
            arg_max(overall_resolution, session_number) FILTER (WHERE overall_resolution IS NOT NULL)
                AS latest_resolution,
            count(*) FILTER (WHERE therapist_contribution >= (SELECT threshold FROM params))
                AS n_high_contribution,
            count(*) FILTER (WHERE ratings_pending) AS n_pending,
            count(*) FILTER (WHERE rn <= {RISING_WINDOW}) AS n_window,
            regr_slope(confrontation_share, session_number) FILTER (WHERE rn <= {RISING_WINDOW})
                AS confrontation_slope,
            arg_max(confrontation_share, session_number) FILTER (WHERE rn <= {RISING_WINDOW})
                AS confrontation_last,
            arg_min(confrontation_share, session_number) FILTER (WHERE rn <= {RISING_WINDOW})
                AS confrontation_first,
            max(gap_days) FILTER (WHERE rn = 1) AS last_gap_days,
            median(gap_days) FILTER (WHERE rn > 1) AS earlier_median_gap,
            median(gap_days) AS median_gap_days
        FROM s GROUP BY dyad_id
    ),
    since AS (
        SELECT *, (SELECT max(session_date) FROM session) - last_date AS days_since_last FROM per_dyad
    ),
    flagged AS (
        SELECT p.*,
            coalesce(p.days_since_last <= {ACTIVE_DAYS}, true) AS active,
            coalesce(u.flag, false) AS unresolved_ruptures,
            coalesce(p.n_window >= 3 AND p.confrontation_slope > 0
                     AND p.confrontation_last > p.confrontation_first, false) AS confrontation_rising,
            coalesce(p.last_gap_days > {LAPSE_FACTOR} * p.earlier_median_gap
                     AND p.last_gap_days >= {WIDENED_MIN_DAYS}, false)
            OR coalesce(p.days_since_last
                        > greatest({QUIET_MIN_DAYS}, {LAPSE_FACTOR} * coalesce(p.median_gap_days, 0))
                        AND p.days_since_last <= {ACTIVE_DAYS}, false) AS sessions_dropped,
            p.n_pending > 0 AS ratings_pending
        FROM since p LEFT JOIN unresolved u USING (dyad_id)
    )
    SELECT dyad_id, therapist_id, supervisor_id, treatment, n_sessions, last_session, last_date,
        rupture_trend, latest_resolution, n_high_contribution, n_pending, days_since_last, active,
        unresolved_ruptures, confrontation_rising, sessions_dropped, ratings_pending,
        {_score_sql()} AS concern_score,
        {_labels_sql()} AS flags
    FROM flagged
    ORDER BY active DESC, concern_score DESC, n_high_contribution DESC, last_date DESC NULLS LAST, dyad_id
    """
    return con.execute(sql, [int(threshold), *params]).df()
