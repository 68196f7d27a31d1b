"""Reading self-reports: a dyad's scales and alerts, one session's answers, and the caseload's latest state.

Every function takes a `Scope` and reads only dyads whose therapist it allows (the dashboards' rule), so an
out-of-scope dyad reads as having no self-reports. Aggregation is in SQL (`schema`'s views).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from rrrs_core.scope import CLINIC, Scope

SCALE_COLUMNS = ["dyad_id", "session_number", "respondent", "instrument", "scale", "value", "n_items",
                 "completed_on", "alert"]


def _in_scope(scope: Scope) -> tuple[str, list[object]]:
    where, params = scope.sql("d.therapist_id")
    return f"dyad_id IN (SELECT d.dyad_id FROM dyad d WHERE {where})", params


def scales(con: duckdb.DuckDBPyConnection, dyad_id: str, scope: Scope = CLINIC) -> pd.DataFrame:
    """Every scored scale of the dyad, all sessions (SCALE_COLUMNS; `alert`: the rules carried by that scale
    at that session, joined by ';', empty when none), by session, respondent, instrument, scale order."""
    where, params = _in_scope(scope)
    return con.execute(f"""
        WITH s AS (SELECT * FROM v_selfreport_scale WHERE dyad_id = ? AND {where}),
        a AS (SELECT dyad_id, session_number, respondent, instrument, scale, string_agg(rule, ';' ORDER BY rule) AS alert
              FROM v_selfreport_alert WHERE dyad_id = ? AND {where} GROUP BY ALL)
        SELECT s.dyad_id, s.session_number, s.respondent, s.instrument, s.scale, s.value, s.n_items, s.completed_on,
            coalesce(a.alert, '') AS alert
        FROM s LEFT JOIN a USING (dyad_id, session_number, respondent, instrument, scale)
        ORDER BY s.session_number, s.respondent, s.instrument, s.scale <> 'total', s.scale""",
        [dyad_id, *params, dyad_id, *params]).df()


def alerts(con: duckdb.DuckDBPyConnection, dyad_id: str, scope: Scope = CLINIC) -> pd.DataFrame:
    """The alerts that fired for the dyad: dyad_id, session_number, respondent, instrument, rule, scale."""
    where, params = _in_scope(scope)
    return con.execute(f"""
        SELECT dyad_id, session_number, respondent, instrument, rule, scale FROM v_selfreport_alert
        WHERE dyad_id = ? AND {where} ORDER BY session_number, respondent, instrument, rule""",
        [dyad_id, *params]).df()


def answers(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int,
            scope: Scope = CLINIC) -> pd.DataFrame:
    """One session's stored answers: respondent, instrument, instrument_version, item, value, completed_on,
    entered_by, entered_at (the session page shows them beside the coders' global ratings)."""
    where, params = _in_scope(scope)
    return con.execute(f"""
        SELECT respondent, instrument, instrument_version, item, value, completed_on, entered_by, entered_at
        FROM selfreport WHERE dyad_id = ? AND session_number = ? AND {where}
        ORDER BY respondent, instrument, item""", [dyad_id, int(session_number), *params]).df()


def form_values(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int, respondent: str,
                instrument: str, scope: Scope = CLINIC) -> dict[str, float]:
    """The stored answers of one form (item -> value), empty when none: what the entry form opens with."""
    where, params = _in_scope(scope)
    rows = con.execute(f"""
        SELECT item, value FROM selfreport
        WHERE dyad_id = ? AND session_number = ? AND respondent = ? AND instrument = ? AND {where}""",
                       [dyad_id, int(session_number), respondent, instrument, *params]).fetchall()
    return {str(k): float(v) for k, v in rows}


def reported_sessions(con: duckdb.DuckDBPyConnection, dyad_id: str, scope: Scope = CLINIC) -> list[int]:
    """Session numbers with any self-report (coded or not), ascending: with the coded sessions, the axis."""
    where, params = _in_scope(scope)
    return [int(r[0]) for r in con.execute(
        f"SELECT DISTINCT session_number FROM selfreport WHERE dyad_id = ? AND {where} ORDER BY 1",
        [dyad_id, *params]).fetchall()]


ALLIANCE_RULES = ("below_cutoff", "drop")
RUPTURE_RULE = "rupture_unresolved"

CASELOAD_SQL = f"""
    WITH rules AS (SELECT DISTINCT instrument, version, rule, scale FROM selfreport_rule),
    patient AS (SELECT * FROM v_selfreport_scale WHERE respondent = 'patient'),
    fired AS (SELECT dyad_id, session_number, instrument, rule FROM v_selfreport_alert WHERE respondent = 'patient'),
    alliance AS (
        SELECT s.dyad_id, s.instrument, s.session_number, s.value, s.completed_on,
            row_number() OVER (PARTITION BY s.dyad_id ORDER BY s.session_number DESC, s.instrument) AS n
        FROM patient s SEMI JOIN (SELECT * FROM rules WHERE rule IN {ALLIANCE_RULES}) r
          ON r.instrument = s.instrument AND r.version = s.instrument_version AND r.scale = s.scale
    ),
    rupture AS (
        SELECT s.dyad_id, s.instrument, s.session_number,
            row_number() OVER (PARTITION BY s.dyad_id ORDER BY s.session_number DESC, s.instrument) AS n
        FROM patient s SEMI JOIN (SELECT * FROM rules WHERE rule = '{RUPTURE_RULE}') r
          ON r.instrument = s.instrument AND r.version = s.instrument_version AND r.scale = s.scale
    ),
    a AS (
        SELECT a.dyad_id, a.instrument AS alliance_instrument, a.session_number AS alliance_session,
            a.value AS alliance_total, a.completed_on AS alliance_completed_on,
            EXISTS (SELECT 1 FROM fired f WHERE f.dyad_id = a.dyad_id AND f.session_number = a.session_number
                    AND f.instrument = a.instrument AND f.rule = 'below_cutoff') AS below_cutoff,
            EXISTS (SELECT 1 FROM fired f WHERE f.dyad_id = a.dyad_id AND f.session_number = a.session_number
                    AND f.instrument = a.instrument AND f.rule = 'drop') AS alliance_dropped
        FROM alliance a WHERE a.n = 1
    ),
    r AS (
        SELECT r.dyad_id, r.session_number AS rupture_session,
            EXISTS (SELECT 1 FROM fired f WHERE f.dyad_id = r.dyad_id AND f.session_number = r.session_number
                    AND f.instrument = r.instrument AND f.rule = '{RUPTURE_RULE}') AS rupture_unresolved
        FROM rupture r WHERE r.n = 1
    )
    SELECT coalesce(a.dyad_id, r.dyad_id) AS dyad_id, a.alliance_instrument, a.alliance_session, a.alliance_total,
        a.alliance_completed_on, coalesce(a.below_cutoff, false) AS below_cutoff,
        coalesce(a.alliance_dropped, false) AS alliance_dropped, r.rupture_session,
        coalesce(r.rupture_unresolved, false) AS rupture_unresolved
    FROM a FULL OUTER JOIN r ON a.dyad_id = r.dyad_id
"""
"""One row per dyad with a patient self-report that can raise a caseload flag (no parameters; join it on
dyad_id and let the caller's query apply its scope):
- alliance_*: the patient's latest reported session of an instrument with a `below_cutoff` or `drop` rule (the
  SRS), its value on that rule's scale (the SRS total), and whether each of those rules fired there;
- rupture_session / rupture_unresolved: the patient's latest report of an instrument with a
  `rupture_unresolved` rule (the rupture items), and whether it fired (rupture reported, resolution <= 2).
A clinic's own instrument feeds the same flags by naming its rules so."""


def caseload(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC) -> pd.DataFrame:
    """`CASELOAD_SQL` for the dyads in scope, by dyad."""
    where, params = _in_scope(scope)
    return con.execute(f"SELECT * FROM ({CASELOAD_SQL}) WHERE {where} ORDER BY dyad_id", params).df()
