"""The caseload's self-report flags: what the patient's latest forms say, per dyad, in SQL.

Each flag reads the patient's *latest* form of its instrument (highest session number), because the
caseload asks "what needs attention now": an SRS below the cutoff three months ago that has since recovered
is history, not a flag. The alert rules themselves are sr-core's (`v_selfreport_alert`): this module only
picks the latest session and says which rule fired there. `caseload.FLAGS` gives the flags their weights.
"""

from __future__ import annotations

from rrrs_core.queries.selfreport import PATIENT, RUPTURE, SRS, SRS_CUTOFF, UNRESOLVED_MAX

BELOW_CUTOFF_RULE = (f"The patient's latest Session Rating Scale (SRS) total is below {SRS_CUTOFF} of 40 (the "
                     "PCOMS clinical cutoff: the alliance is not on track). Shown on the dyad page with the SRS "
                     "chart.")
DROP_RULE = ("The patient's latest SRS total is at least 1 point lower than their previous one (OpenFIT's drop "
             "rule): the alliance as the patient feels it is slipping, even while still above the cutoff.")
UNRESOLVED_RULE = (f"On the patient's latest post-session rupture form, they reported a rupture, tension or problem "
                   f"in the relationship and rated how well it was resolved at {UNRESOLVED_MAX} or less (of 5).")


def per_dyad_sql(where: str) -> str:
    """SQL (a query, for a CTE) with one row per dyad in scope that has any self-report: `latest_srs` and its
    `srs_session`, the three flag columns, `last_reported` (latest completion date) and the dyad's identity
    columns. `where` filters `d.therapist_id` (a scope's fragment; its parameters go where the CTE sits)."""
    return f"""
    WITH sd AS (
        SELECT d.dyad_id, d.therapist_id, t.supervisor_id, t.trainee, d.treatment
        FROM dyad d LEFT JOIN therapist t ON t.therapist_id = d.therapist_id WHERE {where}
    ),
    reported AS (
        SELECT dyad_id, max(completed_on) AS last_reported,
            max(session_number) FILTER (WHERE respondent = '{PATIENT}' AND instrument = '{RUPTURE}')
                AS rupture_session
        FROM selfreport WHERE dyad_id IN (SELECT dyad_id FROM sd) GROUP BY dyad_id
    ),
    srs AS (
        SELECT dyad_id, max(session_number) AS srs_session, arg_max(value, session_number) AS latest_srs
        FROM v_selfreport_scale
        WHERE respondent = '{PATIENT}' AND instrument = '{SRS}' AND scale = 'total'
          AND dyad_id IN (SELECT dyad_id FROM sd)
        GROUP BY dyad_id
    ),
    al AS (
        SELECT dyad_id, session_number, bool_or(rule = 'below_cutoff') AS below_cutoff,
            bool_or(rule = 'drop') AS srs_drop, bool_or(rule = 'rupture_unresolved') AS rupture_unresolved
        FROM v_selfreport_alert WHERE respondent = '{PATIENT}' AND dyad_id IN (SELECT dyad_id FROM sd)
        GROUP BY ALL
    )
    SELECT sd.*, r.last_reported, srs.latest_srs, srs.srs_session,
        coalesce(a1.below_cutoff, false) AS alliance_below_cutoff,
        coalesce(a1.srs_drop, false) AS srs_dropped,
        coalesce(a2.rupture_unresolved, false) AS patient_rupture_unresolved
    FROM sd JOIN reported r USING (dyad_id)
    LEFT JOIN srs USING (dyad_id)
    LEFT JOIN al a1 ON a1.dyad_id = sd.dyad_id AND a1.session_number = srs.srs_session
    LEFT JOIN al a2 ON a2.dyad_id = sd.dyad_id AND a2.session_number = r.rupture_session
    """
