"""Supervision notes: dated, attributed remarks on a dyad or one of its sessions.

Notes are identified clinical data: reading and adding take the caller's `Permit` (rrrs_core.permits), the
same scope as the dashboards; a dyad outside it is 'not found or not permitted', exactly like a missing one.
Coders code blind: their permit neither reads nor adds notes (PermissionDeniedError).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from rrrs_core import permits
from rrrs_core.errors import RrrsError
from rrrs_core.permits import OPEN, Permit
from rrrs_core.store import next_id, writing

MAX_LENGTH = 5000


def add(con: duckdb.DuckDBPyConnection, dyad_id: str, author: str, body: str,
        session_number: int | None = None, *, permit: Permit = OPEN) -> int:
    """Store a note; refuses empty text, and dyads/sessions that are unknown or outside the permit (one
    message for both), so notes never dangle and never land on someone else's case."""
    permits.require_notes(con, permit, dyad_id, session_number)
    text = (body or "").strip()
    if not text:
        raise RrrsError("A note needs some text.")
    if len(text) > MAX_LENGTH:
        raise RrrsError(f"A note can be at most {MAX_LENGTH} characters (this one has {len(text)}).")
    with writing(con):
        permits.require_notes(con, permit, dyad_id, session_number)
        note_id = next_id(con, "note", "note_id")
        con.execute("INSERT INTO note (note_id, dyad_id, session_number, author, created_at, body) "
                    "VALUES (?, ?, ?, ?, current_localtimestamp(), ?)", [note_id, dyad_id, session_number, author, text])
    return note_id


def for_dyad(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int | None = None, *,
             permit: Permit = OPEN) -> pd.DataFrame:
    """Notes on a dyad (all, including per-session ones) or on one session, newest first; NotFoundError for a
    dyad or session that is unknown or outside the permit."""
    permits.require_notes(con, permit, dyad_id, session_number)
    if session_number is None:
        return con.execute("SELECT note_id, dyad_id, session_number, author, created_at, body FROM note "
                           "WHERE dyad_id = ? ORDER BY created_at DESC, note_id DESC", [dyad_id]).df()
    return con.execute("SELECT note_id, dyad_id, session_number, author, created_at, body FROM note "
                       "WHERE dyad_id = ? AND session_number = ? ORDER BY created_at DESC, note_id DESC",
                       [dyad_id, session_number]).df()
