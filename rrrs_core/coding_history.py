"""The version history of a coding: who saved what when, what changed, and restoring an old version; plus
the look-ups the scoresheet uses to choose a coding.

Restoring never rewrites history: it saves a new version equal to the old one (same marks, ratings,
segment notes and status), with the usual optimistic-concurrency check.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from rrrs_core.coding_edit import SIGNS, CodingDraft, load_coding, load_version, save_coding
from rrrs_core.errors import RrrsError
from rrrs_core.permits import OPEN, Permit, require_coding
from rrrs_core.scope import CLINIC, Scope
from rrrs_core.store import one

NOTE_PREVIEW = 40


def _sign(clarity: str) -> str:
    return SIGNS.get(clarity, clarity)


def _rating(value: int | None) -> str:
    return "unrated" if value is None else str(value)


def _quote(text: str | None) -> str:
    if text is None:
        return "none"
    short = text if len(text) <= NOTE_PREVIEW else text[: NOTE_PREVIEW - 1] + "…"
    return f"'{short}'"


def diff(a: CodingDraft | None, b: CodingDraft) -> list[str]:
    """What changed from `a` to `b`, one short line per change, e.g. '+ seg 3 denial ✓',
    'rating therapist_contribution 2→4'; `a` None means `b` is the first version."""
    if a is None:
        return [f"new coding ({b.status}): {len(b.marks)} marks, {len(b.ratings)} ratings"
                + (f", {len(b.segment_notes)} segment notes" if b.segment_notes else "")]
    out: list[str] = []
    if a.status != b.status:
        out.append(f"status {a.status}→{b.status}")
    if bool(a.consensus) != bool(b.consensus):
        out.append(f"consensus {str(bool(a.consensus)).lower()}→{str(bool(b.consensus)).lower()}")
    for seg, code in sorted(set(a.marks) | set(b.marks)):
        old, new = a.marks.get((seg, code)), b.marks.get((seg, code))
        if old == new:
            continue
        if old is None:
            out.append(f"+ seg {seg} {code} {_sign(new)}")
        elif new is None:
            out.append(f"- seg {seg} {code} {_sign(old)}")
        else:
            out.append(f"seg {seg} {code} {_sign(old)}→{_sign(new)}")
    order = {item: i for i, item in enumerate(b.book.rating_items)}
    for item in sorted(set(a.ratings) | set(b.ratings), key=lambda k: (order.get(k, len(order)), k)):
        old, new = a.ratings.get(item), b.ratings.get(item)
        if old != new:
            out.append(f"rating {item} {_rating(old)}→{_rating(new)}")
    for seg in sorted(set(a.segment_notes) | set(b.segment_notes)):
        old, new = a.segment_notes.get(seg), b.segment_notes.get(seg)
        if old != new:
            out.append(f"note seg {seg} {_quote(old)}→{_quote(new)}")
    return out


def summary(changes: list[str], limit: int = 12) -> str:
    """A one-line change summary, shortened after `limit` items."""
    if not changes:
        return "no changes"
    shown = "; ".join(changes[:limit])
    return shown + (f"; … and {len(changes) - limit} more" if len(changes) > limit else "")


# Who stored a version, as a reader should see it: an imported coding names its import (source file or
# folder, as import_batch stored it), not the importing account ("cli"), which did not code anything.
SAVED_BY_SQL = ("CASE WHEN c.batch_id IS NULL THEN c.created_by "
                "ELSE 'import of ' || coalesce(b.source, 'batch ' || c.batch_id) END")
BATCH_JOIN = "LEFT JOIN import_batch b ON b.batch_id = c.batch_id"
C_KEY_SQL = "c.dyad_id = ? AND c.session_number = ? AND c.coder_id = ?"


def history(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int, coder_id: str, *,
            permit: Permit = OPEN) -> pd.DataFrame:
    """Every version of a coding, newest first: who saved it when, its status, and what changed."""
    require_coding(con, permit, dyad_id, int(session_number), coder_id)
    rows = con.execute(
        f"SELECT c.coding_id, c.version, c.is_current, c.status, c.created_at, {SAVED_BY_SQL}, "
        f"coalesce(c.change_note, '') FROM coding c {BATCH_JOIN} WHERE {C_KEY_SQL} ORDER BY c.version",
        [dyad_id, int(session_number), coder_id]).fetchall()
    out, previous = [], None
    for coding_id, version, current, status, at, by, note in rows:
        draft = load_version(con, int(coding_id))
        changes = diff(previous, draft)
        out.append({"version": int(version), "current": bool(current), "status": status, "saved_at": at,
                    "saved_by": by, "note": note, "marks": len(draft.marks), "changes": summary(changes)})
        previous = draft
    cols = ["version", "current", "status", "saved_at", "saved_by", "note", "marks", "changes"]
    return pd.DataFrame(out, columns=cols).iloc[::-1].reset_index(drop=True)


def restore(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int, coder_id: str, version: int, *,
            user: str, expected_version: int | None, permit: Permit = OPEN) -> int:
    """Save a new version equal to `version`; returns the new version number (the current one if the
    old version equals it). ConflictError if the coding changed since `expected_version` was opened;
    NotFoundError or PermissionDeniedError if the permit does not reach the coding."""
    old, _ = load_coding(con, dyad_id, session_number, coder_id, version=version, permit=permit)
    return save_coding(con, old, user=user, expected_version=expected_version, status=old.status,
                       change_note=f"restored version {version}", permit=permit)


# ---------------------------------------------------------------- look-ups for choosing a coding


def known_coders(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT DISTINCT coder_id FROM coding ORDER BY 1").fetchall()]


def dyads(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, coder_id: str | None = None) -> pd.DataFrame:
    """Dyads the user may code: within their scope, or for a coder only those with a session assigned to them."""
    where, params = scope.sql("therapist_id")
    return con.execute(
        f"SELECT dyad_id, therapist_id FROM dyad WHERE ({where} OR ? IS NOT NULL) AND (? IS NULL OR dyad_id IN "
        "(SELECT dyad_id FROM coding_assignment WHERE coder_id = ?)) ORDER BY dyad_id",
        [*params, coder_id, coder_id, coder_id]).df()


def sessions(con: duckdb.DuckDBPyConnection, dyad_id: str, coder_id: str | None = None) -> pd.DataFrame:
    """A dyad's sessions with the coders who coded each (current versions), for choosing what to code;
    for a coder, only the sessions assigned to them."""
    return con.execute(
        "SELECT s.session_number, s.session_date, s.segment_minutes, s.n_segments, "
        "list(c.coder_id ORDER BY c.coder_id) FILTER (WHERE c.coder_id IS NOT NULL) AS coders "
        "FROM session s LEFT JOIN coding c ON c.dyad_id = s.dyad_id AND c.session_number = s.session_number "
        "AND c.is_current WHERE s.dyad_id = ? AND (? IS NULL OR (s.dyad_id, s.session_number) IN "
        "(SELECT (dyad_id, session_number) FROM coding_assignment WHERE coder_id = ?)) "
        "GROUP BY ALL ORDER BY s.session_number", [dyad_id, coder_id, coder_id]).df()


def version_info(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int, coder_id: str,
                 version: int, *, permit: Permit = OPEN) -> tuple[str, str, dt.datetime]:
    """(status, who stored it, when) of one version: "saved by <user>", or "imported from <source>" for a
    version an import stored."""
    require_coding(con, permit, dyad_id, int(session_number), coder_id)
    row = one(con, "SELECT c.status, CASE WHEN c.batch_id IS NULL THEN 'saved by ' || c.created_by ELSE "
                   "'imported from ' || coalesce(b.source, 'batch ' || c.batch_id) END, c.created_at "
                   f"FROM coding c {BATCH_JOIN} WHERE {C_KEY_SQL} AND c.version = ?",
              [dyad_id, int(session_number), coder_id, version])
    if row is None:
        raise RrrsError(f"Dyad {dyad_id} session {session_number} by {coder_id} has no version {version}.")
    return row[0], row[1], row[2]
