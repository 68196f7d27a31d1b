"""Transcripts in the store: attach (replacing), read by minutes or segment, search a dyad, delete.

Every function that returns words checks the principal (`rules`) and writes an audit row; `has_transcript`
and `info` return no words and are not audited (pages use them to decide what to offer). A session's rows
are written and deleted whole inside one `store.writing` transaction, so a reader never sees half of one.
Times are seconds from the session's start; a turn's segment is the `segment_minutes` slice its start falls in.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath

import duckdb
import numpy as np
import pandas as pd

from rrrs_core.access import Principal
from rrrs_core.errors import NotFoundError, PermissionDeniedError, RrrsError
from rrrs_core.store import one, scalar, writing
from rrrs_core.transcripts import lake, rules
from rrrs_core.transcripts.model import MAX_TURNS, SPEAKERS, Turn

COLUMNS = ["turn", "start", "end", "speaker", "label", "text", "segment"]
SEARCH_COLUMNS = ["session_number", "turn", "start", "speaker", "text"]
MAX_QUERY = 200
_SELECT = """
    SELECT t.turn, t.start_s AS "start", t.end_s AS "end", t.speaker, t.label, t.text,
           CASE WHEN t.start_s IS NULL THEN NULL
                ELSE floor(t.start_s / (s.segment_minutes * 60))::INTEGER + 1 END AS segment
    FROM transcript_turn t
    JOIN session s ON s.dyad_id = t.dyad_id AND s.session_number = t.session_number
    WHERE t.dyad_id = $dyad AND t.session_number = $session
      AND ($lo IS NULL OR t.start_s >= $lo OR t.end_s > $lo)
      AND ($hi IS NULL OR t.start_s < $hi)
    ORDER BY t.turn"""


def _target(dyad_id: str, session_number: int) -> str:
    return f"{dyad_id}/{session_number}"


def _clock(secs: float) -> str:
    return f"{int(secs // 60)}:{int(secs % 60):02d}"


def _check_turns(turns: Sequence[Turn]) -> None:
    """Turns built by code (not `parse`) are held to the same rules before anything is written."""
    if not turns:
        raise RrrsError("A transcript needs at least one turn.")
    if len(turns) > MAX_TURNS:
        raise RrrsError(f"A transcript can hold at most {MAX_TURNS} turns (this one has {len(turns)}).")
    timed = turns[0].start is not None
    for t in turns:
        if t.speaker not in SPEAKERS:
            raise RrrsError(f"Turn {t.turn}: speaker '{t.speaker}' is not therapist, patient or other.")
        if (t.start is not None) != timed or (timed and (t.end is None or t.end < t.start)):  # type: ignore[operator]
            raise RrrsError(f"Turn {t.turn}: every turn needs a start and an end not before it, or none does.")
        if not t.text.strip():
            raise RrrsError(f"Turn {t.turn} has no words.")


def attach(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, session_number: int,
           turns: Sequence[Turn], source: str, *, synthetic_only: bool = False) -> int:
    """Store `turns` as the session's transcript, replacing any earlier one; returns the number of turns.
    `synthetic_only` is demo mode without sign-in, which refuses (PermissionDeniedError): nothing guards the
    text there, and unlike an import a transcript cannot be shown to be the demo's."""
    if synthetic_only:
        raise PermissionDeniedError(rules.DEMO_NO_TRANSCRIPTS)
    rules.require_attach(con, who, dyad_id, session_number)
    _check_turns(turns)
    session_number = int(session_number)
    fmt = PurePath(source).suffix.lower().lstrip(".") or "turns"
    timed = turns[0].start is not None
    frame = pd.DataFrame({
        "dyad_id": dyad_id, "session_number": session_number, "turn": [t.turn for t in turns],
        "start_s": pd.array([t.start for t in turns], dtype="Float64"),
        "end_s": pd.array([t.end for t in turns], dtype="Float64"),
        "speaker": [t.speaker for t in turns], "label": [t.label for t in turns], "text": [t.text for t in turns]})
    key = [dyad_id, session_number]
    lake.no_inlining(con)
    with writing(con):
        rules.require_attach(con, who, dyad_id, session_number)
        replaced = bool(scalar(con, "SELECT count(*) FROM transcript WHERE dyad_id = ? AND session_number = ?", key))
        con.execute("DELETE FROM transcript_turn WHERE dyad_id = ? AND session_number = ?", key)
        con.execute("DELETE FROM transcript WHERE dyad_id = ? AND session_number = ?", key)
        con.register("_rrrs_transcript_turns", frame)
        try:
            con.execute("INSERT INTO transcript_turn SELECT dyad_id, session_number::INTEGER, turn::INTEGER, "
                        "start_s, end_s, speaker, label, text FROM _rrrs_transcript_turns")
        finally:
            con.unregister("_rrrs_transcript_turns")
        con.execute("INSERT INTO transcript VALUES (?, ?, ?, ?, ?, ?, ?, current_localtimestamp())",
                    [*key, PurePath(source).name or "transcript", fmt, len(turns), timed, who.subject])
    rules.record(con, who, "attach transcript", _target(dyad_id, session_number),
                 f"{len(turns)} turns ({fmt}, {'timed' if timed else 'no times'})"
                 + (", replacing the earlier transcript" if replaced else ""))
    return len(turns)


def has_session(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int) -> bool:
    """Whether the session is stored (for the demo import, which skips transcripts of absent sessions)."""
    return bool(scalar(con, "SELECT count(*) FROM session WHERE dyad_id = ? AND session_number = ?",
                       [dyad_id, int(session_number)]))


def has_transcript(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int) -> bool:
    """Whether the session has a transcript (no words, not audited: for deciding what a page offers)."""
    return bool(scalar(con, "SELECT count(*) FROM transcript WHERE dyad_id = ? AND session_number = ?",
                       [dyad_id, int(session_number)]))


def info(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int) -> dict[str, object] | None:
    """Where the session's transcript came from (file name, format, turns, timed, who, when); no words."""
    row = one(con, "SELECT source, format, n_turns, timed, attached_by, attached_at FROM transcript "
                   "WHERE dyad_id = ? AND session_number = ?", [dyad_id, int(session_number)])
    keys = ("source", "format", "n_turns", "timed", "attached_by", "attached_at")
    return None if row is None else dict(zip(keys, row, strict=True))


def _read(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, session_number: int,
          lo: float | None, hi: float | None, detail: str, action: str = "view transcript") -> pd.DataFrame:
    rules.require_read(con, who, dyad_id, session_number)
    frame = con.execute(_SELECT, {"dyad": dyad_id, "session": int(session_number), "lo": lo, "hi": hi}).df()
    rules.record(con, who, action, _target(dyad_id, session_number), f"{detail}: {len(frame)} turns")
    return frame[COLUMNS]


def turns(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, session_number: int, *,
          start: float | None = None, end: float | None = None) -> pd.DataFrame:
    """The session's turns (all, or those overlapping [start, end) seconds), in file order; audited.
    An untimed transcript has no turns in any time window."""
    if start is None and end is None:
        detail = "whole transcript"
    else:
        detail = f"minutes {_clock(start or 0)}-{'end' if end is None else _clock(end)}"
    return _read(con, who, dyad_id, session_number, start, end, detail)


def segment_turns(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, session_number: int,
                  segment: int) -> pd.DataFrame:
    """The turns overlapping segment `segment` (1-based, `segment_minutes` long); audited."""
    if isinstance(segment, bool) or not isinstance(segment, int | np.integer) or segment < 1:
        raise RrrsError(f"Segment {segment!r}: segments are numbered from 1.")
    rules.require_read(con, who, dyad_id, session_number)
    minutes = scalar(con, "SELECT segment_minutes FROM session WHERE dyad_id = ? AND session_number = ?",
                     [dyad_id, int(session_number)])
    width = 60.0 * int(minutes)  # type: ignore[call-overload]
    return _read(con, who, dyad_id, session_number, (int(segment) - 1) * width, int(segment) * width,
                 f"segment {segment}")


def export_csv(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, session_number: int) -> bytes:
    """The session's transcript as CSV (start,end,speaker,label,text), audited as an export."""
    frame = _read(con, who, dyad_id, session_number, None, None, "CSV", action="export transcript")
    return frame[["turn", "start", "end", "speaker", "label", "text"]].to_csv(index=False).encode("utf-8")


def to_turns(frame: pd.DataFrame) -> list[Turn]:
    """The rows of `turns`/`segment_turns` as `Turn`s (what the suggestions take); NaN times become None."""
    def time(value: object) -> float | None:
        return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]

    return [Turn(int(r.turn), time(r.start), time(r.end), str(r.speaker), str(r.label), str(r.text))
            for r in frame.itertuples(index=False)]


def search(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, query: str) -> pd.DataFrame:
    """Turns of the dyad's transcripts that contain `query` (any case), within the principal's scope (a coder:
    the sessions assigned to them); audited with the query's length and the number found, never its words."""
    p = rules.require_read(con, who, dyad_id)
    words = " ".join((query or "").split())
    if not words:
        raise RrrsError("Type a word or phrase to search the transcripts for.")
    if len(words) > MAX_QUERY:
        raise RrrsError(f"A search can be at most {MAX_QUERY} characters long.")
    pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    frame = con.execute(
        """
        SELECT session_number, turn, start_s AS "start", speaker, text FROM transcript_turn
        WHERE dyad_id = $dyad AND text ILIKE $pattern ESCAPE '\\'
          AND ($coder IS NULL OR session_number IN (SELECT session_number FROM coding_assignment
                                                    WHERE dyad_id = $dyad AND coder_id = $coder))
        ORDER BY session_number, turn LIMIT 1000""",
        {"dyad": dyad_id, "pattern": pattern, "coder": p.coder_id}).df()
    rules.record(con, who, "search transcripts", dyad_id,
                 f"a query of {len(words)} characters: {len(frame)} turns found")
    return frame[SEARCH_COLUMNS]


def delete(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, session_number: int) -> int:
    """Remove the session's transcript, every turn's row (not hidden: gone, on a shared store from old
    snapshots and data files too: `lake.purge`); admins only; audited. Returns the number of turns removed."""
    rules.require_admin(con, who, dyad_id, session_number)
    key = [dyad_id, int(session_number)]
    with writing(con):
        n = scalar(con, "SELECT count(*) FROM transcript_turn WHERE dyad_id = ? AND session_number = ?", key)
        if not scalar(con, "SELECT count(*) FROM transcript WHERE dyad_id = ? AND session_number = ?", key):
            raise NotFoundError(f"Dyad {dyad_id}, session {session_number} has no transcript.")
        con.execute("DELETE FROM transcript_turn WHERE dyad_id = ? AND session_number = ?", key)
        con.execute("DELETE FROM transcript WHERE dyad_id = ? AND session_number = ?", key)
    rules.record(con, who, "delete transcript", _target(dyad_id, session_number), f"{n} turns deleted")
    lake.purge(con)
    return int(n)  # type: ignore[call-overload]
