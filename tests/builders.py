"""Small hand-made clinics for tests: insert rows straight into the store, so metric tests can compare
against values computed by hand from exactly these marks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb

from rrrs_core import codebook as cb
from rrrs_core import store
from rrrs_core.store import transaction
from rrrs_core.views import refresh_metrics


def add_therapist(con: duckdb.DuckDBPyConnection, therapist_id: str, supervisor_id: str | None = None,
                  trainee: bool = False) -> None:
    with transaction(con):  # replace: no key constraint on a shared store to replace on
        con.execute("DELETE FROM therapist WHERE therapist_id = ?", [therapist_id])
        con.execute("INSERT INTO therapist VALUES (?, ?, ?)", [therapist_id, supervisor_id, trainee])


def add_dyad(con: duckdb.DuckDBPyConnection, dyad_id: str, therapist_id: str, patient_id: str | None = None,
             treatment: str | None = "CBT") -> None:
    with transaction(con):
        con.execute("DELETE FROM dyad WHERE dyad_id = ?", [dyad_id])
        con.execute("INSERT INTO dyad VALUES (?, ?, ?, ?)", [dyad_id, therapist_id, patient_id or f"P-{dyad_id}",
                                                             treatment])


def add_session(
    con: duckdb.DuckDBPyConnection,
    dyad_id: str,
    session_number: int,
    marks: Iterable[tuple[int, str, str]] = (),
    ratings: Mapping[str, int] | None = None,
    *,
    coder_id: str = "C1",
    n_segments: int = 10,
    session_date: dt.date | None = None,
    consensus: bool = False,
    status: str = "final",
) -> int:
    """Add a session (if new) and one coding of it; returns the coding id.

    `marks` are (segment, code, clarity); `ratings` maps item -> 1..5, None means ratings pending.
    """
    date = session_date or dt.date(2026, 1, 5) + dt.timedelta(weeks=session_number - 1)
    with transaction(con):
        con.execute("INSERT INTO session SELECT $1, $2, $3, 5, $4 WHERE NOT EXISTS (SELECT 1 FROM session "
                    "WHERE dyad_id = $1 AND session_number = $2)", [dyad_id, session_number, date, n_segments])
        version = con.execute(
            "SELECT coalesce(max(version), 0) + 1 FROM coding WHERE dyad_id = ? AND session_number = ? "
            "AND coder_id = ?", [dyad_id, session_number, coder_id]).fetchall()[0][0]
        coding_id = store.next_id(con, "coding", "coding_id")
        con.execute(
            "INSERT INTO coding (coding_id, dyad_id, session_number, coder_id, version, is_current, status, "
            "consensus, codebook_id, codebook_version, content_hash, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, true, ?, ?, ?, ?, 'test', now()::TIMESTAMP, 'tests')",
            [coding_id, dyad_id, session_number, coder_id, version, status, consensus, cb.DEFAULT.id,
             cb.DEFAULT.version])
        for seg, code, clarity in marks:
            con.execute("INSERT INTO mark VALUES (?, ?, ?, ?)", [coding_id, seg, code, clarity])
        if ratings:
            store.insert_ratings(con, coding_id, ratings)
        refresh_metrics(con, [coding_id])
    return int(coding_id)


def globals_(w: int = 1, c: int = 1, r: int = 3, tc: int = 1, **significance: int) -> dict[str, int]:
    """Global ratings plus optional per-code significance."""
    out = {"overall_withdrawal": w, "overall_confrontation": c, "overall_resolution": r,
           "therapist_contribution": tc}
    out.update(significance)
    return out


def small_clinic(con: duckdb.DuckDBPyConnection) -> None:
    """Two supervisors, a trainee each, four dyads: troubled, repairing, ratings-pending, one-session.

    - D1 (T1, trainee of S1): 4 sessions, escalating confrontation, session 3 has therapist_contribution 5,
      session 4 has contribution 2; resolution 2,2,1,2.
    - D2 (T2, trainee of S2): 3 sessions, withdrawal repaired; contribution 1; resolution 3,4,5.
    - D3 (S1, supervisor, staff): 2 sessions, second has marks but ratings pending.
    - D4 (T2): a single session with no ruptures.
    """
    add_therapist(con, "S1")
    add_therapist(con, "S2")
    add_therapist(con, "T1", "S1", trainee=True)
    add_therapist(con, "T2", "S2", trainee=True)
    add_dyad(con, "D1", "T1", "P-ALPHA", "CBT")
    add_dyad(con, "D2", "T2", "P-BRAVO", "Psychodynamic")
    add_dyad(con, "D3", "S1", "P-CHARLIE", "CBT")
    add_dyad(con, "D4", "T2", "P-DELTA", "Psychodynamic")
    add_session(con, "D1", 1, [(2, "minimal_response", "check"), (3, "redirect_refocus", "check")],
                globals_(w=2, r=2, tc=2, minimal_response=2, redirect_refocus=2))
    add_session(con, "D1", 2, [(1, "complaint_therapist", "check"), (4, "reject_intervention", "check"),
                               (5, "denial", "check_minus")], globals_(w=1, c=3, r=2, tc=3))
    add_session(con, "D1", 3, [(s, "complaint_therapist", "check") for s in (1, 2, 3, 6)]
                + [(7, "control_pressure", "check"), (8, "invite_feelings", "check_minus")],
                globals_(w=1, c=5, r=1, tc=5, complaint_therapist=5, control_pressure=4))
    add_session(con, "D1", 4, [(2, "complaint_progress", "check"), (3, "deferential", "check")],
                globals_(w=2, c=3, r=2, tc=2))
    add_session(con, "D1", 3, [(s, "complaint_therapist", "check") for s in (1, 2, 3)],
                globals_(w=1, c=4, r=2, tc=4), coder_id="C2")
    add_session(con, "D2", 1, [(1, "avoidant_storytelling", "check"), (2, "abstract_communication", "check"),
                               (2, "invite_feelings", "check")], globals_(w=3, r=3, invite_feelings=3))
    add_session(con, "D2", 2, [(4, "deferential", "check"), (5, "acknowledge_contribution", "check")],
                globals_(w=2, r=4))
    add_session(con, "D2", 3, [(6, "self_criticism", "check"), (6, "link_other_relationships", "check")],
                globals_(w=2, r=5))
    add_session(con, "D3", 1, [], globals_())
    add_session(con, "D3", 2, [(3, "minimal_response", "check")], None)
    add_session(con, "D4", 1, [], globals_(), n_segments=9)


def small_clinic_db(path: Path) -> Path:
    """A closed database file holding the small clinic (for a server or AppTest to open)."""
    from rrrs_core import store

    con = store.connect(path)
    try:
        small_clinic(con)
    finally:
        con.close()
    return path
