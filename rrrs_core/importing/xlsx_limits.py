"""Limits on the .xlsx workbooks rrrs reads, checked before openpyxl parses a sheet.

An .xlsx file is a zip of XML. A 2.4 KB file can declare the sheet `A1:XFD1048576` (16 384 columns by a
million rows), and a small zip can inflate to gigabytes; a reader that trusts either allocates what the file
claims. So: the zip's own table of uncompressed sizes is checked first (it costs nothing to read), the
declared dimension is never used (rows are read as they are, only up to the columns the header names), and
rows are counted as they stream past. Each refusal names the file and sheet and says what to do instead.

The caps, and why:
- `MAX_ROWS` rows per sheet of a 3RS tables workbook: openpyxl parses about 10 000 rows a second, so the
  cap keeps an upload under half a minute; CSV (read by DuckDB) takes millions of rows in seconds.
- `MAX_COLUMNS` header columns: the widest 3RS table has 12.
- `MAX_UNZIPPED` bytes of XML in the whole workbook: room for `MAX_ROWS` rows of the widest table (about
  500 bytes a row as Excel writes it), and openpyxl reads a sheet without a `<dimension>` tag through once
  just to open it (about 6 s per 100 MB). `MAX_RATIO` refuses a zip bomb long before that. A workbook of
  a million rows is about 250 MB of XML: refused from the zip's directory in milliseconds.
- The raw XML's row elements are counted before a sheet is parsed (`stored_rows`), so a sheet of 200 001
  rows is refused in a fraction of a second instead of after a minute of parsing.
- Scoresheets are one session each: `SCORESHEET_MAX_ROWS` / `SCORESHEET_MAX_COLUMNS` are far above the
  template's size (about 100 rows, 40 columns).
"""

from __future__ import annotations

import re
import zipfile
from typing import IO

MAX_ROWS = 200_000
MAX_COLUMNS = 64
MAX_UNZIPPED = 128 * 1024 * 1024
MAX_RATIO = 200  # the XML of a real workbook compresses 5-20x; a bomb compresses 1000x
SCORESHEET_MAX_ROWS = 1_000
SCORESHEET_MAX_COLUMNS = 200
SCORESHEET_MAX_UNZIPPED = 20 * 1024 * 1024

USE_CSV = (f"a workbook sheet may hold at most {MAX_ROWS:,} rows; for more, upload the three CSV files "
           "(sessions.csv, marks.csv, ratings.csv), which have no such limit")


def zip_problem(source: IO[bytes] | str, max_unzipped: int = MAX_UNZIPPED) -> str | None:
    """Why this workbook must not be opened (too large once unzipped, or a zip bomb), or None.

    Reads only the zip's central directory: the sizes it declares are what the zip module will enforce
    when the members are read, so a lie there makes the read fail instead of growing."""
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return None  # not a zip at all: openpyxl says so in its own words
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > max_unzipped:
        return (f"the workbook unzips to {total / 2**20:,.0f} MB, more than the {max_unzipped / 2**20:,.0f} MB "
                "allowed; upload the tables as CSV files instead")
    worst = max((i.file_size / max(i.compress_size, 1) for i in infos if i.file_size > 1 << 20), default=0)
    if worst > MAX_RATIO or (packed and total / packed > MAX_RATIO and total > 1 << 20):
        return (f"the workbook's parts are compressed more than {MAX_RATIO}:1, which no real spreadsheet is "
                "(a 'zip bomb'); it was not opened")
    return None


_ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")


def stored_rows(stream: IO[bytes], stop_after: int) -> int:
    """How many row elements a worksheet's XML holds, counted in the raw bytes (about 0.1 s per 10 MB,
    against a minute for openpyxl to parse 200 000 rows), stopping once past `stop_after`. A real 1M-row
    workbook is refused in seconds; rows Excel stores without values count too, which only errs early."""
    count, tail = 0, b""
    while chunk := stream.read(1 << 20):
        data = tail + chunk
        cut = max(0, len(data) - 16)  # tags starting in the last 16 bytes are counted with the next read
        count += sum(1 for m in _ROW_TAG.finditer(data) if m.start() < cut)
        tail = data[cut:]
        if count > stop_after:
            return count
    return count + len(_ROW_TAG.findall(tail))


def too_wide(columns: int, max_columns: int = MAX_COLUMNS) -> str | None:
    if columns > max_columns:
        return (f"the header row has {columns:,} columns, more than the {max_columns} allowed; delete the "
                "extra columns")
    return None
