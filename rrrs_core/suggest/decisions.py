"""The coder's decisions on suggestions: recorded one by one, counted per code so a clinic can see whether
the suggestions help (Reliability page).

A decision is not a code: accepting puts a mark in the scoresheet grid, and only the coder's save stores
it. Who may decide: whoever may read the session's transcript (transcripts.rules.require_read: coders
their assigned sessions, therapists and supervisors their scope, admins all; never QI). Each decision is
one `store.writing` transaction and one audit row.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from rrrs_core.access import Principal
from rrrs_core.codebook import DEFAULT
from rrrs_core.errors import RrrsError
from rrrs_core.scope import Scope
from rrrs_core.store import writing

COUNT_COLUMNS = ["code", "label", "family", "accepted", "rejected", "decided", "accepted_share"]


def record_decision(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, session_number: int,
                    segment: int | None, turn: int, code: str, accepted: bool, method: str = "") -> None:
    """Store that `who` accepted (or rejected) suggestion `code` for `turn`; audited."""
    from rrrs_core.transcripts import rules

    if not DEFAULT.has_code(code):
        raise RrrsError(f"'{code}' is not a 3RS code; a suggestion is always one of the codebook's codes")
    if method == "":
        from rrrs_core.suggest.engine import method as default_method

        method = default_method()
    rules.require_read(con, who, dyad_id, session_number)
    with writing(con):
        con.execute("INSERT INTO suggestion_decision VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [dyad_id, int(session_number), None if segment is None else int(segment), int(turn), code,
                     bool(accepted), method, who.subject, datetime.now()])
    rules.record(con, who, "decide suggestion", f"{dyad_id}/{session_number}",
                 f"{'accepted' if accepted else 'rejected'} {code} (turn {turn}, segment {segment})")


def decided(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, session_number: int) -> pd.DataFrame:
    """This user's latest decision per (turn, code) in a session: turn, code, accepted."""
    return con.execute(
        """SELECT turn, code, arg_max(accepted, decided_at) AS accepted FROM suggestion_decision
           WHERE dyad_id = ? AND session_number = ? AND decided_by = ? GROUP BY turn, code ORDER BY turn, code""",
        [dyad_id, int(session_number), who.subject]).df()


def acceptance(con: duckdb.DuckDBPyConnection, scope: Scope | None = None) -> pd.DataFrame:
    """Per code (then 'All codes'): latest decisions per (session, turn, code, coder) accepted and rejected,
    within the scope's dyads. Counts only, no text."""
    where, params = (scope or Scope.clinic()).sql("d.therapist_id")
    counts = con.execute(
        f"""WITH latest AS (
                SELECT s.dyad_id, s.code, arg_max(s.accepted, s.decided_at) AS accepted
                FROM suggestion_decision s GROUP BY s.dyad_id, s.session_number, s.turn, s.code, s.decided_by)
            SELECT l.code, count(*) FILTER (WHERE l.accepted) AS accepted,
                   count(*) FILTER (WHERE NOT l.accepted) AS rejected
            FROM latest l JOIN dyad d USING (dyad_id) WHERE {where} GROUP BY l.code""", params).df()
    by = {r.code: (int(r.accepted), int(r.rejected)) for r in counts.itertuples()}
    rows = []
    for c in DEFAULT.codes:
        if c.key in by:
            a, r = by[c.key]
            rows.append((c.key, c.label, c.family, a, r, a + r, a / (a + r)))
    if rows:
        a, r = sum(x[3] for x in rows), sum(x[4] for x in rows)
        rows.append(("all", "All codes", "", a, r, a + r, a / (a + r)))
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)
