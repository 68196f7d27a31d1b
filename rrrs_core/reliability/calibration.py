"""Calibration: trainee coders measured against reference codings of a set of calibration sessions.

A supervisor or admin marks, per calibration session, which coder's coding is the reference (a master
coder's, or a consensus); the reference is that coder's current, final coding, so a corrected reference is
used as corrected. A trainee's codings of those sessions are then compared with the references as a fully
crossed pair (reference, trainee), with every statistic of the reliability table.

The criterion (`Criterion`, documented default) is met when every family frequency has ICC(2,1) at least
`icc_min` and every family's presence has Gwet's AC1 at least `ac1_min`: the two numbers a lab reports
for a coder before letting them code alone. Anything undefined (too few sessions, no variance) is "not yet".
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core import audit, permits
from rrrs_core.errors import PermissionDeniedError, RrrsError
from rrrs_core.permits import Permit
from rrrs_core.reliability import extract
from rrrs_core.reliability.design import COMPARED, Design
from rrrs_core.reliability.table import MIN_SESSIONS, reliability
from rrrs_core.store import one, scalar, writing

MEETS, NOT_YET = "meets criterion", "not yet"
SUPERVISORS_ONLY = "Only a supervisor or an administrator marks reference codings."


@dataclass(frozen=True)
class Criterion:
    """When a trainee's calibration counts as reliable (defaults: Koo & Li's 'good' and Landis & Koch's
    'substantial' lower bounds)."""

    icc_min: float = 0.75  # ICC(2,1) on each family frequency (withdrawal, confrontation, rupture, resolution)
    ac1_min: float = 0.60  # Gwet's AC1 on each family's presence per segment

    def describe(self) -> str:
        return (f"ICC(2,1) >= {self.icc_min:.2f} on each family frequency and AC1 >= {self.ac1_min:.2f} on "
                f"each family's presence, over at least {MIN_SESSIONS} calibration sessions")


DEFAULT = Criterion()
FAMILY_PRESENCE = tuple(extract.PRESENCE_FAMILIES)


def _require_marker(con: duckdb.DuckDBPyConnection, p: Permit, dyad_id: str, session_number: int) -> None:
    if p.coder_id is not None or not p.codes:
        raise PermissionDeniedError(SUPERVISORS_ONLY)
    permits.require(con, p, dyad_id, session_number)


def mark(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int, coder_id: str, *, user: str,
         role: str, permit: Permit) -> None:
    """Make `coder_id`'s current, final coding the reference of the session (replacing any other), audited."""
    _require_marker(con, permit, dyad_id, session_number)
    with writing(con):
        _require_marker(con, permit, dyad_id, session_number)
        if not scalar(con, "SELECT count(*) FROM coding WHERE dyad_id = ? AND session_number = ? AND coder_id = ? "
                           "AND is_current AND status = 'final'", [dyad_id, session_number, coder_id]):
            raise RrrsError(f"Coder {coder_id} has no final coding of dyad {dyad_id} session {session_number}.")
        con.execute("DELETE FROM reference_coding WHERE dyad_id = ? AND session_number = ?", [dyad_id, session_number])
        con.execute("INSERT INTO reference_coding VALUES (?, ?, ?, ?, current_localtimestamp())",
                    [dyad_id, session_number, coder_id, user])
    audit.record(con, user, role, "mark reference", f"{dyad_id}/{session_number}", f"reference: {coder_id}")


def unmark(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int, *, user: str, role: str,
           permit: Permit) -> None:
    """The session is no longer a calibration session, audited."""
    _require_marker(con, permit, dyad_id, session_number)
    with writing(con):
        _require_marker(con, permit, dyad_id, session_number)
        con.execute("DELETE FROM reference_coding WHERE dyad_id = ? AND session_number = ?", [dyad_id, session_number])
    audit.record(con, user, role, "mark reference", f"{dyad_id}/{session_number}", "reference removed")


def reference_of(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int) -> str | None:
    row = one(con, "SELECT coder_id FROM reference_coding WHERE dyad_id = ? AND session_number = ?",
              [dyad_id, session_number])
    return None if row is None else str(row[0])


def references(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The calibration sessions: reference coder, who marked it, and how many other coders coded it."""
    return con.execute(f"""
        SELECT r.dyad_id, r.session_number, s.session_date, r.coder_id AS reference_coder, r.marked_by,
            r.marked_at,
            (SELECT count(DISTINCT c.coder_id) FROM coding c WHERE c.dyad_id = r.dyad_id
               AND c.session_number = r.session_number AND {COMPARED} AND c.coder_id <> r.coder_id) AS coders
        FROM reference_coding r JOIN session s USING (dyad_id, session_number)
        ORDER BY r.dyad_id, r.session_number""").df()


def trainee_table(con: duckdb.DuckDBPyConnection, coder_id: str) -> pd.DataFrame:
    """The reliability table of one coder against the references (empty when they coded none)."""
    design = Design(reference_for=coder_id)
    if not _n_sessions(con, coder_id):
        return pd.DataFrame()
    return reliability(con, design)


def _n_sessions(con: duckdb.DuckDBPyConnection, coder_id: str) -> int:
    return int(scalar(con, f"""
        SELECT count(*) FROM reference_coding r JOIN coding c USING (dyad_id, session_number)
        WHERE c.coder_id = ? AND r.coder_id <> ? AND {COMPARED}""", [coder_id, coder_id]))


def status(table: pd.DataFrame, criterion: Criterion = DEFAULT) -> tuple[str, list[str]]:
    """"meets criterion" or "not yet", and what falls short (one line per failing or undefined item)."""
    if table.empty:
        return NOT_YET, ["has coded no calibration session"]
    short: list[str] = []
    checks = [(i, "ICC2", criterion.icc_min) for i in extract.FAMILY_ITEMS] + \
             [(i, "ac1", criterion.ac1_min) for i in FAMILY_PRESENCE]
    for item, statistic, minimum in checks:
        found = table[(table.item == item) & (table.statistic == statistic)]
        if found.empty:
            continue
        row = found.iloc[0]
        name = "ICC(2,1)" if statistic == "ICC2" else "AC1"
        if pd.isna(row.value):
            short.append(f"{item}: {name} undefined ({row.reason})")
        elif row.value < minimum:
            short.append(f"{item}: {name} {row.value:.3f} < {minimum:.2f}")
    return (MEETS if not short else NOT_YET), short


def overview(con: duckdb.DuckDBPyConnection, criterion: Criterion = DEFAULT) -> pd.DataFrame:
    """One row per coder who coded a calibration session: sessions, the criterion's numbers and the status."""
    coders = [r[0] for r in con.execute(f"""
        SELECT DISTINCT c.coder_id FROM reference_coding r JOIN coding c USING (dyad_id, session_number)
        WHERE {COMPARED} AND c.coder_id <> r.coder_id ORDER BY 1""").fetchall()]
    rows = []
    for coder in coders:
        table = trainee_table(con, coder)
        verdict, short = status(table, criterion)
        lead = table[table.lead & table.item.isin(["rupture_segments", "rupture"])].set_index("item").value
        rows.append({"coder_id": coder, "sessions": _n_sessions(con, coder),
                     "icc_rupture_segments": lead.get("rupture_segments"), "ac1_rupture": lead.get("rupture"),
                     "status": verdict, "short_of": "; ".join(short)})
    return pd.DataFrame(rows, columns=["coder_id", "sessions", "icc_rupture_segments", "ac1_rupture", "status",
                                       "short_of"])
