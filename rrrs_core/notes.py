"""Supervision notes: dated, attributed remarks on a dyad or one of its sessions."""

from __future__ import annotations

import duckdb
import pandas as pd

from rrrs_core.errors import RrrsError
from rrrs_core.store import scalar, transaction

MAX_LENGTH = 5000


def add(con: duckdb.DuckDBPyConnection, dyad_id: str, author: str, body: str,
        session_number: int | None = None) -> int:
    """Store a note; refuses empty text and unknown dyads/sessions so notes never dangle."""
    text = (body or "").strip()
    if not text:
        raise RrrsError("A note needs some text.")
    if len(text) > MAX_LENGTH:
        raise RrrsError(f"A note can be at most {MAX_LENGTH} characters (this one has {len(text)}).")
    if not scalar(con, "SELECT count(*) FROM dyad WHERE dyad_id = ?", [dyad_id]):
        raise RrrsError(f"No dyad {dyad_id}.")
    if session_number is not None and not scalar(
            con, "SELECT count(*) FROM session WHERE dyad_id = ? AND session_number = ?", [dyad_id, session_number]):
        raise RrrsError(f"Dyad {dyad_id} has no session {session_number}.")
    with transaction(con):
        return int(scalar(con, "INSERT INTO note (dyad_id, session_number, author, created_at, body) "
                               "VALUES (?, ?, ?, current_localtimestamp(), ?) RETURNING note_id",
                          [dyad_id, session_number, author, text]))


def for_dyad(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int | None = None) -> pd.DataFrame:
    """Notes on a dyad (all, including per-session ones) or on one session, newest first."""
    if session_number is None:
        return con.execute("SELECT note_id, dyad_id, session_number, author, created_at, body FROM note "
                           "WHERE dyad_id = ? ORDER BY created_at DESC, note_id DESC", [dyad_id]).df()
    return con.execute("SELECT note_id, dyad_id, session_number, author, created_at, body FROM note "
                       "WHERE dyad_id = ? AND session_number = ? ORDER BY created_at DESC, note_id DESC",
                       [dyad_id, session_number]).df()
