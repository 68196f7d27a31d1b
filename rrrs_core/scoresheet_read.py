"""Reading filled Excel 3RS scoresheets into 3RS tables rows, with every problem named by file [sheet],
Excel row, cell and value. Blocks are found by the labels in column A and the code keys in the key row
(see `scoresheet_layout`), so a coder who inserts a row or two does not break the reader.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from rrrs_core import codebook as cb
from rrrs_core.errors import Problem
from rrrs_core.importing import idrules, xlsx_limits
from rrrs_core.importing.format import FALSE_WORDS, TABLES, TRUE_WORDS, columns
from rrrs_core.importing.reader import cell_text
from rrrs_core.scoresheet_layout import (
    FIRST_CODE_COL,
    GLOBALS_LABEL,
    HEADER_FIELDS,
    KEY_LABEL,
    MAX_SEGMENTS,
    SEGMENT_LABEL,
    SHEET,
    SIGNIFICANCE_LABEL,
    TITLE,
)

NOTES = "segment_notes"
MAX_NOTE = 2000  # a segment note: a time stamp or a quote (a supervision note may hold 5000, `notes`)
SIGN_HELP = "use ✓ (meets criteria) or ✓- (unclear), or leave the cell blank"
INT_FIELDS = {"session_number": (1, 100000), "n_segments": (1, MAX_SEGMENTS), "segment_minutes": (1, 60)}


def norm(value: object) -> str:
    return re.sub(r"\s+", " ", str(value if value is not None else "")).strip().rstrip("*").strip().lower()


def _text(value: object) -> str | None:
    """A cell as the importer reads it (see `cell_text`), trimmed."""
    text = cell_text(value)
    return (text.strip() or None) if text is not None else None


def _int(value: object) -> int | None:
    text = _text(value)
    return int(text) if text is not None and re.fullmatch(r"[0-9]+", text) else None


@dataclass
class Where:
    """Where a frame row came from: file [sheet], Excel row, cell, and what it is on the sheet."""

    source: str
    row: int | None
    cell: str | None
    what: str = ""


@dataclass
class Sheets:
    """Rows for the 3RS tables read from scoresheets, with where each row came from."""

    rows: dict[str, list[list[str | None]]] = field(default_factory=lambda: {t: [] for t in (*TABLES, NOTES)})
    where: dict[str, list] = field(default_factory=lambda: {t: [] for t in TABLES})
    problems: list[Problem] = field(default_factory=list)

    def frames(self) -> dict[str, pd.DataFrame]:
        # '' is read as empty by the importer, like a blank cell
        out = {t: pd.DataFrame(self.rows[t], columns=list(columns(t)), dtype="object").fillna("") for t in TABLES}
        out[NOTES] = pd.DataFrame(self.rows[NOTES], columns=["dyad_id", "session_number", "coder_id", "segment",
                                                             "note"], dtype="object")
        return out


def _find_sheet(book, name: str, problems: list[Problem]):
    for ws in book.worksheets:
        if norm(ws.title) == SHEET.lower() or norm(ws["A1"].value) == TITLE.lower():
            return ws
    problems.append(Problem("error", name, None, None, None, f"no sheet named '{SHEET}'; the workbook has sheets: "
                            f"{', '.join(book.sheetnames)}. Start from the scoresheet template."))
    return None


def _too_big(ws, source: str, problems: list[Problem]) -> bool:
    """A scoresheet is one session: a cell far outside the template (say XFD1048576) would make the reader
    walk a million rows or sixteen thousand columns, so such a sheet is refused before it is read."""
    rows, cols = ws.max_row, ws.max_column
    if rows <= xlsx_limits.SCORESHEET_MAX_ROWS and cols <= xlsx_limits.SCORESHEET_MAX_COLUMNS:
        return False
    problems.append(Problem("error", source, None, f"{get_column_letter(cols)}{rows}", None,
                            f"the sheet reaches cell {get_column_letter(cols)}{rows}; a scoresheet holds one session "
                            f"(at most {xlsx_limits.SCORESHEET_MAX_ROWS} rows and "
                            f"{xlsx_limits.SCORESHEET_MAX_COLUMNS} columns): clear the cells outside the "
                            "scoresheet, or start from the template"))
    return True


class _Reader:
    """Reads one scoresheet sheet into `Sheets`."""

    def __init__(self, ws, source: str, out: Sheets):
        self.ws, self.source, self.out = ws, source, out
        self.labels = {r: norm(ws.cell(r, 1).value) for r in range(1, ws.max_row + 1)}

    def error(self, row: int | None, col: int | None, value: object, message: str) -> None:
        cell = f"{get_column_letter(col)}{row}" if row and col else None
        self.out.problems.append(Problem("error", self.source, row, cell, idrules.shown(_text(value)), message))

    def row_of(self, label: str, after: int = 0) -> int | None:
        return next((r for r, text in self.labels.items() if r > after and text == label.lower()), None)

    def read(self) -> None:
        grid = self.row_of(SEGMENT_LABEL)
        if grid is None:
            self.error(None, None, None, f"no segment grid: column A needs the '{SEGMENT_LABEL}' header row; "
                       "start from the scoresheet template")
            return
        head = self.header(grid)
        if head is None:
            return
        book, values, cells = head
        key = [values["dyad_id"], values["session_number"], values["coder_id"]]
        cols = self.code_columns(grid, book)
        if cols is None:
            return
        sig = self.row_of(SIGNIFICANCE_LABEL, grid) or self.ws.max_row + 1
        n_seg = _int(values["n_segments"])
        self.marks(grid, sig, cols, book, key, n_seg)
        self.ratings(sig, cols, book, key)
        self.out.rows["sessions"].append([values.get(c) for c in columns("sessions")])
        self.out.where["sessions"].append((self.source, cells))

    def header(self, grid: int) -> tuple[cb.Codebook, dict[str, str | None], dict[str, str]] | None:
        by_label = {norm(label): (fld, req) for fld, label, req in HEADER_FIELDS}
        by_label.update({fld: (fld, req) for fld, _, req in HEADER_FIELDS})
        values: dict[str, str | None] = {fld: None for fld, _, _ in HEADER_FIELDS}
        cells: dict[str, str] = {}
        for r in range(1, grid):
            if self.labels[r] in by_label:
                fld, _ = by_label[self.labels[r]]
                values[fld], cells[fld] = _text(self.ws.cell(r, 2).value), f"B{r}"
        ok = True
        for fld, label, req in HEADER_FIELDS:
            if fld not in cells:
                if req:
                    self.error(None, None, None, f"header row '{label}' not found in column A above the grid")
                    ok = False
                continue
            r, value = int(cells[fld][1:]), values[fld]
            if req and value is None:
                self.error(r, 2, None, f"{label} is required: fill in the header cell")
                ok = False
            elif fld in INT_FIELDS and value is not None:
                lo, hi = INT_FIELDS[fld]
                if _int(value) is None or not lo <= int(value) <= hi:
                    self.error(r, 2, value, f"{label} must be a whole number from {lo} to {hi}")
                    ok = False
            elif fld == "consensus" and value is not None and value.lower() not in TRUE_WORDS + FALSE_WORDS:
                self.error(r, 2, value, f"{label} must be yes or no")
                ok = False
        book = None
        if values["codebook"]:
            parts = values["codebook"].split()
            book = cb.CODEBOOKS.get((parts[0], parts[-1])) if parts else None
            if book is None:
                self.error(int(cells["codebook"][1:]), 2, values["codebook"], "unknown codebook; known: "
                           + ", ".join(f"{i} {v}" for i, v in cb.CODEBOOKS))
                ok = False
        if values["consensus"] is not None:
            values["consensus"] = "true" if values["consensus"].lower() in TRUE_WORDS else "false"
        return (book, values, cells) if ok and book else None

    def code_columns(self, grid: int, book: cb.Codebook) -> dict[int, str] | None:
        """Column -> code key (or 'note'), from the key row, else the label row."""
        key_row = grid + 1 if self.labels.get(grid + 1) == KEY_LABEL.lower() else None
        labels = {norm(c.label): c.key for c in book.codes}
        cols: dict[int, str] = {}
        for col in range(FIRST_CODE_COL, self.ws.max_column + 1):
            text = norm(self.ws.cell(key_row, col).value) if key_row else ""
            label = norm(self.ws.cell(grid, col).value)
            if book.has_code(text):
                cols[col] = text
            elif label in labels:
                cols[col] = labels[label]
            elif text == "note" or label.startswith("note"):
                cols[col] = "note"
        missing = [c.label for c in book.codes if c.key not in cols.values()]
        if missing:
            self.error(grid, None, None, "the grid has no column for: " + ", ".join(missing))
            return None
        return cols

    def marks(self, grid: int, sig: int, cols: dict[int, str], book: cb.Codebook, key: list, n_seg: int | None) -> None:
        first = grid + 2 if self.labels.get(grid + 1) == KEY_LABEL.lower() else grid + 1
        for r in range(first, sig):
            cells = {col: self.ws.cell(r, col).value for col in cols}
            filled = {col: v for col, v in cells.items() if _text(v) is not None}
            if not filled:
                continue
            seg = _int(self.ws.cell(r, 1).value)
            if seg is None or seg < 1:
                self.error(r, 1, self.ws.cell(r, 1).value, "segment number missing or not a whole number "
                           "(column A of a marked row)")
                continue
            for col, value in sorted(filled.items()):
                code = cols[col]
                if code == "note":
                    if len(_text(value) or "") > MAX_NOTE:
                        self.error(r, col, value, f"segment {seg} note: at most {MAX_NOTE} characters "
                                   f"(this one has {len(_text(value) or ''):,})")
                    else:
                        self.out.rows[NOTES].append([*key, str(seg), _text(value)])
                    continue
                label = book.code(code).label
                clarity = cb.CLARITY_ALIASES.get(_text(value).lower()) if isinstance(value, str) else None
                if clarity is None:
                    self.error(r, col, value, f"{label}, segment {seg}: not a 3RS sign; {SIGN_HELP}")
                elif n_seg is not None and seg > n_seg:
                    self.error(r, col, value, f"{label}, segment {seg}: marked in a row beyond the session's "
                               f"{n_seg} segments; mark within 1-{n_seg} or raise 'Number of segments'")
                else:
                    self.out.rows["marks"].append([*key, str(seg), code, clarity])
                    self.out.where["marks"].append(Where(self.source, r, f"{get_column_letter(col)}{r}",
                                                         f"{label}, segment {seg}"))

    def rating(self, r: int, col: int, item: str, what: str, key: list) -> None:
        value = self.ws.cell(r, col).value
        if _text(value) is None:
            return
        number = _int(value)
        if number is None or not 1 <= number <= 5:
            self.error(r, col, value, f"{what}: must be a whole number from 1 to 5")
            return
        self.out.rows["ratings"].append([*key, item, str(number)])
        self.out.where["ratings"].append(Where(self.source, r, f"{get_column_letter(col)}{r}", what))

    def ratings(self, sig: int, cols: dict[int, str], book: cb.Codebook, key: list) -> None:
        if sig <= self.ws.max_row:
            for col, code in sorted(cols.items()):
                if code != "note":
                    self.rating(sig, col, code, f"{book.code(code).label} significance", key)
        items = {norm(g.label): g for g in book.global_items} | {g.key: g for g in book.global_items}
        start = self.row_of(GLOBALS_LABEL, sig - 1) or sig
        for r in range(start + 1, self.ws.max_row + 1):
            item = items.get(self.labels.get(r, ""))
            if item:
                self.rating(r, 2, item.key, item.label, key)


def read_all(files: list[tuple[str, bytes]]) -> Sheets:
    out = Sheets()
    if not files:
        out.problems.append(Problem("error", "upload", None, None, None, "no scoresheets given"))
    for name, data in files:
        name = Path(name).name
        if refused := xlsx_limits.zip_problem(io.BytesIO(data), xlsx_limits.SCORESHEET_MAX_UNZIPPED):
            out.problems.append(Problem("error", name, None, None, None, refused))
            continue
        try:
            book = load_workbook(io.BytesIO(data), data_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is one clear message
            out.problems.append(Problem("error", name, None, None, None,
                                        f"not a readable .xlsx workbook ({type(exc).__name__})"))
            continue
        ws = _find_sheet(book, name, out.problems)
        if ws is not None and not _too_big(ws, f"{name} [{ws.title}]", out.problems):
            _Reader(ws, f"{name} [{ws.title}]", out).read()
    return out
