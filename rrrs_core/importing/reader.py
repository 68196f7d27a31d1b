"""Staging: read a CSV folder, an .xlsx workbook or DataFrames into text tables `stg_<name>` in DuckDB.

Everything is staged as text so that a bad value becomes a precise message instead of a parse failure;
`_row` is the row number a person sees in a spreadsheet (the header is row 1). The ratings are stored
compact (`compact`), and `stg_ratings` gives back their text as read.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path

import duckdb
import pandas as pd

from rrrs_core.errors import Problem
from rrrs_core.importing import compact, synthetic, xlsx_limits
from rrrs_core.importing.format import (
    OPTIONAL,
    REQUIRED,
    SELFREPORTS,
    SHEET_ROW,
    SYNTHETIC_MARKER,
    TABLES,
    StagedTable,
    columns,
)
from rrrs_core.store import scalar

Staged = tuple[dict[str, StagedTable], list[Problem], bool]
# Big tables whose check for stray spaces waits for their import summary (`importing.summary.SCREENS`): on a
# clean file, the usual case, the summary shows none can exist, and millions of rows are not scanned for them.
DEFER_TIDY = frozenset({"ratings", "marks"})


def _error(file: str, message: str, row: int | None = None, column: str | None = None,
           value: str | None = None) -> Problem:
    return Problem("error", file, row, column, value, message)


def _norm(name: object) -> str:
    return str(name if name is not None else "").strip().lower().replace(" ", "_")


UTF16_LE_BOM, UTF16_BE_BOM = b"\xff\xfe", b"\xfe\xff"
SAVE_AS_UTF8 = "save it as UTF-8 (in Excel: Save As, 'CSV UTF-8 (Comma delimited)')"


def _encoding(path: Path) -> str:
    """'utf-8' (with or without a byte-order mark) or 'utf-16' for UTF-16 little-endian with its byte-order
    mark, which is what Excel's "Unicode Text" writes; DuckDB reads both natively (no transcoded copy)."""
    with path.open("rb") as fh:
        return "utf-16" if fh.read(2) == UTF16_LE_BOM else "utf-8"


def _encoding_problem(path: Path, lines: int | None = None) -> str | None:
    """A plain account of why this file is not readable text, or None; reads the first `lines` lines (all by
    default, which is done only once DuckDB has failed: its own message gives a wrong line number and is
    easy to lose among its hints)."""
    with path.open("rb") as fh:
        head = fh.read(2)
        if head == UTF16_BE_BOM:
            return f"the file is UTF-16 big-endian, which rrrs does not read; {SAVE_AS_UTF8}"
        if head == UTF16_LE_BOM:
            return None
        fh.seek(0)
        for n, line in enumerate(fh, start=1):
            if lines is not None and n > lines:
                break
            if n == 1 and b"\x00" in line:
                return f"line 1 holds NUL bytes: the file looks like UTF-16 without a byte-order mark; {SAVE_AS_UTF8}"
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = line[exc.start:exc.start + 1]
                guess = " (it looks like Latin-1 / Windows-1252, e.g. an accented letter)" if bad >= b"\x80" else ""
                return f"line {n} is not valid UTF-8 (byte 0x{bad.hex()} at character {exc.start + 1}){guess}; " \
                    + SAVE_AS_UTF8
    return None


def _sniff_delimiter(path: Path, encoding: str = "utf-8") -> str:
    """Excel writes ';' in many locales: pick the delimiter that splits the header line most."""
    with path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, errors="replace") as fh:
        header = fh.readline()
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _is_blank(path: Path, encoding: str = "utf-8") -> bool:
    """Only a byte-order mark and whitespace? Reads up to the first other byte, not a 100 MB file."""
    if encoding != "utf-8":
        with path.open(encoding=encoding, errors="replace") as fh:
            return not fh.read(1 << 16).strip()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            if chunk.strip(b"\xef\xbb\xbf \r\n\t"):
                return False
    return True


def _header(path: Path, delim: str, encoding: str = "utf-8") -> list[str]:
    with path.open(encoding="utf-8-sig" if encoding == "utf-8" else encoding, errors="replace", newline="") as fh:
        return next(csv.reader(fh, delimiter=delim), [])


def messy(cols: list[str]) -> str:
    """SQL: does any of these text columns have stray spaces or an empty string?"""
    # trim() strips spaces only, so testing the first and last character finds the same rows, 5x cheaper.
    return " OR ".join(f'prefix("{c}", \' \') OR suffix("{c}", \' \') OR "{c}" = \'\'' for c in cols)


def _cleaned(present: list[str]) -> str:
    return ", ".join(f'nullif(trim("{c}"), \'\') AS "{c}"' for c in present)


def _tidy(con: duckdb.DuckDBPyConnection, raw: str, present: list[str]) -> bool:
    """Trim stray spaces and turn empty strings into NULL; True if anything had to be cleaned."""
    if not present or not scalar(con, f"SELECT count(*) FROM {raw} WHERE {messy(present)}"):
        return False
    # Materialise a cleaned copy once; clean files (the usual case) are left as read.
    con.execute(f"CREATE OR REPLACE TEMP TABLE {raw}_clean AS SELECT {_cleaned(present)} FROM {raw}")
    con.execute(f"DROP TABLE {raw}")
    con.execute(f"ALTER TABLE {raw}_clean RENAME TO {raw}")
    return True


def _view(con: duckdb.DuckDBPyConnection, table: str, raw: str, seen: set[str]) -> None:
    # A thin view, not a copy of a million-row table just to rename columns; `_row` is the spreadsheet row.
    select = ", ".join(f'"{c}" AS {c}' if c in seen else f"NULL::VARCHAR AS {c}" for c in columns(table))
    con.execute(f"CREATE OR REPLACE TEMP VIEW stg_{table} AS SELECT {SHEET_ROW} AS _row, {select} "
                f"FROM {raw}")


def tidy_deferred(con: duckdb.DuckDBPyConnection, table: str, items: Sequence[str]) -> bool:
    """Tidy a DEFER_TIDY table once its summary found something odd; True if it changed (rebuild the summary)."""
    if table == "ratings":  # compact: tidy its text, then compact that again (stg_ratings reads the new table)
        present = list(columns(table))
        if not scalar(con, f"SELECT count(*) FROM stg_ratings WHERE {messy(present)}"):
            return False
        con.execute(f"CREATE OR REPLACE TEMP TABLE txt_ratings AS SELECT {_cleaned(present)} FROM stg_ratings")
        compact.create(con, "txt_ratings", items)
        con.execute("DROP TABLE txt_ratings")
        return True
    raw = f"raw_{table}"
    seen = {r[0] for r in con.execute(f"SELECT * FROM {raw} LIMIT 0").description}
    present = [c for c in columns(table) if c in seen]
    if not _tidy(con, raw, present):
        return False
    _view(con, table, raw, seen)
    return True


def _header_ok(table: str, source: str, names: list[str], problems: list[Problem]) -> bool:
    """Every required column once; unknown columns are a warning."""
    seen: set[str] = set()
    for n in names:
        if n in seen:
            problems.append(_error(source, "column appears twice in the header", 1, n))
        seen.add(n)
    missing = [c for c in REQUIRED[table] if c not in seen]
    for c in missing:
        problems.append(_error(source, f"missing required column; {table} needs: {', '.join(REQUIRED[table])}",
                               1, c))
    unknown = [n for n in names if n and n not in columns(table)]
    for n in unknown:
        problems.append(Problem("warning", source, 1, n, None,
                                f"unknown column ignored; known columns: {', '.join(columns(table))}"))
    return not missing and len(seen) == len(names)


def _finish(con: duckdb.DuckDBPyConnection, table: str, source: str, raw: str,
            names: list[str], problems: list[Problem], items: Sequence[str],
            params: dict[str, object] | None = None) -> StagedTable | None:
    """Check the header, then project the raw relation onto the known columns (missing optional -> NULL).
    The ratings are stored compact (`compact`); `raw` may then be any relation, such as a read_csv call."""
    if not _header_ok(table, source, names, problems):
        return None
    seen = set(names)
    if table == "ratings":
        compact.create(con, raw, items, params)
        con.execute(f"CREATE OR REPLACE TEMP VIEW stg_ratings AS SELECT {SHEET_ROW} AS _row, "
                    f"{compact.text_select(items)} FROM {compact.TABLE}")
        raw = compact.TABLE
    else:
        present = [c for c in columns(table) if c in seen]
        if table not in DEFER_TIDY and table != SELFREPORTS:  # self-reports: `selfreports.screen` asks first
            _tidy(con, raw, present)
        _view(con, table, raw, seen)
    rows = con.execute(f"SELECT count(*) FROM {raw}").fetchall()[0][0]
    return StagedTable(table, source, int(rows))


def _stage_csv(con: duckdb.DuckDBPyConnection, table: str, path: Path, problems: list[Problem],
               items: Sequence[str]) -> StagedTable | None:
    source = path.name
    enc = _encoding(path)
    if _is_blank(path, enc):
        problems.append(_error(source, "the file is empty; it needs a header row: " + ", ".join(columns(table))))
        return None
    if wrong := _encoding_problem(path, lines=1):  # a header read through errors="replace" would mislead
        problems.append(_error(source, wrong, 1 if wrong.startswith("line ") else None))
        return None
    delim = _sniff_delimiter(path, enc)
    names = [_norm(n) for n in _header(path, delim, enc)]
    safe = [n if n else f"_blank_{i}" for i, n in enumerate(names)]
    read = ("read_csv($path, delim = $delim, header = true, all_varchar = true, null_padding = true, "
            "quote = '\"', escape = '\"', names = $names, encoding = $encoding)")
    params: dict[str, object] = {"path": str(path), "delim": delim, "names": safe, "encoding": enc}
    try:
        if table == "ratings":  # read straight into the compact table: no text copy of millions of rows
            return _finish(con, table, source, read, names, problems, items, params)
        con.execute(f"CREATE OR REPLACE TEMP TABLE raw_{table} AS SELECT * FROM {read}", params)
    except duckdb.Error as exc:
        if wrong := _encoding_problem(path):
            problems.append(_error(source, wrong, int(wrong.split()[1]) if wrong.startswith("line ") else None))
        else:
            first = str(exc).strip().splitlines()[0]
            problems.append(_error(source, f"could not read the file as CSV: {first}"))
        return None
    return _finish(con, table, source, f"raw_{table}", names, problems, items)


def cell_text(value: object) -> str | None:
    """Text as a person typed it: empty cells (None, NaN, NA) stay empty, 3.0 from Excel reads as 3."""
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def stage_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, source: str,
                problems: list[Problem], items: Sequence[str]) -> StagedTable | None:
    """Stage a DataFrame whose first row is data (row 2 in the sheet the user sees); `items` are the
    codebook's rating items (`compact`)."""
    names = [_norm(c) for c in frame.columns]
    text = pd.DataFrame({f"c{i}": frame.iloc[:, i].map(cell_text).astype("object")
                         for i in range(frame.shape[1])})
    text.columns = [n if n else f"_blank_{i}" for i, n in enumerate(names)]
    raw = "txt_ratings" if table == "ratings" else f"raw_{table}"  # ratings: text only until compacted
    con.register("frame_in", text)
    try:
        # Cast to text: pandas types a column with no values (an empty marks table) as a number.
        con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} AS SELECT COLUMNS(*)::VARCHAR FROM frame_in")
    finally:
        con.unregister("frame_in")
    try:
        return _finish(con, table, source, raw, names, problems, items)
    finally:
        con.execute("DROP TABLE IF EXISTS txt_ratings")


def _sheet_rows(ws, source: str, problems: list[Problem]) -> tuple[list[object], Iterator[tuple]] | None:
    """The header and a stream of data rows of a read-only sheet, never trusting its declared dimension
    (`xlsx_limits`): rows come as stored, cut to the header's width; wholly empty rows at the end are
    dropped. None (with a problem) for an empty, too wide or too long sheet."""
    ws.reset_dimensions()  # ignore <dimension ref="A1:XFD1048576">: read the cells that exist
    with ws.parent._archive.open(ws._worksheet_path) as raw:  # openpyxl 3.1's read-only internals (pinned)
        if (stored := xlsx_limits.stored_rows(raw, xlsx_limits.MAX_ROWS + 1)) > xlsx_limits.MAX_ROWS + 1:
            raise _TooLong(stored)
    header = list(next(ws.iter_rows(max_row=1, values_only=True), ()))
    while header and header[-1] is None:
        header.pop()
    if not header:
        return None
    if wide := xlsx_limits.too_wide(len(header)):
        problems.append(_error(source, wide, 1))
        return None
    width = len(header)
    rows = ws.iter_rows(min_row=2, max_col=width, values_only=True)  # never wider than the header

    def body() -> Iterator[tuple]:
        blank = (None,) * width
        pending = 0  # empty rows held back until a later row has values
        for n, row in enumerate(rows, start=2):
            cells = tuple(row[:width]) + blank[len(row):] if len(row) < width else tuple(row[:width])
            if all(v is None for v in cells):
                pending += 1  # a stray empty cell at row 1 048 576 costs a counter, not a million rows
                continue
            if n > xlsx_limits.MAX_ROWS + 1:
                raise _TooLong(n)
            yield from (blank for _ in range(pending))
            pending = 0
            yield cells

    return header, body()


class _TooLong(Exception):
    """More rows than `xlsx_limits.MAX_ROWS`: counted in the raw XML, or met while streaming."""


CHUNK = 20_000


def _stage_stream(con: duckdb.DuckDBPyConnection, table: str, header: list[object], rows: Iterator[tuple],
                  source: str, problems: list[Problem], items: Sequence[str]) -> StagedTable | None:
    """`stage_frame` for a sheet streamed in chunks: at most CHUNK rows of Python objects at a time."""
    names = [_norm(c) for c in header]
    safe = [n if n else f"_blank_{i}" for i, n in enumerate(names)]
    cols = [f"c{i}" for i in range(len(safe))]
    raw = "txt_ratings" if table == "ratings" else f"raw_{table}"  # ratings: text only until compacted
    con.execute(f"CREATE OR REPLACE TEMP TABLE {raw} (" + ", ".join(f'"{n}" VARCHAR' for n in safe) + ")")
    try:
        while chunk := list(islice(rows, CHUNK)):
            frame = pd.DataFrame({c: [cell_text(r[i]) for r in chunk] for i, c in enumerate(cols)}, dtype="object")
            con.register("chunk_in", frame)
            try:
                con.execute(f"INSERT INTO {raw} SELECT COLUMNS(*)::VARCHAR FROM chunk_in")
            finally:
                con.unregister("chunk_in")
        return _finish(con, table, source, raw, names, problems, items)
    finally:
        con.execute("DROP TABLE IF EXISTS txt_ratings")


def _stage_xlsx(con: duckdb.DuckDBPyConnection, path: Path, items: Sequence[str]) -> Staged:
    from openpyxl import load_workbook

    if refused := xlsx_limits.zip_problem(str(path)):
        return {}, [_error(path.name, refused)], False
    problems: list[Problem] = []
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is one clear message
        return {}, [_error(path.name, f"not a readable .xlsx workbook ({type(exc).__name__})")], False
    sheets = {_norm(name): name for name in book.sheetnames}
    staged: dict[str, StagedTable] = {}
    alone = SELFREPORTS in sheets and not any(t in sheets for t in TABLES)  # a self-reports workbook
    try:
        for table in (*TABLES, SELFREPORTS):
            if table not in sheets:
                if table != SELFREPORTS and not alone:
                    problems.append(_error(path.name, f"no sheet named '{table}'; the workbook has sheets: "
                                           f"{', '.join(book.sheetnames)}; expected: {', '.join(TABLES)} "
                                           f"(and optionally {SELFREPORTS}), or {SELFREPORTS} alone"))
                continue
            source = f"{path.name} [{sheets[table]}]"
            n = len(problems)
            try:
                read = _sheet_rows(book[sheets[table]], source, problems)
                if read is None:
                    if len(problems) == n:
                        problems.append(_error(source, "the sheet is empty; it needs a header row: "
                                               + ", ".join(columns(table))))
                    continue
                result = _stage_stream(con, table, *read, source, problems, items)
            except _TooLong:
                problems.append(_error(source, f"the sheet has more than {xlsx_limits.MAX_ROWS:,} rows; "
                                       f"{xlsx_limits.USE_CSV}"))
                continue
            if result:
                staged[table] = result
    finally:
        book.close()
    if alone:
        _stage_no_codings(con, path.name, staged, problems, items)
    return staged, problems, False  # the demo writes CSVs only: a workbook is never synthetic (`synthetic`)


def _stage_no_codings(con: duckdb.DuckDBPyConnection, where: str, staged: dict[str, StagedTable],
                      problems: list[Problem], items: Sequence[str]) -> None:
    """A self-reports-only import: the three 3RS tables staged empty, so every later step runs unchanged and
    writes no coding."""
    for table in TABLES:
        frame = pd.DataFrame({c: pd.Series([], dtype="object") for c in columns(table)})
        result = stage_frame(con, table, frame, f"{where} (no {table})", problems, items)
        if result:
            staged[table] = result


def _stage_folder(con: duckdb.DuckDBPyConnection, folder: Path, items: Sequence[str]) -> Staged:
    files = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    problems: list[Problem] = []
    staged: dict[str, StagedTable] = {}
    alone = f"{SELFREPORTS}.csv" in files and not any(f"{t}.csv" in files for t in TABLES)
    for table in (*TABLES, SELFREPORTS):
        path = files.get(f"{table}.csv")
        if path is None:
            if table != SELFREPORTS and not alone:
                problems.append(_error(f"{folder.name}/{table}.csv", "file not found; a 3RS tables folder needs "
                                       "sessions.csv, marks.csv and ratings.csv (marks/ratings may hold only a "
                                       f"header), or {SELFREPORTS}.csv alone for self-reports only"))
            continue
        result = _stage_csv(con, table, path, problems, items)
        if result:
            staged[table] = result
    if alone:
        _stage_no_codings(con, folder.name, staged, problems, items)
    marker = files.get(SYNTHETIC_MARKER.lower())
    return staged, problems, marker is not None and synthetic.verify(
        marker.read_bytes(), {t: files[f"{t}.csv"] for t in (*TABLES, SELFREPORTS) if f"{t}.csv" in files})


def stage_path(con: duckdb.DuckDBPyConnection, path: str | Path, items: Sequence[str]) -> Staged:
    """Stage a folder of CSVs or one workbook; returns staged tables, read problems, synthetic flag.
    `items` are the codebook's rating items, in order (`compact`)."""
    p = Path(path)
    if p.is_dir():
        return _stage_folder(con, p, items)
    if p.suffix.lower() in (".xlsx", ".xlsm") and p.is_file():
        return _stage_xlsx(con, p, items)
    if not p.exists():
        return {}, [_error(str(p), "no such file or folder")], False
    if p.suffix.lower() == ".csv" and p.stem.lower() not in TABLES:  # one CSV: self-reports on their own
        problems: list[Problem] = []
        staged: dict[str, StagedTable] = {}
        if result := _stage_csv(con, SELFREPORTS, p, problems, items):
            staged[SELFREPORTS] = result
        _stage_no_codings(con, p.name, staged, problems, items)
        return staged, problems, False
    return {}, [_error(p.name, "expected a folder with sessions.csv, marks.csv, ratings.csv (and optionally "
                       f"{SELFREPORTS}.csv), an .xlsx workbook with sheets sessions, marks, ratings (and optionally "
                       f"{SELFREPORTS}), or a {SELFREPORTS}.csv file on its own")], False


__all__ = ["OPTIONAL", "cell_text", "stage_frame", "stage_path"]
