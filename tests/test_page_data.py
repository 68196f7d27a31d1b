"""Data page: uploads with a full validation report, templates, summary export."""

from __future__ import annotations

import io
import zipfile

import pytest

from rrrs_core import store
from rrrs_core.importing import import_path, templates
from tests.apptest import all_text, headers, open_page
from tests.tables import OK, read_ok


def uploads(frames=None):
    if frames is None:
        return [(f"{t}.csv", (OK / f"{t}.csv").read_bytes(), "text/csv") for t in ("sessions", "marks", "ratings")]
    return [(f"{t}.csv", f.to_csv(index=False).encode(), "text/csv") for t, f in frames.items()]


def test_empty_database_offers_upload_and_templates(monkeypatch, tmp_path):
    at = open_page(monkeypatch, tmp_path / "e.duckdb", "data")
    assert not at.exception
    assert at.get("file_uploader")
    assert [b.label for b in at.get("download_button")] == ["CSV templates (zip)", "Excel template"]
    assert "No coded sessions yet" in all_text(at)


@pytest.mark.both_backends
def test_bad_upload_lists_every_problem_and_writes_nothing(monkeypatch, empty_db):
    db = empty_db[0]
    frames = read_ok()
    frames["marks"].loc[0, "code"] = "denail"
    frames["ratings"].loc[1, "rating"] = "9"
    at = open_page(monkeypatch, db, "data")
    at.get("file_uploader")[0].set_value(uploads(frames)).run()
    at.button[1].click().run()
    assert not at.exception
    text = all_text(at)
    assert "nothing was imported" in text
    assert "denail" in text and "unknown code" in text
    report = at.dataframe[0].value
    assert {"file", "row", "column", "value", "problem"} <= set(report.columns)
    assert headers(at.dataframe[0]) == ["File", "Row", "Column", "Value", "Problem"]
    assert ("ratings.csv", 3, "rating", "9") in set(zip(report.file, report.row, report.column, report.value,
                                                        strict=True))
    con = store.connect(db)
    assert store.scalar(con, "SELECT count(*) FROM coding") == 0


def test_demo_mode_refuses_data_not_marked_synthetic_and_keeps_running(monkeypatch, tmp_path):
    """Before, demo mode imported it and then locked the app ('holds non-demo data') without showing the report."""
    monkeypatch.delenv("RRRS_FORCE_DEMO", raising=False)
    db = tmp_path / "d.duckdb"
    at = open_page(monkeypatch, db, "data")
    assert "imports only synthetic demo data" in all_text(at)
    at.get("file_uploader")[0].set_value(uploads()).run()
    at.button[1].click().run()
    assert not at.exception
    text = all_text(at)
    assert "nothing was imported" in text and "not marked as synthetic demo data" in text
    assert at.dataframe[0].value.file.tolist() == ["sessions.csv, marks.csv, ratings.csv"]  # the upload, by name
    assert "holds non-demo data" not in text
    assert store.scalar(store.connect(db), "SELECT count(*) FROM coding") == 0


def test_demo_mode_imports_csvs_uploaded_with_the_synthetic_marker(monkeypatch, tmp_path):
    monkeypatch.delenv("RRRS_FORCE_DEMO", raising=False)
    db = tmp_path / "d.duckdb"
    at = open_page(monkeypatch, db, "data")
    from rrrs_core import demo

    demo.write(tmp_path / "demo", n_dyads=2)  # the generator's CSVs and its signed marker, uploaded unchanged
    files = [(p.name, p.read_bytes(), "text/plain" if p.suffix == ".txt" else "text/csv")
             for p in sorted((tmp_path / "demo").iterdir())]
    at.get("file_uploader")[0].set_value(files).run()
    at.button[1].click().run()
    assert not at.exception
    # The Markdown source: the summary names uploaded files, so it is escaped (`rrrs_ui.text.md`).
    assert "new codings" in at.success[0].value and r"\[synthetic demo data\]" in at.success[0].value
    at.run()  # the next run is still allowed in demo mode
    assert "holds non-demo data" not in all_text(at)


@pytest.mark.both_backends
def test_good_upload_imports_and_reports_warnings(monkeypatch, empty_db):
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")  # the upload is not demo data: demo mode would stop after it
    db = empty_db[0]
    at = open_page(monkeypatch, db, "data")
    at.get("file_uploader")[0].set_value(uploads()).run()
    at.button[1].click().run()
    assert not at.exception
    text = all_text(at)
    assert "4 new codings" in text and "warnings" in text
    assert "Summary CSV" in [b.label for b in at.get("download_button")]
    assert headers(at.dataframe[0]) == ["File", "Row", "Column", "Value", "Problem"]  # the warnings


def test_uploader_is_emptied_after_an_import_and_the_report_stays(monkeypatch, tmp_path):
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")
    at = open_page(monkeypatch, tmp_path / "d.duckdb", "data")
    at.get("file_uploader")[0].set_value(uploads()).run()
    assert at.button[1].label == "Import" and not at.button[1].disabled
    at.checkbox(key="data_replace").check().run()
    at.button[1].click().run()
    assert not at.exception
    assert not at.get("file_uploader")[0].value  # a fresh, empty uploader: nothing to import twice
    assert not at.checkbox(key="data_replace").value  # replacing stored codings is asked for each time
    assert at.button[0].disabled and at.button[1].disabled
    assert "4 new codings" in at.success[0].value
    assert "empty again" in all_text(at) and len(at.dataframe) == 1  # the report and its warnings stay
    at.run()  # another click elsewhere: the report is still there
    assert "4 new codings" in at.success[0].value
    at.get("file_uploader")[0].set_value(uploads()).run()  # the next files: the old report goes
    assert not at.success and not at.dataframe


def test_check_only_keeps_the_files_for_the_import(monkeypatch, tmp_path):
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")  # not demo data: demo mode proper refuses it
    at = open_page(monkeypatch, tmp_path / "d.duckdb", "data")
    at.get("file_uploader")[0].set_value(uploads()).run()
    at.button[0].click().run()
    assert "No errors: this upload can be imported." in all_text(at)
    assert len(at.get("file_uploader")[0].value) == 3 and not at.button[1].disabled


@pytest.mark.both_backends
def test_check_only_is_a_dry_run(monkeypatch, empty_db):
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")  # not demo data: demo mode proper refuses it
    db = empty_db[0]
    at = open_page(monkeypatch, db, "data")
    at.get("file_uploader")[0].set_value(uploads()).run()
    at.button[0].click().run()
    assert "No errors: this upload can be imported." in all_text(at)
    assert store.scalar(store.connect(db), "SELECT count(*) FROM coding") == 0


@pytest.mark.both_backends
def test_fixture_database_offers_summary_export(monkeypatch, clinic_db):
    at = open_page(monkeypatch, clinic_db, "data")
    assert not at.exception
    assert "11 codings" in all_text(at)


def test_templates_import_cleanly(con, tmp_path):
    with zipfile.ZipFile(io.BytesIO(templates.csv_zip())) as zf:
        zf.extractall(tmp_path / "tpl")
    report = import_path(con, tmp_path / "tpl")
    assert report.counts.codings_new == 1 and not report.warnings
    (tmp_path / "t.xlsx").write_bytes(templates.xlsx())
    assert import_path(con, tmp_path / "t.xlsx").counts.codings_unchanged == 1
