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
from rrrs_core.store import data_version, insert_ratings, next_id, one, reading, writing
from rrrs_core.views import cache_saved_coding

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
    # The stored version this draft was loaded from, as (coding_id, `content_digest` of what was loaded): a save
    # tells an unchanged draft from it without reading that version back (three table reads on a shared store).
    opened: tuple[int, str] | None = field(default=None, compare=False, repr=False)

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


# On the shared store every table a query reads costs about 10 ms of DuckLake metadata work (its file list,
# statistics and inlined rows, fetched from the catalog for each table scan, even inside a transaction),
# whatever the query; on the file well under 1 ms. So the reads below touch each table once where they can.
_HEADER = ("SELECT d.therapist_id, d.patient_id, d.treatment, t.supervisor_id, t.trainee, s.session_date, "
           "s.segment_minutes, s.n_segments, s.session_number IS NOT NULL FROM dyad d "
           "LEFT JOIN therapist t USING (therapist_id) "
           "LEFT JOIN session s ON s.dyad_id = d.dyad_id AND s.session_number = $s WHERE d.dyad_id = $d LIMIT 1")
_CODING = ("SELECT coding_id, version, dyad_id, session_number, coder_id, status, consensus, codebook_id, "
           "codebook_version FROM coding")


def _stored_header(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int | None
                   ) -> tuple[dict[str, object], permits.Facts]:
    """The stored header fields of a dyad (and session), unchecked, and what the permit checks need to know
    of them (`permits.Facts`: the dyad's therapist, None for no dyad, and whether the session is stored)."""
    rows = con.execute(_HEADER, {"d": dyad_id, "s": None if session_number is None else int(session_number)}
                       ).fetchall()
    if not rows:
        return {}, permits.Facts(None, False)
    row = rows[0]
    stored_session = session_number is not None and bool(row[8])
    out: dict[str, object] = dict(zip(("therapist_id", "patient_id", "treatment", "supervisor_id", "trainee"),
                                      row[:5], strict=True))
    if stored_session:
        out.update(zip(("session_date", "segment_minutes", "n_segments"), row[5:8], strict=True))
    return out, permits.Facts(str(row[0]), stored_session)


def header(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int | None, *,
           permit: Permit = OPEN) -> dict[str, object]:
    """Stored header fields for a dyad (and session), empty for ones not stored yet; NotFoundError for a
    stored one outside the permit. One query (the permit check reads the same row; a coder's assignments
    take a second one)."""
    out, f = _stored_header(con, dyad_id, session_number)
    if f.therapist is None:
        return {}
    stored_session = session_number if f.session else None
    if permit.coder_id is not None:
        permits.require(con, permit, dyad_id, stored_session)
    else:
        permits.check(permit, dyad_id, stored_session, f)
    return out


def _content(con: duckdb.DuckDBPyConnection, coding_id: int
             ) -> tuple[dict[tuple[int, str], str], dict[str, int], dict[int, str]]:
    """One stored version's marks, ratings and segment notes."""
    marks = {(int(s), c): v for s, c, v in con.execute(
        "SELECT segment, code, clarity FROM mark WHERE coding_id = ?", [coding_id]).fetchall()}
    ratings = dict(con.execute("SELECT item, rating FROM rating WHERE coding_id = ?", [coding_id]).fetchall())
    notes = dict(con.execute("SELECT segment, note FROM segment_note WHERE coding_id = ?", [coding_id]).fetchall())
    return marks, ratings, notes


def content_digest(marks: dict[tuple[int, str], str], ratings: dict[str, int], notes: dict[int, str]) -> str:
    """One digest of a coding's marks, ratings and segment notes (what `_unchanged` compares)."""
    return hashlib.md5(repr((sorted(marks.items()), sorted(ratings.items()), sorted(notes.items()))).encode()
                       ).hexdigest()


def _draft(con: duckdb.DuckDBPyConnection, row: tuple, stored: dict[str, object]) -> CodingDraft:
    """A draft from a `_CODING` row, its content and its stored header."""
    marks, ratings, notes = _content(con, int(row[0]))
    return CodingDraft(row[2], int(row[3]), row[4], **stored, marks=marks, ratings=ratings, segment_notes=notes,
                       status=row[5], consensus=bool(row[6]), codebook_id=row[7], codebook_version=row[8],
                       opened=(int(row[0]), content_digest(marks, ratings, notes)))


def load_version(con: duckdb.DuckDBPyConnection, coding_id: int) -> CodingDraft:
    """One stored coding version as a draft (header from the stored dyad and session), read in one
    transaction (one snapshot; on the shared store one metadata read for all its queries)."""
    with reading(con):
        row = one(con, f"{_CODING} WHERE coding_id = ?", [coding_id])
        if row is None:
            raise RrrsError(f"No coding {coding_id}.")
        return _draft(con, row, _stored_header(con, row[2], int(row[3]))[0])


def load_coding(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int, coder_id: str,
                version: int | None = None, *, permit: Permit = OPEN) -> tuple[CodingDraft, int | None]:
    """The current (or a given) version of a coding and its version number; a blank draft and None if
    this coder has not coded this session yet (header filled from the stored dyad/session, if any).
    NotFoundError or PermissionDeniedError when the permit does not reach it (`permits.require_coding`)."""
    number = int(session_number)
    with reading(con):  # one snapshot for the checks and the reads
        stored, f = _stored_header(con, dyad_id, number)
        # The header's row says all a non-coder's permit check needs; a coder's also needs their assignments.
        permits.require_coding(con, permit, dyad_id, number, coder_id, known=f if permit.coder_id is None else None)
        where = "version = ?" if version is not None else "is_current"
        params: list[object] = [dyad_id, number, coder_id] + ([version] if version is not None else [])
        row = one(con, f"{_CODING} WHERE {KEY_SQL} AND {where}", params)
        if row is None:
            if version is not None:
                raise RrrsError(f"Dyad {dyad_id} session {session_number} by {coder_id} has no version {version}.")
            return CodingDraft(dyad_id, number, coder_id, **{k: v for k, v in stored.items() if v is not None}), None
        return _draft(con, row, stored), int(row[1])


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


_VERSIONS = ("SELECT coding_id, version, created_by, created_at, is_current, status, consensus FROM coding "
             f"WHERE {KEY_SQL}")


def _current(con: duckdb.DuckDBPyConnection, key: tuple[str, int, str]) -> tuple[tuple | None, int]:
    """The current version as (coding_id, version, created_by, created_at, is_current, status, consensus),
    None if there is none, and the number the next version takes: one read of the coding's versions."""
    rows = con.execute(_VERSIONS, list(key)).fetchall()
    current = next((r for r in rows if r[4]), None)
    return current, max((int(r[1]) for r in rows), default=0) + 1


def conflict_message(key: tuple[str, int, str], current: tuple | None, expected: int | None) -> str:
    what = f"The coding of dyad {key[0]} session {key[1]} by {key[2]}"
    if current is None:
        return f"{what} (version {expected}) no longer exists; reload to see the current state."
    return (f"{what} was saved by {current[2]} at {current[3]:%Y-%m-%d %H:%M:%S} (version {current[1]}) after you "
            "opened it; reload to see their changes. Your changes were not saved.")


def _unchanged(con: duckdb.DuckDBPyConnection, current: tuple, d: CodingDraft) -> bool:
    """Does the draft hold what the current version (a `_current` row) holds? Its header is not compared:
    a save never changes a stored dyad or session. A draft loaded from that version (`opened`) is compared
    with what was loaded; versions never change once stored."""
    if d.status != current[5] or bool(d.consensus) != bool(current[6]):
        return False
    if d.opened is not None and d.opened[0] == int(current[0]):
        return content_digest(d.marks, d.ratings, d.segment_notes) == d.opened[1]
    marks, ratings, notes = _content(con, int(current[0]))
    return content_digest(d.marks, d.ratings, d.segment_notes) == content_digest(marks, ratings, notes)


def require_save(con: duckdb.DuckDBPyConnection, permit: Permit, d: CodingDraft) -> permits.Facts:
    """May the permit save this coding, creating its dyad, therapist and session if new? Returns what it
    found of the stored dyad and session."""
    f = permits.require_coding_write(con, permit, *d.key)
    if f.therapist is None:
        permits.require_new_dyad(con, permit, d.dyad_id, d.therapist_id, d.supervisor_id)
    return f


_STORED = ("SELECT (SELECT count(*) FROM therapist WHERE therapist_id = $t), "
           "(SELECT count(*) FROM therapist WHERE therapist_id = $sup), (SELECT count(*) FROM dyad WHERE dyad_id = $d), "
           "(SELECT count(*) FROM session WHERE dyad_id = $d AND session_number = $s)")


def _ensure_header(con: duckdb.DuckDBPyConnection, d: CodingDraft, f: permits.Facts) -> None:
    """Create the therapist, dyad and session if new; stored ones are never changed from the scoresheet.
    `f` is what `require_save` found in this transaction: a stored session of a stored dyad of this
    therapist (the usual save) needs nothing created, and no further read."""
    if f.session and f.therapist == d.therapist_id:
        return
    therapist, supervisor, dyad, session = con.execute(_STORED, {
        "t": d.therapist_id, "sup": d.supervisor_id, "d": d.dyad_id, "s": d.session_number}).fetchall()[0]
    if not therapist:
        if d.supervisor_id and not supervisor:
            con.execute("INSERT INTO therapist VALUES (?, NULL, false)", [d.supervisor_id])
        con.execute("INSERT INTO therapist VALUES (?, ?, ?)",
                    [d.therapist_id, d.supervisor_id or None, bool(d.trainee)])
    if not dyad:
        con.execute("INSERT INTO dyad VALUES (?, ?, ?, ?)",
                    [d.dyad_id, d.therapist_id, d.patient_id or None, d.treatment or None])
    if not session:
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
    seen = data_version(con)
    with reading(con):  # one snapshot (on a shared store, one read of each table's metadata) for both
        found = require_save(con, permit, d)
        check_coding(con, d)  # before the lock: validating takes a while and needs no lock
    try:
        with writing(con):  # the lock, across processes: the version check below sees every earlier save
            if data_version(con) != seen:  # data written since the check above: the permit is checked again
                found = require_save(con, permit, d)
            cur, version = _current(con, d.key)
            if (cur[1] if cur else None) != expected_version:
                raise ConflictError(conflict_message(d.key, cur, expected_version))
            if cur is not None and _unchanged(con, cur, d):
                return int(cur[1])
            _ensure_header(con, d, found)
            con.execute(f"UPDATE coding SET is_current = false WHERE {KEY_SQL} AND is_current", list(d.key))
            coding_id = next_id(con, "coding", "coding_id")
            con.execute(
                "INSERT INTO coding (coding_id, dyad_id, session_number, coder_id, version, is_current, status, "
                "consensus, codebook_id, codebook_version, content_hash, created_at, created_by, change_note) "
                "VALUES (?, ?, ?, ?, ?, true, ?, ?, ?, ?, ?, current_localtimestamp(), ?, ?)",
                [coding_id, *d.key, version, d.status, d.consensus, d.codebook_id, d.codebook_version, SOURCE,
                 user.strip(), change_note or ("created in the scoresheet" if cur is None
                                               else "edited in the scoresheet")])
            if d.marks:  # one statement, not one a row: each is a DuckLake insert on the shared store
                marks = sorted(d.marks.items())
                con.execute("INSERT INTO mark SELECT ?, unnest(?::INTEGER[]), unnest(?::VARCHAR[]), "
                            "unnest(?::VARCHAR[])", [coding_id, [s for (s, _), _ in marks],
                                                     [c for (_, c), _ in marks], [v for _, v in marks]])
            if d.ratings:
                insert_ratings(con, coding_id, d.ratings)
            if d.segment_notes:
                notes = sorted(d.segment_notes.items())
                con.execute("INSERT INTO segment_note SELECT ?, unnest(?::INTEGER[]), unnest(?::VARCHAR[])",
                            [coding_id, [s for s, _ in notes], [n for _, n in notes]])
            # The dashboards' derived metrics cache learns the new version. Added, not refreshed (a delete
            # first would cost a scan): the id is new, so the cache has no row for it.
            cache_saved_coding(con, coding_id, d.marks, d.ratings, d.book)
    except duckdb.TransactionException as exc:  # another connection committed the same rows first
        raise ConflictError(f"Someone else saved dyad {d.dyad_id} session {d.session_number} by {d.coder_id} "
                            "at the same moment; reload to see their changes. Your changes were not saved.") from exc
    return version
