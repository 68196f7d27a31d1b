"""Caseload: one row per dyad with its recent trend and concern flags, most concerning first.

A supervisor opens this page to decide which cases to look at before supervision, so the flags are
simple, documented rules computed in SQL (window functions over `v_session_metrics`), not a score
that has to be trusted blindly. Each flag's definition is in `FLAGS`, which the page shows verbatim.

Order (`ORDER_RULE`): concern score, then the dyad's worst session severity (`queries.severity`), then
the newest last session. Ended dyads are not sorted apart: a treatment that stopped right after
unresolved ruptures is the case the 3RS validation links to dropout, so it carries the heaviest flag.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core.queries import selfreport_flags as srf
from rrrs_core.queries.recency import AS_OF_SQL, LAST_SEEN_SQL
from rrrs_core.queries.severity import severity_sql
from rrrs_core.scope import CLINIC, Scope

TREND_SESSIONS = 8      # sessions in the rupture sparkline
UNRESOLVED_RUN = 3      # consecutive rated sessions with unresolved ruptures
UNRESOLVED_MAX = 2      # overall resolution at or below this counts as unresolved
RISING_WINDOW = 4       # sessions over which confrontation must be rising
LAPSE_FACTOR = 3        # a gap this many times the usual gap is a sudden drop
WIDENED_MIN_DAYS = 14   # ...and at least this long
QUIET_MIN_DAYS = 28     # no session for at least this long before the clinic's latest session
ACTIVE_DAYS = 90        # a dyad with no session for longer is inactive (ended, or dropped out long ago)
ENDING_SESSIONS = 2     # rated sessions before a stop that are checked for an unresolved rupture

QUIET_RULE = (f"no session for more than max({QUIET_MIN_DAYS} days, {LAPSE_FACTOR}x the dyad's median gap "
              "between sessions) before the data's latest session date (the data's 'today')")

STATUSES = {
    "Active": "A session recently, in the dyad's usual rhythm.",
    "Quiet": f"Dropped off: {QUIET_RULE}, but at most {ACTIVE_DAYS} days.",
    "Ended": f"No session for more than {ACTIVE_DAYS} days before the data's latest session date. The data "
             "does not record whether a treatment ended as planned or the patient dropped out.",
}
"""The status column's values and their rules (the page shows them verbatim)."""

ORDER_RULE = ("Most concerning first: by concern score (the sum of the flag weights), then by the dyad's worst "
              "session severity (therapist contribution - 1, plus 5 - resolution when there was a rupture; "
              "0-8), then newest last session. Ended and quiet dyads rank by their flags like any other: an "
              "ended treatment is not 'no concern'.")


@dataclass(frozen=True)
class Flag:
    """A concern flag: its column in `caseload()`, how it is shown, its weight in sorting, its rule."""

    key: str
    label: str
    weight: int
    definition: str


FLAGS: tuple[Flag, ...] = (
    Flag("ended_after_rupture", "Ended after rupture", 4,
         f"The treatment stopped or ended right after a difficult session: {QUIET_RULE}, however long ago "
         f"(ended dyads count too), and among its last {ENDING_SESSIONS} rated sessions at least one "
         f"has a rupture segment with overall resolution <= {UNRESOLVED_MAX}, or therapist contribution at or "
         "above the threshold. The heaviest flag: in the 3RS validation, confrontation markers, low "
         "resolution and therapist contribution each predicted dropout."),
    Flag("unresolved_ruptures", "Unresolved ruptures", 3,
         f"Each of the dyad's last {UNRESOLVED_RUN} rated sessions has at least one rupture segment and "
         f"overall resolution <= {UNRESOLVED_MAX}."),
    Flag("patient_rupture_unresolved", "Patient-reported rupture unresolved", 3,
         f"{srf.UNRESOLVED_RULE} Weighted like the coders' unresolved ruptures: the patient says so in their own "
         "words, about the latest session."),
    Flag("confrontation_rising", "Confrontation rising", 2,
         f"Over the last {RISING_WINDOW} sessions (at least 3), the least-squares slope of the "
         "confrontation share (confrontation segments / segments) against session number is > 0 "
         "and the latest share is higher than the first."),
    Flag("sessions_dropped", "Sessions dropped off", 2,
         f"Either the latest gap between sessions is more than {LAPSE_FACTOR}x the median of the "
         f"dyad's earlier gaps and at least {WIDENED_MIN_DAYS} days, or the dyad has had no session "
         f"for more than max({QUIET_MIN_DAYS} days, {LAPSE_FACTOR}x its median gap) but at most "
         f"{ACTIVE_DAYS} days before the data's latest session date (the data's 'today'). After "
         f"{ACTIVE_DAYS} days without a session the dyad's status is Ended instead (an ending right after a "
         "difficult session is flagged 'Ended after rupture')."),
    Flag("alliance_below_cutoff", "Alliance below cutoff", 2,
         f"{srf.BELOW_CUTOFF_RULE} Weighted like a coded trend: one form below the cutoff asks for a "
         "conversation about the alliance, not an alarm."),
    Flag("srs_dropped", "SRS dropped", 1,
         f"{srf.DROP_RULE} The lightest flag: a 1-point drop is often noise; together with another flag it "
         "moves the dyad up."),
    Flag("ratings_pending", "Ratings pending", 1,
         "At least one coded session has no global ratings yet."),
)


def _score_sql() -> str:
    return " + ".join(f"CASE WHEN {f.key} THEN {f.weight} ELSE 0 END" for f in FLAGS)


def _labels_sql() -> str:
    parts = ", ".join(f"CASE WHEN {f.key} THEN '{f.label}' END" for f in FLAGS)
    return f"concat_ws(', ', {parts})"


def caseload(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, threshold: int = 4) -> pd.DataFrame:
    """One row per dyad in scope, in `ORDER_RULE`'s order.

    `last_date` is the dyad's latest recorded session and `days_since_last` the days from it to `as_of`,
    the latest session date in the store (`queries.recency`). `status` is Active, Quiet or Ended
    (`STATUSES`); `active` is false for Ended. `relation` is 'own' for the scope's supervisor's own
    dyads, 'trainee' when the therapist is a trainee, else 'staff'. `rupture_trend` lists the rupture share
    (rupture segments / segments) of the last `TREND_SESSIONS` sessions, oldest first, for a sparkline;
    `n_high_contribution` counts sessions with therapist contribution >= `threshold`; `worst_severity` is
    the highest session severity.
    """
    where, params = scope.sql("therapist_id")
    sr_where, sr_params = scope.sql("d.therapist_id")
    sql = f"""
    WITH params AS (SELECT ?::INTEGER AS threshold, ?::VARCHAR AS supervisor),
    s AS MATERIALIZED (
        SELECT dyad_id, therapist_id, supervisor_id, trainee, treatment, session_number, session_date,
            rupture_segments, overall_resolution, therapist_contribution, ratings_pending,
            {severity_sql()} AS severity,
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
        SELECT dyad_id, rupture_segments, overall_resolution, therapist_contribution,
            row_number() OVER (PARTITION BY dyad_id ORDER BY session_number DESC) AS rrn
        FROM s WHERE overall_resolution IS NOT NULL
    ),
    unresolved AS (
        SELECT dyad_id,
            count(*) = {UNRESOLVED_RUN}
            AND bool_and(rupture_segments > 0 AND overall_resolution <= {UNRESOLVED_MAX}) AS flag
        FROM rated WHERE rrn <= {UNRESOLVED_RUN} GROUP BY dyad_id
    ),
    ending AS (
        SELECT dyad_id,
            bool_or(coalesce(rupture_segments > 0 AND overall_resolution <= {UNRESOLVED_MAX}, false)
                    OR coalesce(therapist_contribution >= (SELECT threshold FROM params), false)) AS difficult
        FROM rated WHERE rrn <= {ENDING_SESSIONS} GROUP BY dyad_id
    ),
    per_dyad AS (
        SELECT dyad_id,
            any_value(therapist_id) AS therapist_id,
            any_value(supervisor_id) AS supervisor_id,
            any_value(trainee) AS trainee,
            any_value(treatment) AS treatment,
            count(*) AS n_sessions,
            max(session_number) AS last_session,
            arg_max(session_date, session_number) AS last_coded_date,
            max(severity) AS worst_severity,
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
    sr AS ({srf.per_dyad_sql(sr_where)}),
    both_ AS (  -- dyads with coded sessions, self-reports or both
        SELECT coalesce(p.dyad_id, r.dyad_id) AS dyad_id, coalesce(p.therapist_id, r.therapist_id) AS therapist_id,
            coalesce(p.supervisor_id, r.supervisor_id) AS supervisor_id, coalesce(p.trainee, r.trainee) AS trainee,
            coalesce(p.treatment, r.treatment) AS treatment, coalesce(p.n_sessions, 0) AS n_sessions,
            coalesce(p.n_pending, 0) AS n_pending, coalesce(p.n_high_contribution, 0) AS n_high_contribution,
            p.* EXCLUDE (dyad_id, therapist_id, supervisor_id, trainee, treatment, n_sessions, n_pending,
                         n_high_contribution),
            r.latest_srs, r.srs_session, r.last_reported,
            coalesce(r.alliance_below_cutoff, false) AS alliance_below_cutoff,
            coalesce(r.srs_dropped, false) AS srs_dropped,
            coalesce(r.patient_rupture_unresolved, false) AS patient_rupture_unresolved
        FROM per_dyad p FULL JOIN sr r ON r.dyad_id = p.dyad_id
    ),
    since AS (
        SELECT p.*, coalesce(l.last_seen, p.last_coded_date) AS last_date, {AS_OF_SQL} AS as_of,
            {AS_OF_SQL} - coalesce(l.last_seen, p.last_coded_date) AS days_since_last,
            coalesce({AS_OF_SQL} - coalesce(l.last_seen, p.last_coded_date)
                     > greatest({QUIET_MIN_DAYS}, {LAPSE_FACTOR} * coalesce(p.median_gap_days, 0)), false) AS quiet
        FROM both_ p LEFT JOIN {LAST_SEEN_SQL} l USING (dyad_id)
    ),
    flagged AS (
        SELECT p.*,
            coalesce(p.days_since_last <= {ACTIVE_DAYS}, true) AS active,
            CASE WHEN NOT coalesce(p.days_since_last <= {ACTIVE_DAYS}, true) THEN 'Ended'
                 WHEN p.quiet THEN 'Quiet' ELSE 'Active' END AS status,
            CASE WHEN p.therapist_id = (SELECT supervisor FROM params) THEN 'own'
                 WHEN coalesce(p.trainee, false) THEN 'trainee' ELSE 'staff' END AS relation,
            p.quiet AND coalesce(e.difficult, false) AS ended_after_rupture,
            coalesce(u.flag, false) AS unresolved_ruptures,
            coalesce(p.n_window >= 3 AND p.confrontation_slope > 0
                     AND p.confrontation_last > p.confrontation_first, false) AS confrontation_rising,
            coalesce(p.last_gap_days > {LAPSE_FACTOR} * p.earlier_median_gap
                     AND p.last_gap_days >= {WIDENED_MIN_DAYS}, false)
            OR coalesce(p.quiet AND p.days_since_last <= {ACTIVE_DAYS}, false) AS sessions_dropped,
            p.n_pending > 0 AS ratings_pending,
            p.alliance_below_cutoff, p.srs_dropped, p.patient_rupture_unresolved
        FROM since p LEFT JOIN unresolved u USING (dyad_id) LEFT JOIN ending e USING (dyad_id)
    )
    SELECT dyad_id, therapist_id, supervisor_id, relation, treatment, n_sessions, last_session, last_date,
        as_of, days_since_last, status, active,
        rupture_trend, latest_resolution, n_high_contribution, n_pending, worst_severity,
        latest_srs, srs_session,
        {", ".join(f.key for f in FLAGS)},
        {_score_sql()} AS concern_score,
        {_labels_sql()} AS flags
    FROM flagged
    ORDER BY concern_score DESC, worst_severity DESC NULLS LAST, last_date DESC NULLS LAST, dyad_id
    """
    return con.execute(sql, [int(threshold), scope.supervisor_id, *params, *sr_params]).df()


RELATIONS = {"own": "Own", "trainee": "Trainee", "staff": "Staff"}
"""`relation` values and their labels: the scope's supervisor's own dyads, trainees' dyads, other staff's."""


def filter_rows(cases: pd.DataFrame, *, include_inactive: bool = True, only_flagged: bool = False,
                relation: str | None = None) -> pd.DataFrame:
    """The caseload rows a page shows after its toggles, in the same order: ended dyads dropped unless
    `include_inactive`, unflagged ones when `only_flagged`, and only one `relation` when given."""
    keep = pd.Series(True, index=cases.index)
    if not include_inactive:
        keep &= cases.active.astype(bool)
    if only_flagged:
        keep &= cases.concern_score > 0
    if relation:
        keep &= cases.relation == relation
    return cases[keep]


SELF_REPORT_FLAGS = ("alliance_below_cutoff", "srs_dropped", "patient_rupture_unresolved")


def headline(rows: pd.DataFrame) -> dict[str, int]:
    """Counts over exactly these rows (the ones shown): dyads, flagged, with unresolved ruptures, with a
    session at or above the contribution threshold, with a self-report flag."""
    return {"dyads": len(rows),
            "flagged": int((rows.concern_score > 0).sum()),
            "unresolved": int(rows.unresolved_ruptures.astype(bool).sum()),
            "high_contribution": int((rows.n_high_contribution > 0).sum()),
            "self_report": int(rows[list(SELF_REPORT_FLAGS)].astype(bool).any(axis=1).sum())}


def dyad_flags(con: duckdb.DuckDBPyConnection, dyad_id: str, therapist_id: str, threshold: int = 4) -> list[Flag]:
    """The concern flags one dyad carries on the caseload, heaviest first (for its page and PDF cover); the
    caseload of its therapist is computed, since the flags depend on the clinic's latest session date only."""
    rows = caseload(con, Scope.therapists([therapist_id], f"Therapist {therapist_id}"), threshold)
    row = rows[rows.dyad_id == dyad_id]
    if row.empty:
        return []
    return sorted((f for f in FLAGS if bool(row.iloc[0][f.key])), key=lambda f: -f.weight)
