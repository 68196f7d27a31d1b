"""The caseload's self-report flags: what the patient's latest forms say, per dyad, in SQL.

Each flag reads the patient's *latest* form of its instrument (highest session number), because the
caseload asks "what needs attention now": an SRS below the cutoff three months ago that has since recovered
is history, not a flag. The alert rules and the pick of the latest form are sr-core's (`v_selfreport_alert`,
`rrrs_core.selfreport.CASELOAD_SQL`): this module scopes them and adds what the caseload needs besides (the
dyad's identity, its latest report date). `caseload.FLAGS` gives the flags their weights.
"""

from __future__ import annotations

from rrrs_core.queries.selfreport import SRS_CUTOFF, UNRESOLVED_MAX
from rrrs_core.selfreport import CASELOAD_SQL

BELOW_CUTOFF_RULE = (f"The patient's latest Session Rating Scale (SRS) total is below {SRS_CUTOFF} of 40 (the "
                     "PCOMS clinical cutoff: the alliance is not on track). Shown on the dyad page with the SRS "
                     "chart.")
DROP_RULE = ("The patient's latest SRS total is at least 1 point lower than their previous one (OpenFIT's drop "
             "rule): the alliance as the patient feels it is slipping, even while still above the cutoff.")
UNRESOLVED_RULE = (f"On the patient's latest post-session rupture form, they reported a rupture, tension or problem "
                   f"in the relationship and rated how well it was resolved at {UNRESOLVED_MAX} or less (of 5).")


def per_dyad_sql(where: str) -> str:
    """SQL (a query, for a CTE) with one row per dyad in scope that has any self-report: its identity columns,
    `last_reported` (latest completion date), `latest_srs` and its `srs_session`, and the three flag columns,
    read from sr-core's `CASELOAD_SQL` (the patient's latest alliance form and latest rupture form, and the
    rules that fired there). `where` filters `d.therapist_id` (a scope's fragment; its parameters go where the
    CTE sits)."""
    return f"""
    WITH sd AS (
        SELECT d.dyad_id, d.therapist_id, t.supervisor_id, t.trainee, d.treatment
        FROM dyad d LEFT JOIN therapist t ON t.therapist_id = d.therapist_id WHERE {where}
    ),
    reported AS (
        SELECT dyad_id, max(completed_on) AS last_reported FROM selfreport
        WHERE dyad_id IN (SELECT dyad_id FROM sd) GROUP BY dyad_id
    ),
    latest AS ({CASELOAD_SQL})
    SELECT sd.*, r.last_reported, c.alliance_total AS latest_srs, c.alliance_session AS srs_session,
        coalesce(c.below_cutoff, false) AS alliance_below_cutoff,
        coalesce(c.alliance_dropped, false) AS srs_dropped,
        coalesce(c.rupture_unresolved, false) AS patient_rupture_unresolved
    FROM sd JOIN reported r USING (dyad_id) LEFT JOIN latest c USING (dyad_id)
    """
