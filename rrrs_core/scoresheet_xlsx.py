"""The Excel 3RS scoresheet: a template to fill in, a reader, and import through the 3RS tables importer.

`template()` / `filled()` write a scoresheet (layout in `scoresheet_layout`); `read_scoresheets()` turns
filled ones into 3RS tables frames, naming file, sheet, cell and value for every problem; and
`import_scoresheets()` runs them through `import_tables` (same validation, consistency warnings and
all-or-nothing write as a 3RS tables import), with the importer's problems pointed back at the cells.
Segment notes travel with the scoresheet and are stored with newly written coding versions.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import duckdb
import pandas as pd
from openpyxl import load_workbook

from rrrs_core.access import Principal
from rrrs_core.coding_edit import CodingDraft, load_coding
from rrrs_core.coding_tables import table_of
from rrrs_core.errors import NotFoundError, Problem, ValidationError
from rrrs_core.importing import import_tables, xlsx_limits
from rrrs_core.importing.api import ImportReport, Progress, _noop
from rrrs_core.permits import OPEN, Permit
from rrrs_core.scoresheet_layout import HEADER_FIELDS, SHEET, write
from rrrs_core.scoresheet_read import NOTES, Sheets, norm, read_all
from rrrs_core.store import transaction

__all__ = ["NOTES", "filled", "import_scoresheet_paths", "import_scoresheets", "is_scoresheet",
           "read_scoresheets", "template"]


def template(*, dyad_id: str = "", session_number: int | None = None, session_date: dt.date | None = None,
             coder_id: str = "", segment_minutes: int = 5, n_segments: int = 10, therapist_id: str = "",
             patient_id: str | None = None, treatment: str | None = None, consensus: bool = False,
             draft: CodingDraft | None = None) -> bytes:
    """A blank scoresheet, its header prefilled with whatever is given (or a whole draft, marks included)."""
    d = draft or CodingDraft(dyad_id, session_number or 0, coder_id, therapist_id, session_date, segment_minutes,
                             n_segments, patient_id, treatment, consensus=consensus)
    return write(d)


def filled(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int, coder_id: str, *,
           permit: Permit = OPEN) -> bytes:
    """The stored current coding as a filled scoresheet; re-importing it unchanged changes nothing.
    It carries the patient id: NotFoundError or PermissionDeniedError when the permit does not reach it."""
    draft, version = load_coding(con, dyad_id, session_number, coder_id, permit=permit)
    if version is None:
        raise NotFoundError(f"No coding of dyad {dyad_id} session {session_number} by {coder_id}.")
    return write(draft)


def read_scoresheets(files: list[tuple[str, bytes]]) -> dict[str, pd.DataFrame]:
    """3RS tables frames (sessions, marks, ratings; plus segment_notes) from filled scoresheets.

    Raises ValidationError listing every problem in every file, each naming 'file [sheet]', the Excel row,
    the cell (e.g. 'F21') and the value."""
    sheets = read_all(files)
    if any(p.severity == "error" for p in sheets.problems):
        raise ValidationError(sheets.problems)
    return sheets.frames()


# ---------------------------------------------------------------- importing


def _label(files: list[tuple[str, bytes]]) -> str:
    names = [Path(n).name for n, _ in files]
    return names[0] if len(names) == 1 else f"{len(names)} scoresheets ({', '.join(names)})"


def _remap(p: Problem, label: str, sheets: Sheets) -> Problem:
    """Point an importer problem (3RS table, frame row, column) back at the scoresheet file and cell."""
    table = table_of(p.file)
    idx = p.row - 2 if p.row is not None else -1
    if table == "sessions" and 0 <= idx < len(sheets.where["sessions"]):
        source, cells = sheets.where["sessions"][idx]
        cell = cells.get(p.column or "") or cells.get("coder_id")
        row = int(cell[1:]) if cell else None
        label_of = {fld: lab for fld, lab, _ in HEADER_FIELDS}
        return Problem(p.severity, source, row, cell, p.value, f"{label_of.get(p.column or '', p.column)}: {p.message}")
    if table in ("marks", "ratings") and 0 <= idx < len(sheets.where[table]):
        w = sheets.where[table][idx]
        return Problem(p.severity, w.source, w.row, w.cell, p.value, f"{w.what}: {p.message}")
    return p


def _store_notes(con: duckdb.DuckDBPyConnection, notes: pd.DataFrame, batch_id: int | None, label: str) -> list[Problem]:
    """Attach segment notes to the codings this import wrote; warn where a coding was unchanged but its notes
    differ (notes alone never make a new version)."""
    wrote = con.execute("SELECT coding_id, dyad_id, session_number::VARCHAR, coder_id FROM coding "
                        "WHERE batch_id = ?", [batch_id]).fetchall()
    new_ids = {(d, s, c): i for i, d, s, c in wrote}
    rows = [[new_ids[(d, s, c)], int(seg), n] for d, s, c, seg, n in notes.itertuples(index=False)
            if (d, s, c) in new_ids]
    if rows:
        with transaction(con):
            con.executemany("INSERT INTO segment_note VALUES (?, ?, ?)", rows)
    warnings = []
    given = {}
    for d, s, c, seg, n in notes.itertuples(index=False):
        given.setdefault((d, s, c), {})[int(seg)] = n
    for key, wanted in given.items():
        if key in new_ids:
            continue
        stored = dict(con.execute(
            "SELECT n.segment, n.note FROM segment_note n JOIN coding c USING (coding_id) WHERE c.dyad_id = ? "
            "AND c.session_number::VARCHAR = ? AND c.coder_id = ? AND c.is_current", list(key)).fetchall())
        if stored != wanted:
            warnings.append(Problem("warning", label, None, "Note", None,
                                    f"dyad {key[0]} session {key[1]} by {key[2]}: marks and ratings are unchanged, "
                                    "so its segment notes were not stored (notes alone never make a new version); "
                                    "edit them on the scoresheet page"))
    return warnings


def import_scoresheets(con: duckdb.DuckDBPyConnection, files: list[tuple[str, bytes]], *, replace: bool = False,
                       user: str = "cli", dry_run: bool = False, progress: Progress = _noop,
                       synthetic_only: bool = False, writer: Principal | None = None) -> ImportReport:
    """Read filled scoresheets and import them like 3RS tables: any error in any file and nothing is written
    (ValidationError with every problem, each pointing at its file, sheet and cell).

    `writer` (the signed-in uploader; None for the CLI) stores only what they may write: a coder only the
    sessions assigned to them under their own coder id, a supervisor only inside their scope, and neither
    changes a patient id (`importing.permission`)."""
    sheets = read_all(files)
    if any(p.severity == "error" for p in sheets.problems):
        raise ValidationError(sheets.problems)
    label = _label(files)
    frames = sheets.frames()
    # Demo mode takes a scoresheet as demo data when it codes sessions the (synthetic) demo clinic already has,
    # as the scoresheet page's own editor does; a new session could be anyone's.
    synthetic = synthetic_only and _all_stored(con, frames["sessions"])
    try:
        report = import_tables(con, frames, label, replace=replace, user=user, dry_run=dry_run, progress=progress,
                               synthetic=synthetic, synthetic_only=synthetic_only, writer=writer)
    except ValidationError as exc:
        raise ValidationError([_remap(p, label, sheets) for p in exc.problems + exc.warnings]) from None
    report.warnings = [_remap(p, label, sheets) for p in report.warnings]
    if not dry_run:
        report.warnings += _store_notes(con, frames[NOTES], report.batch_id, label)
    return report


def _all_stored(con: duckdb.DuckDBPyConnection, sessions: pd.DataFrame) -> bool:
    """Are all these (dyad, session) already in the database? Unreadable session numbers count as new."""
    keys = sorted({f"{d}/{str(n).strip()}" for d, n in zip(sessions.dyad_id, sessions.session_number, strict=True)})
    stored = con.execute("SELECT count(*) FROM session WHERE list_contains(?, dyad_id || '/' || session_number)",
                         [keys]).fetchall()[0][0]
    return bool(keys) and stored == len(keys)


def import_scoresheet_paths(con: duckdb.DuckDBPyConnection, paths: list[str | Path], **kwargs) -> ImportReport:
    """`import_scoresheets` for files on disk (the CLI)."""
    return import_scoresheets(con, [(Path(p).name, Path(p).read_bytes()) for p in paths], **kwargs)


def is_scoresheet(data: bytes | str | Path) -> bool:
    """True for a workbook with a 'Scoresheet' sheet (as opposed to a 3RS tables workbook). A workbook too big
    to be a scoresheet is not opened (openpyxl reads a sheet without a size tag through just to open it)."""
    source = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    if xlsx_limits.zip_problem(source, xlsx_limits.SCORESHEET_MAX_UNZIPPED):
        return False
    try:
        book = load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data, read_only=True)
    except Exception:  # noqa: BLE001 - anything unreadable is simply not a scoresheet
        return False
    try:
        return any(norm(name) == SHEET.lower() for name in book.sheetnames)
    finally:
        book.close()
