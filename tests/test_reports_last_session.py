"""'Last session <date> (N days ago)' and the caseload flags on the PDFs, read back with pdftotext."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from rrrs_core.reports import dyad_report, therapist_report
from tests.builders import add_dyad, add_session, globals_, small_clinic

NOW = dt.datetime(2026, 2, 2, 9, 30)


def pdftotext(pdf: bytes, tmp_path: Path, last_page: int = 1) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    src = tmp_path / "report.pdf"
    src.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-f", "1", "-l", str(last_page), "-layout", str(src), "-"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return re.sub(r"\s+", " ", out)


@pytest.fixture
def stopped(clinic_con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """The small clinic (latest session 2026-01-26) plus D0030-like STOP: T1's dyad whose last two sessions
    had therapist contribution 4 and resolution 1, then 107 days without a session."""
    add_dyad(clinic_con, "STOP", "T1")
    last = dt.date(2026, 1, 26) - dt.timedelta(days=107)
    dates = [last - dt.timedelta(weeks=w) for w in (3, 2, 1, 0)]
    ratings = [globals_(r=4), globals_(r=4), globals_(r=1, tc=4), globals_(r=1, tc=4)]
    for n, (date, r) in enumerate(zip(dates, ratings, strict=True), start=1):
        add_session(clinic_con, "STOP", n, [(2, "complaint_therapist", "check")], r, session_date=date)
    return clinic_con


def test_dyad_cover_says_when_the_last_session_was_and_the_flags(stopped, tmp_path: Path) -> None:
    text = pdftotext(dyad_report(stopped, "STOP", generated_by="sup", now=NOW), tmp_path)
    assert "Last session 2025-10-11 (107 days ago), counted to 2026-01-26, the latest session date in the data" \
        in text
    assert "Caseload flags Ended after rupture (weight 4)" in text


def test_dyad_cover_of_an_active_dyad(clinic_con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    text = pdftotext(dyad_report(clinic_con, "D2", generated_by="sup", now=NOW), tmp_path)
    assert "Last session 2026-01-19 (7 days ago), counted to 2026-01-26" in text
    assert "Caseload flags none" in text


def test_therapist_caseload_table_has_last_session_and_status(stopped, tmp_path: Path) -> None:
    text = pdftotext(therapist_report(stopped, "T1", generated_by="sup", now=NOW), tmp_path, last_page=2)
    assert "2025-10-11 (107 days ago)" in text and "Ended" in text
    assert "2026-01-26 (0 days ago)" in text
    assert "Days are counted to 2026-01-26, the latest session date in the data" in text
    # STOP (ended after rupture, weight 4) ranks above D1 (3 + 2) only by score: 4 < 5, so D1 first.
    assert text.index("2026-01-26 (0 days ago)") < text.index("2025-10-11 (107 days ago)")


def test_small_clinic_is_what_these_tests_assume(con: duckdb.DuckDBPyConnection) -> None:
    small_clinic(con)
    assert con.execute("SELECT max(session_date) FROM session").fetchone()[0] == dt.date(2026, 1, 26)
