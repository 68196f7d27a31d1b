"""Self-reports beside the coding: one dyad's forms on the same session axis as its coded sessions.

The patient's forms (SRS, WAI-SR, the post-session rupture items) come from `selfreport` through sr-core's
scoring views (`v_selfreport_scale`, `v_selfreport_alert`); this module only places them beside the coding.
Most sessions of a clinic are never coded, so a dyad's session axis is the union of its recorded sessions
(`session`, coded or not) and its self-reported ones, and every row says whether the session is coded.

Discordance compares the patient's "did a rupture occur" item with the primary coding of the same session;
both definitions are in `DISCORDANCE` (the page, the PDF and the README say them verbatim).
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from rrrs_core.queries.dyad import require_dyad
from rrrs_core.scope import Scope
from rrrs_core.selfreport import Instrument, catalog

SRS, WAI, RUPTURE = "srs", "wai_sr", "rupture_items"   # the shipped instruments' ids (rrrs_core.selfreport)
PATIENT, THERAPIST = "patient", "therapist"
SRS_CUTOFF = 36          # SRS total below this: the alliance is below the clinical cutoff (sr-core's rule)
SRS_MAX = 40
WAI_SCALES = ("task", "bond", "goal")
UNRESOLVED_MAX = 2       # post-session resolution at or below this, with a rupture reported: unresolved
ITEM_ORDER = {SRS: ("relationship", "goals", "approach", "overall"), RUPTURE: ("rupture", "tension", "resolution"),
              WAI: tuple(str(i) for i in range(1, 13))}

UNSEEN, UNREPORTED = "unseen", "unreported"
DISCORDANCE = {
    UNSEEN: ("Patient reported a rupture the coders did not see: the patient answered yes to 'did a rupture, "
             "tension or problem in the relationship occur' after a coded session whose primary coding has no "
             "withdrawal or confrontation marker marked check."),
    UNREPORTED: ("Coders saw a confrontation or withdrawal rupture the patient did not report: the primary coding "
                 "has at least one segment with a withdrawal or confrontation marker marked check, and the "
                 "patient answered no. Withdrawal ruptures are by nature often unreported: a patient who "
                 "withdraws (goes quiet, defers, changes the topic) often does not experience or name it as a "
                 "problem in the relationship, so this direction is expected more often for withdrawal."),
}
DISCORDANCE_LABELS = {UNSEEN: "reported, not seen", UNREPORTED: "seen, not reported"}
"""Short names for tables: the patient reported a rupture the coders did not see, and the other way round."""

# The latest entry of each item wins: a form entered again replaces the earlier values.
_ITEMS = """
SELECT session_number, respondent, instrument, item,
    arg_max(value, coalesce(entered_at, TIMESTAMP '1970-01-01')) AS value, min(completed_on) AS completed_on
FROM selfreport WHERE dyad_id = $1 GROUP BY ALL
"""


def dyad_axis(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str) -> pd.DataFrame:
    """One row per session on the dyad's axis (recorded or self-reported), oldest first.

    `coded`: the session has a primary coding. `session_date`: the recorded date, else the form's
    completion date. The patient's scores: `srs_total` (0-40), `wai_<scale>` and `wai_total` (means 1-5),
    `reported_rupture` (1 yes, 0 no), `tension` and `resolution` (1-5); their alerts `below_cutoff`,
    `srs_drop`, `rupture_unresolved` (sr-core's rules); `patient_forms` / `therapist_forms` list the
    instruments each filled in.
    """
    require_dyad(con, scope, dyad_id)
    wai = ", ".join(f"max(value) FILTER (WHERE instrument = '{WAI}' AND scale = '{s}') AS wai_{s}"
                    for s in (*WAI_SCALES, "total"))
    df = con.execute(
        f"""
        WITH it AS ({_ITEMS}),
        forms AS (
            SELECT session_number, min(completed_on) AS completed_on,
                list(DISTINCT instrument ORDER BY instrument) FILTER (WHERE respondent = '{PATIENT}') AS patient_forms,
                list(DISTINCT instrument ORDER BY instrument) FILTER (WHERE respondent = '{THERAPIST}')
                    AS therapist_forms,
                max(value) FILTER (WHERE respondent = '{PATIENT}' AND instrument = '{RUPTURE}' AND item = 'rupture')
                    AS reported_rupture,
                max(value) FILTER (WHERE respondent = '{PATIENT}' AND instrument = '{RUPTURE}' AND item = 'tension')
                    AS tension,
                max(value) FILTER (WHERE respondent = '{PATIENT}' AND instrument = '{RUPTURE}'
                                   AND item = 'resolution') AS resolution
            FROM it GROUP BY ALL
        ),
        sc AS (
            SELECT session_number,
                max(value) FILTER (WHERE instrument = '{SRS}' AND scale = 'total') AS srs_total, {wai}
            FROM v_selfreport_scale WHERE dyad_id = $1 AND respondent = '{PATIENT}' GROUP BY ALL
        ),
        al AS (
            SELECT session_number, bool_or(rule = 'below_cutoff') AS below_cutoff, bool_or(rule = 'drop') AS srs_drop,
                bool_or(rule = 'rupture_unresolved') AS rupture_unresolved
            FROM v_selfreport_alert WHERE dyad_id = $1 AND respondent = '{PATIENT}' GROUP BY ALL
        ),
        pc AS (SELECT session_number FROM v_primary_coding WHERE dyad_id = $1),
        axis AS (SELECT session_number FROM session WHERE dyad_id = $1 UNION SELECT session_number FROM forms)
        SELECT a.session_number::INTEGER AS session_number,
            coalesce(s.session_date, f.completed_on) AS session_date, pc.session_number IS NOT NULL AS coded,
            coalesce(f.patient_forms, []) AS patient_forms, coalesce(f.therapist_forms, []) AS therapist_forms,
            sc.srs_total, {", ".join(f"sc.wai_{s}" for s in (*WAI_SCALES, "total"))},
            f.reported_rupture, f.tension, f.resolution,
            coalesce(al.below_cutoff, false) AS below_cutoff, coalesce(al.srs_drop, false) AS srs_drop,
            coalesce(al.rupture_unresolved, false) AS rupture_unresolved
        FROM axis a
        LEFT JOIN session s ON s.dyad_id = $1 AND s.session_number = a.session_number
        LEFT JOIN forms f ON f.session_number = a.session_number
        LEFT JOIN sc ON sc.session_number = a.session_number
        LEFT JOIN al ON al.session_number = a.session_number
        LEFT JOIN pc ON pc.session_number = a.session_number
        ORDER BY a.session_number
        """,
        [dyad_id],
    ).df()
    for col in ("patient_forms", "therapist_forms"):
        df[col] = [tuple(v) for v in df[col]]
    return df


def beside(axis: pd.DataFrame, traj: pd.DataFrame) -> pd.DataFrame:
    """The axis with each coded session's rupture figures from `queries.dyad.trajectory` (NaN when uncoded):
    what the self-report charts and `discordance` read."""
    cols = ["session_number", "rupture_share", "rupture_segments", "withdrawal_segments",
            "confrontation_segments", "high_contribution", "therapist_contribution"]
    coded = traj[cols] if len(traj) else pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    out = axis.merge(coded, on="session_number", how="left")
    out["high_contribution"] = out.high_contribution.astype("boolean").fillna(False).astype(bool)
    return out


def discordance(both: pd.DataFrame) -> pd.DataFrame:
    """Coded sessions where the patient's rupture item and the coding disagree (`DISCORDANCE`), newest first:
    `kind` (UNSEEN or UNREPORTED), what the patient answered (`patient`), the coded rupture segments by family
    (`coded`), and `withdrawal_only` (coders saw only withdrawal: the direction expected to go unreported)."""
    rows: list[dict[str, Any]] = []
    double = both[both.coded & both.reported_rupture.notna() & both.rupture_segments.notna()]
    for r in double.itertuples():
        said_yes, seen = bool(r.reported_rupture == 1), int(r.rupture_segments) > 0
        if said_yes == seen:
            continue
        kind = UNSEEN if said_yes else UNREPORTED
        coded = [f"{int(n)} {f}" for f, n in (("withdrawal", r.withdrawal_segments),
                                              ("confrontation", r.confrontation_segments)) if int(n) > 0]
        rows.append({"session_number": int(r.session_number), "session_date": r.session_date, "kind": kind,
                     "finding": DISCORDANCE_LABELS[kind], "patient": "yes" if said_yes else "no",
                     "coded": ", ".join(coded) or "none",
                     "withdrawal_only": kind == UNREPORTED and int(r.confrontation_segments) == 0})
    out = pd.DataFrame(rows, columns=["session_number", "session_date", "kind", "finding", "patient", "coded",
                                      "withdrawal_only"])
    return out.sort_values("session_number", ascending=False).reset_index(drop=True)


def latest(axis: pd.DataFrame) -> dict[str, Any]:
    """The patient's latest SRS and latest rupture report, as the caseload's self-report flags read them."""
    srs = axis[axis.srs_total.notna()]
    rup = axis[axis.reported_rupture.notna()]
    s = srs.iloc[-1] if len(srs) else None
    r = rup.iloc[-1] if len(rup) else None
    return {
        "srs_session": None if s is None else int(s.session_number),
        "srs_total": None if s is None else float(s.srs_total),
        "below_cutoff": bool(s is not None and s.below_cutoff),
        "srs_drop": bool(s is not None and s.srs_drop),
        "rupture_session": None if r is None else int(r.session_number),
        "rupture_unresolved": bool(r is not None and r.rupture_unresolved),
        "resolution": None if r is None or pd.isna(r.resolution) else float(r.resolution),
        "n_reported": int((axis.patient_forms.map(len) > 0).sum()),
    }


def session_reports(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str, session_number: int) -> pd.DataFrame:
    """Every form filled in for one session: a row per respondent, instrument and scale or item.

    `kind` is 'scale' (sr-core's scoring: totals, subscales) or 'item'; `alerts` names the rules that fired
    for that respondent and instrument (';'-separated, as the export writes them).
    """
    require_dyad(con, scope, dyad_id)
    return con.execute(
        f"""
        WITH it AS ({_ITEMS}),
        al AS (
            SELECT respondent, instrument, string_agg(DISTINCT rule, ';' ORDER BY rule) AS alerts
            FROM v_selfreport_alert WHERE dyad_id = $1 AND session_number = $2 GROUP BY ALL
        ),
        rows AS (
            SELECT respondent, instrument, 'scale' AS kind, scale AS name, value, completed_on
            FROM v_selfreport_scale WHERE dyad_id = $1 AND session_number = $2
            UNION ALL
            SELECT respondent, instrument, 'item', item, value, completed_on FROM it WHERE session_number = $2
        )
        SELECT r.respondent, r.instrument, r.kind, r.name, r.value, r.completed_on, coalesce(al.alerts, '') AS alerts
        FROM rows r LEFT JOIN al USING (respondent, instrument)
        ORDER BY r.respondent = '{PATIENT}' DESC, r.respondent, r.instrument, r.kind DESC,
            TRY_CAST(r.name AS INTEGER) NULLS FIRST, r.name
        """,
        [dyad_id, int(session_number)],
    ).df()


def has_reports(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str, session_number: int) -> bool:
    """Whether any form was filled in for the session (a session without a coding may still have them)."""
    require_dyad(con, scope, dyad_id)
    row = con.execute("SELECT count(*) FROM selfreport WHERE dyad_id = ? AND session_number = ?",
                      [dyad_id, int(session_number)]).fetchone()
    return bool(row and row[0])


def instruments(con: duckdb.DuckDBPyConnection) -> dict[str, Instrument]:
    """The instruments a form may use now, by id (sr-core's catalog: shipped files, a clinic's own, stored)."""
    return dict(catalog(con).current)


ALERT_RULES = ("below_cutoff", "drop", "rupture_unresolved")


def therapist_alerts(con: duckdb.DuckDBPyConnection, therapist_id: str) -> pd.DataFrame:
    """Per dyad of the therapist with any patient form: sessions self-reported, how many carried each alert
    (`ALERT_RULES`: SRS below the cutoff, SRS dropped, reported rupture unresolved), the latest SRS and its
    session. For the therapist PDF (the caller checks the scope: `reports.data.require_therapist`)."""
    counts = ", ".join(f"count(DISTINCT a.session_number) FILTER (WHERE a.rule = '{r}') AS n_{r}" for r in ALERT_RULES)
    return con.execute(
        f"""
        WITH d AS (SELECT dyad_id FROM dyad WHERE therapist_id = $1),
        forms AS (
            SELECT dyad_id, count(DISTINCT session_number) AS n_reported FROM selfreport
            WHERE respondent = '{PATIENT}' AND dyad_id IN (SELECT dyad_id FROM d) GROUP BY dyad_id
        ),
        al AS (
            SELECT a.dyad_id, {counts} FROM v_selfreport_alert a
            WHERE a.respondent = '{PATIENT}' AND a.dyad_id IN (SELECT dyad_id FROM d) GROUP BY a.dyad_id
        ),
        srs AS (
            SELECT dyad_id, max(session_number) AS srs_session, arg_max(value, session_number) AS latest_srs
            FROM v_selfreport_scale WHERE respondent = '{PATIENT}' AND instrument = '{SRS}' AND scale = 'total'
              AND dyad_id IN (SELECT dyad_id FROM d) GROUP BY dyad_id
        )
        SELECT f.dyad_id, f.n_reported::INTEGER AS n_reported,
            {", ".join(f"coalesce(al.n_{r}, 0)::INTEGER AS n_{r}" for r in ALERT_RULES)},
            srs.latest_srs, srs.srs_session
        FROM forms f LEFT JOIN al USING (dyad_id) LEFT JOIN srs USING (dyad_id)
        ORDER BY f.dyad_id
        """,
        [therapist_id],
    ).df()
