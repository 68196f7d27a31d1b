"""Codings made in the app's scoresheet: load, check and save, with every earlier version kept.

A coding is identified by (dyad, session, coder). Each save writes a new version (marks, ratings and
segment notes) and leaves the earlier ones in place, no longer current, so nothing is ever lost; see
`coding_history` for the history, diffs and restoring. Saving is optimistic: the caller says which version
it opened (`expected_version`) and the save is refused if someone saved another one since.

Validation and the manual's consistency warnings are not re-implemented here: the coding is converted to
3RS tables and run through the importer as a dry run (`import_tables(..., dry_run=True)`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace

import duckdb
import pandas as pd

from rrrs_core import codebook as cb
from rrrs_core import permits
from rrrs_core.coding_tables import table_of
from rrrs_core.errors import ConflictError, Problem, RrrsError, ValidationError
from rrrs_core.importing import import_tables
from rrrs_core.importing.format import TABLES, columns
from rrrs_core.permits import OPEN, Permit
from rrrs_core.store import insert_ratings, next_id, one, scalar, writing
from rrrs_core.views import refresh_metrics

STATUSES = ("draft", "final")
SIGNS = {"check": "✓", "check_minus": "✓-"}
SOURCE = "scoresheet"
KEY_SQL = "dyad_id = ? AND session_number = ? AND coder_id = ?"
# What the importer's sessions columns are called on the scoresheet.
FIELD_LABELS = {
    "dyad_id": "Dyad", "therapist_id": "Therapist", "session_number": "Session number",
    "coder_id": "Coder", "n_segments": "Number of segments", "session_date": "Session date",
    "segment_minutes": "Segment length (minutes)", "supervisor_id": "Supervisor", "trainee": "Trainee",
    "patient_id": "Patient", "treatment": "Treatment", "consensus": "Consensus coding",
}


@dataclass
class CodingDraft:
    """One coding as the scoresheet holds it: header fields, marks, ratings and per-segment notes."""

    dyad_id: str
    session_number: int
    coder_id: str
    therapist_id: str = ""
    session_date: dt.date | None = None
    segment_minutes: int = 5
    n_segments: int = 10
    patient_id: str | None = None
    treatment: str | None = None
    supervisor_id: str | None = None
    trainee: bool | None = None
    marks: dict[tuple[int, str], str] = field(default_factory=dict)  # (segment, code) -> check|check_minus
    ratings: dict[str, int] = field(default_factory=dict)  # item -> 1..5; absent = not rated
    segment_notes: dict[int, str] = field(default_factory=dict)
    status: str = "draft"
    consensus: bool = False
    codebook_id: str = cb.DEFAULT.id
    codebook_version: str = cb.DEFAULT.version

    @property
    def book(self) -> cb.Codebook:
        return cb.get(self.codebook_id, self.codebook_version)

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.dyad_id, int(self.session_number), self.coder_id)

    def segment_label(self, segment: int) -> str:
        """Segments are labelled by minutes: segment 1 of 5-minute segments is '0-5'."""
        return f"{(segment - 1) * self.segment_minutes}-{segment * self.segment_minutes}"

    def normalized(self) -> CodingDraft:
        """Blank cells, unrated items and empty notes dropped; signs mapped to check / check_minus."""
        marks = {}
        for (seg, code), clarity in self.marks.items():
            value = cb.CLARITY_ALIASES.get(str(clarity or "").strip().lower()) if clarity else None
            if clarity and value is None:
                value = str(clarity)  # kept so validation can name it
            if value:
                marks[(int(seg), code)] = value
        ratings = {item: int(v) for item, v in self.ratings.items() if v is not None and not pd.isna(v)}
        notes = {int(s): str(n).strip() for s, n in self.segment_notes.items() if n and str(n).strip()}
        return replace(self, marks=marks, ratings=ratings, segment_notes=notes,
                       dyad_id=self.dyad_id.strip(), coder_id=self.coder_id.strip(),
                       therapist_id=(self.therapist_id or "").strip())

    def fingerprint(self) -> str:
        """Marks, ratings and consensus as one md5, as the importer fingerprints codings (importing/load.py)."""
        marks = ",".join(f"{s}:{c}:{v}" for (s, c), v in sorted(self.marks.items()))
        ratings = ",".join(f"{item}={v}" for item, v in sorted(self.ratings.items()))
        return hashlib.md5(f"{marks}|{ratings}|{str(bool(self.consensus)).lower()}".encode()).hexdigest()

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """The coding as 3RS tables (text cells, as a user would type them)."""
        key = [self.dyad_id, str(self.session_number), self.coder_id]
        session = {
            "dyad_id": self.dyad_id, "therapist_id": self.therapist_id, "session_number": str(self.session_number),
            "coder_id": self.coder_id, "n_segments": _text(self.n_segments),
            "session_date": self.session_date.isoformat() if self.session_date else None,
            "segment_minutes": _text(self.segment_minutes), "supervisor_id": self.supervisor_id or None,
            "trainee": None if self.trainee is None else str(bool(self.trainee)).lower(),
            "patient_id": self.patient_id or None, "treatment": self.treatment or None,
            "consensus": str(bool(self.consensus)).lower(),
        }
        rows = {  # '' is read as empty by the importer, like a blank cell
            "sessions": [[session[c] if session[c] is not None else "" for c in columns("sessions")]],
            "marks": [[*key, str(s), c, v] for (s, c), v in sorted(self.marks.items())],
            "ratings": [[*key, item, str(v)] for item, v in sorted(self.ratings.items(), key=self._item_order)],
        }
        return {t: pd.DataFrame(rows[t], columns=list(columns(t)), dtype="object") for t in TABLES}

    def _item_order(self, kv: tuple[str, int]) -> int:
        items = self.book.rating_items
        return items.index(kv[0]) if kv[0] in items else len(items)


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


# ---------------------------------------------------------------- reading


def header(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int | None, *,
           permit: Permit = OPEN) -> dict[str, object]:
    """Stored header fields for a dyad (and session), empty for ones not stored yet; NotFoundError for a
    stored one outside the permit."""
    out: dict[str, object] = {}
    row = one(con, "SELECT d.therapist_id, d.patient_id, d.treatment, t.supervisor_id, t.trainee FROM dyad d "
                   "LEFT JOIN therapist t USING (therapist_id) WHERE d.dyad_id = ?", [dyad_id])
    if row:
        permits.require(con, permit, dyad_id)
        out.update(zip(("therapist_id", "patient_id", "treatment", "supervisor_id", "trainee"), row, strict=True))
    if row and session_number is not None:
        row = one(con, "SELECT session_date, segment_minutes, n_segments FROM session "
                       "WHERE dyad_id = ? AND session_number = ?", [dyad_id, session_number])
        if row:
            permits.require(con, permit, dyad_id, session_number)
            out.update(zip(("session_date", "segment_minutes", "n_segments"), row, strict=True))
    return out


def load_version(con: duckdb.DuckDBPyConnection, coding_id: int) -> CodingDraft:
    """One stored coding version as a draft (header from the stored dyad and session)."""
    row = one(con, "SELECT dyad_id, session_number, coder_id, status, consensus, codebook_id, codebook_version "
                   "FROM coding WHERE coding_id = ?", [coding_id])
    if row is None:
        raise RrrsError(f"No coding {coding_id}.")
    marks = {(int(s), c): v for s, c, v in con.execute(
        "SELECT segment, code, clarity FROM mark WHERE coding_id = ?", [coding_id]).fetchall()}
    ratings = dict(con.execute("SELECT item, rating FROM rating WHERE coding_id = ?", [coding_id]).fetchall())
    notes = dict(con.execute("SELECT segment, note FROM segment_note WHERE coding_id = ?", [coding_id]).fetchall())
    return CodingDraft(row[0], int(row[1]), row[2], **header(con, row[0], int(row[1])), marks=marks,
                       ratings=ratings, segment_notes=notes, status=row[3], consensus=bool(row[4]),
                       codebook_id=row[5], codebook_version=row[6])


def load_coding(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int, coder_id: str,
                version: int | None = None, *, permit: Permit = OPEN) -> tuple[CodingDraft, int | None]:
    """The current (or a given) version of a coding and its version number; a blank draft and None if
    this coder has not coded this session yet (header filled from the stored dyad/session, if any).
    NotFoundError or PermissionDeniedError when the permit does not reach it (`permits.require_coding`)."""
    permits.require_coding(con, permit, dyad_id, int(session_number), coder_id)
    where = "version = ?" if version is not None else "is_current"
    params: list[object] = [dyad_id, int(session_number), coder_id] + ([version] if version is not None else [])
    row = one(con, f"SELECT coding_id, version FROM coding WHERE {KEY_SQL} AND {where}", params)
    if row is None:
        if version is not None:
            raise RrrsError(f"Dyad {dyad_id} session {session_number} by {coder_id} has no version {version}.")
        return CodingDraft(dyad_id, int(session_number), coder_id,
                           **{k: v for k, v in header(con, dyad_id, session_number).items() if v is not None}), None
    return load_version(con, int(row[0])), int(row[1])


# ---------------------------------------------------------------- checking


def check_coding(con: duckdb.DuckDBPyConnection, draft: CodingDraft) -> list[Problem]:
    """The importer's validation and the manual's consistency rules on this coding, described in scoresheet
    terms. Returns the warnings; raises ValidationError (problems described the same way) on errors."""
    d = draft.normalized()
    frames = d.to_frames()
    try:
        report = import_tables(con, frames, SOURCE, replace=True, user="check", dry_run=True, book=d.book)
    except ValidationError as exc:
        raise ValidationError([describe(p, d, frames) for p in exc.problems + exc.warnings]) from None
    return [describe(p, d, frames) for p in report.warnings]


def describe(p: Problem, draft: CodingDraft, frames: dict[str, pd.DataFrame]) -> Problem:
    """Translate an importer problem (table, row, column) into where it is on the scoresheet."""
    table = table_of(p.file)
    where = FIELD_LABELS.get(p.column or "", p.column)
    idx = (p.row - 2) if p.row is not None else None
    book = draft.book
    if table == "marks" and idx is not None and 0 <= idx < len(frames["marks"]):
        seg, code = int(frames["marks"].segment.iat[idx]), frames["marks"].code.iat[idx]
        name = book.code(code).label if book.has_code(code) else code
        where = f"segment {seg} ({draft.segment_label(seg)} min), {name}"
    elif table == "ratings" and idx is not None and 0 <= idx < len(frames["ratings"]):
        item = frames["ratings"].item.iat[idx]
        name = book.global_item(item).label if item in book.global_keys else (
            f"{book.code(item).label} significance" if book.has_code(item) else item)
        where = f"rating: {name}"
    return Problem(p.severity, SOURCE, None, where, p.value, p.message)


# ---------------------------------------------------------------- saving


def _current(con: duckdb.DuckDBPyConnection, key: tuple[str, int, str]) -> tuple | None:
    return one(con, f"SELECT coding_id, version, created_by, created_at FROM coding WHERE {KEY_SQL} AND is_current",
               list(key))


def conflict_message(key: tuple[str, int, str], current: tuple | None, expected: int | None) -> str:
    what = f"The coding of dyad {key[0]} session {key[1]} by {key[2]}"
    if current is None:
        return f"{what} (version {expected}) no longer exists; reload to see the current state."
    return (f"{what} was saved by {current[2]} at {current[3]:%Y-%m-%d %H:%M:%S} (version {current[1]}) after you "
            "opened it; reload to see their changes. Your changes were not saved.")


def _unchanged(con: duckdb.DuckDBPyConnection, coding_id: int, d: CodingDraft) -> bool:
    old = load_version(con, coding_id)
    return (old.fingerprint() == d.fingerprint() and old.status == d.status
            and old.segment_notes == d.segment_notes)


def require_save(con: duckdb.DuckDBPyConnection, permit: Permit, d: CodingDraft) -> None:
    """May the permit save this coding, creating its dyad, therapist and session if new?"""
    permits.require_coding_write(con, permit, *d.key)
    if not scalar(con, "SELECT count(*) FROM dyad WHERE dyad_id = ?", [d.dyad_id]):
        permits.require_new_dyad(con, permit, d.dyad_id, d.therapist_id, d.supervisor_id)


def _ensure_header(con: duckdb.DuckDBPyConnection, d: CodingDraft) -> None:
    """Create the therapist, dyad and session if new; stored ones are never changed from the scoresheet."""
    if not scalar(con, "SELECT count(*) FROM therapist WHERE therapist_id = ?", [d.therapist_id]):
        if d.supervisor_id and not scalar(con, "SELECT count(*) FROM therapist WHERE therapist_id = ?",
                                          [d.supervisor_id]):
            con.execute("INSERT INTO therapist VALUES (?, NULL, false)", [d.supervisor_id])
        con.execute("INSERT INTO therapist VALUES (?, ?, ?)",
                    [d.therapist_id, d.supervisor_id or None, bool(d.trainee)])
    if not scalar(con, "SELECT count(*) FROM dyad WHERE dyad_id = ?", [d.dyad_id]):
        con.execute("INSERT INTO dyad VALUES (?, ?, ?, ?)",
                    [d.dyad_id, d.therapist_id, d.patient_id or None, d.treatment or None])
    if not scalar(con, "SELECT count(*) FROM session WHERE dyad_id = ? AND session_number = ?",
                  [d.dyad_id, d.session_number]):
        con.execute("INSERT INTO session VALUES (?, ?, ?, ?, ?)",
                    [d.dyad_id, d.session_number, d.session_date, d.segment_minutes, d.n_segments])


def save_coding(con: duckdb.DuckDBPyConnection, draft: CodingDraft, *, user: str, expected_version: int | None,
                status: str | None = None, change_note: str | None = None, permit: Permit = OPEN) -> int:
    """Store the draft as the new current version and return its number (the current one if nothing changed).

    `expected_version` is the version the editor opened (None for a coding that did not exist); if another
    version has been saved since, ConflictError names who saved it and nothing is written. Invalid input
    raises ValidationError; the manual's consistency rules never block (see `check_coding`). A coding, dyad,
    therapist or session outside the `permit` raises NotFoundError or PermissionDeniedError (`require_save`),
    checked before anything is validated (so no message describes another user's data) and again in the
    transaction.
    """
    d = replace(draft.normalized(), status=status or draft.status)
    if d.status not in STATUSES:
        raise RrrsError(f"Status must be one of {', '.join(STATUSES)}, not '{d.status}'.")
    if not (user or "").strip():
        raise RrrsError("Say who is saving (user name).")
    require_save(con, permit, d)
    check_coding(con, d)
    try:
        with writing(con):  # the lock, across processes: the version check below sees every earlier save
            require_save(con, permit, d)
            cur = _current(con, d.key)
            if (cur[1] if cur else None) != expected_version:
                raise ConflictError(conflict_message(d.key, cur, expected_version))
            if cur is not None and _unchanged(con, int(cur[0]), d):
                return int(cur[1])
            _ensure_header(con, d)
            version = int(scalar(con, f"SELECT coalesce(max(version), 0) + 1 FROM coding WHERE {KEY_SQL}",
                                 list(d.key)))
            con.execute(f"UPDATE coding SET is_current = false WHERE {KEY_SQL} AND is_current", list(d.key))
            coding_id = next_id(con, "coding", "coding_id")
            con.execute(
                "INSERT INTO coding (coding_id, dyad_id, session_number, coder_id, version, is_current, status, "
                "consensus, codebook_id, codebook_version, content_hash, created_at, created_by, change_note) "
                "VALUES (?, ?, ?, ?, ?, true, ?, ?, ?, ?, ?, current_localtimestamp(), ?, ?)",
                [coding_id, *d.key, version, d.status, d.consensus, d.codebook_id, d.codebook_version, SOURCE,
                 user.strip(), change_note or ("created in the scoresheet" if cur is None
                                               else "edited in the scoresheet")])
            if d.marks:
                con.executemany("INSERT INTO mark VALUES (?, ?, ?, ?)",
                                [[coding_id, s, c, v] for (s, c), v in sorted(d.marks.items())])
            if d.ratings:
                insert_ratings(con, coding_id, d.ratings)
            if d.segment_notes:
                con.executemany("INSERT INTO segment_note VALUES (?, ?, ?)",
                                [[coding_id, s, n] for s, n in sorted(d.segment_notes.items())])
            refresh_metrics(con, [coding_id])  # the dashboards' derived metrics cache learns the new version
    except duckdb.TransactionException as exc:  # another connection committed the same rows first
        raise ConflictError(f"Someone else saved dyad {d.dyad_id} session {d.session_number} by {d.coder_id} "
                            "at the same moment; reload to see their changes. Your changes were not saved.") from exc
    return version
