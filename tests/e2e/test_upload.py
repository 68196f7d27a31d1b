"""Journey 4: upload a workbook on the Data page: a bad one is refused with its problems listed, a good one
imports. Changes the shared server's database, so it runs after the read-only journeys (writes_db) and uses
dyad, therapist and patient ids of its own."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from rrrs_core import store
from rrrs_core.importing import import_path
from tests.e2e.conftest import assert_no_exception, goto, grid_rows, shot, wait_ready
from tests.tables import read_ok, write_xlsx

pytestmark = [pytest.mark.browser, pytest.mark.writes_db]

NEW_DYADS = {"D1": "E2E-1", "D2": "E2E-2"}


def workbook_frames():
    """tests/data/tables_ok under new ids, so nothing collides with the fixture clinic."""
    frames = read_ok()
    for frame in frames.values():
        frame["dyad_id"] = frame.dyad_id.map(NEW_DYADS)
    sessions = frames["sessions"]
    sessions["therapist_id"] = sessions.therapist_id.map({"T1": "TE1", "T2": "TE2"})
    sessions["supervisor_id"] = sessions.supervisor_id.replace({"S1": "SE1"})
    sessions["patient_id"] = sessions.patient_id + "-E2E"
    return frames


def upload_and_import(page, path) -> None:
    goto(page, "data")  # a fresh Streamlit session: the uploader starts empty
    uploader = page.locator('[data-testid="stFileUploader"]').first
    uploader.locator('input[type="file"]').set_input_files(str(path))
    expect(uploader).to_contain_text(path.name)
    wait_ready(page)
    button = page.get_by_role("button", name="Import", exact=True)
    expect(button).to_be_enabled()
    button.click()
    wait_ready(page)


def test_bad_workbook_is_refused_then_good_one_imports(page, tmp_path) -> None:
    bad = workbook_frames()
    bad["marks"].loc[0, "code"] = "denail"
    bad["ratings"].loc[2, "rating"] = "7"
    upload_and_import(page, write_xlsx(tmp_path / "bad-3rs.xlsx", bad))
    main = page.locator('[data-testid="stMain"]')
    expect(main.locator('[data-testid="stAlert"]').filter(has_text="nothing was imported")).to_be_visible()
    report = grid_rows(page)
    values = {row[3] for row in report}  # file, row, column, value, problem
    assert "denail" in values and "7" in values, report
    assert any("unknown code" in row[4] for row in report), report
    assert_no_exception(page)
    shot(page, "journey4-1-upload-refused")

    goto(page, "dyad?dyad=E2E-1")  # nothing was written
    expect(main.locator('[data-testid="stAlert"]').filter(has_text="Not found or not permitted")).to_be_visible()

    upload_and_import(page, write_xlsx(tmp_path / "good-3rs.xlsx", workbook_frames()))
    success = main.locator('[data-testid="stAlert"]').filter(has_text="new codings")
    expect(success).to_be_visible()
    expect(success).to_contain_text("4 new codings")
    uploader = page.locator('[data-testid="stFileUploader"]').first
    expect(uploader).not_to_contain_text("good-3rs.xlsx")  # emptied: the same file cannot be imported twice
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_disabled()
    assert_no_exception(page)
    shot(page, "journey4-2-upload-imported")

    goto(page, "dyad?dyad=E2E-1")  # the import is visible everywhere at once
    expect(main).to_contain_text("Dyad E2E-1")
    expect(main).to_contain_text("TE1")
    wait_ready(page)
    assert_no_exception(page)
    shot(page, "journey4-3-imported-dyad")


def test_templates_download_on_click_and_import_cleanly(page, tmp_path) -> None:
    """The templates are built when clicked (not on every rerun): both downloads arrive whole."""
    goto(page, "data")
    wait_ready(page)
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="Excel template").click()
    book = tmp_path / info.value.suggested_filename
    info.value.save_as(book)
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="CSV templates (zip)").click()
    with zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes())) as zf:
        assert sorted(zf.namelist()) == ["marks.csv", "ratings.csv", "sessions.csv"]
    con = store.connect(tmp_path / "t.duckdb")
    assert import_path(con, book).counts.codings_new == 1
    assert_no_exception(page)


def test_summary_csv_is_built_on_click_with_every_metric(page) -> None:
    """The summary export is counted on the page and built when clicked, per-code segment counts included."""
    goto(page, "data")
    wait_ready(page)
    said = int(page.get_by_text("One row per coding").inner_text().split("(")[1].split()[0])
    with page.expect_download(timeout=30_000) as info:
        page.get_by_role("button", name="Summary CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) == said > 0
    assert list(rows[0])[:5] == ["dyad_id", "therapist_id", "session_number", "coder_id", "n_segments"]
    assert {"seg_denial", "seg_redirect_refocus", "therapist_contribution"} <= set(rows[0])
    assert any(int(r["seg_denial"]) > 0 for r in rows)
    shot(page, "journey4-4-summary-export")
    assert_no_exception(page)
