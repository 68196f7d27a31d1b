"""Self-report entry page in AppTest (issue 18): entering a paper SRS, the alert it raises, replacing a stored
form, every problem named with nothing written, and the scoping: own dyads for a therapist, none for QI."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from rrrs_core import access, store
from tests.apptest import all_text, open_page
from tests.builders import add_selfreport, srs
from tests.test_page_shell import page_files, request
from tests.test_roles import run_as

SRS_LABELS = ("Relationship", "Goals and topics", "Approach or method", "Overall")


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = store.connect(db)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def fill_srs(at: AppTest, values: tuple[float, ...]) -> AppTest:
    for label, value in zip(SRS_LABELS, values, strict=True):
        next(n for n in at.number_input if n.label == label).set_value(value)
    next(b for b in at.button if b.label == "Save form").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_form(monkeypatch: pytest.MonkeyPatch, db: Path, **params: str) -> AppTest:
    at = open_page(monkeypatch, db, "selfreport", params)
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def db(clinic_db: Path) -> Path:
    con = store.connect(clinic_db)
    access.upsert(con, "t2", "therapist", therapist_id="T2")
    access.upsert(con, "sup1", "supervisor", therapist_id="S1")
    access.upsert(con, "qi1", "qi")
    access.upsert(con, "c1", "coder", coder_id="C1")
    con.close()
    return clinic_db


def test_empty_store(monkeypatch: pytest.MonkeyPatch, empty_db: tuple[Path, duckdb.DuckDBPyConnection]) -> None:
    path, con = empty_db
    con.close()
    at = open_form(monkeypatch, path)
    assert "No dyad of yours to enter forms for" in all_text(at) and not at.error


def test_admin_enters_an_srs_below_the_cutoff(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = open_form(monkeypatch, clinic_db, dyad="D2")
    assert next(s for s in at.selectbox if s.label == "Form").value == "srs"  # the SRS first
    assert next(n for n in at.number_input if n.label == "Session number").value == 4  # after the latest
    at = fill_srs(at, (8.5, 8.0, 9.0, 8.1))  # 33.6: below 36
    assert any("Saved: Session Rating Scale (SRS), patient, session 4 of dyad D2" in s.value and
               "Alliance below cutoff" in s.value for s in at.success), [s.value for s in at.success]
    stored = rows(clinic_db, "SELECT item, value FROM selfreport WHERE dyad_id = 'D2' AND session_number = 4 "
                             "ORDER BY item")
    assert stored == [("approach", 9.0), ("goals", 8.0), ("overall", 8.1), ("relationship", 8.5)]
    assert rows(clinic_db, "SELECT action, target FROM audit WHERE action = 'enter self-report'") == [
        ("enter self-report", "D2/4")]


def test_a_stored_form_opens_filled_in_and_is_replaced(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    con = store.connect(clinic_db)
    add_selfreport(con, "D2", 3, "srs", srs(38))
    con.close()
    at = open_form(monkeypatch, clinic_db, dyad="D2", session="3")
    assert "is stored for session 3" in all_text(at)
    assert next(n for n in at.number_input if n.label == "Relationship").value == pytest.approx(9.5)
    at = fill_srs(at, (9.0, 9.0, 9.0, 9.0))
    assert any("replacing the stored form" in s.value for s in at.success)
    assert rows(clinic_db, "SELECT count(*), sum(value) FROM selfreport WHERE dyad_id = 'D2' AND session_number = 3"
                ) == [(4, 36.0)]


def test_missing_answers_are_named_and_nothing_is_written(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = open_form(monkeypatch, clinic_db, dyad="D2")
    next(n for n in at.number_input if n.label == "Relationship").set_value(7.0)
    next(b for b in at.button if b.label == "Save form").click().run()
    assert any("Not saved: 3 answers to fix" in e.value for e in at.error), [e.value for e in at.error]
    problems = at.dataframe[0].value
    assert set(problems.column) == {"Goals and topics", "Approach or method", "Overall"}
    assert set(problems.problem) == {"is required"}
    assert rows(clinic_db, "SELECT count(*) FROM selfreport") == [(0,)]


def test_therapist_enters_only_for_own_dyads(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    at = run_as(monkeypatch, db, {"sub": "t2"}, "selfreport")
    assert not at.exception
    assert next(s for s in at.selectbox if s.label == "Dyad").options == ["D2 - therapist T2", "D4 - therapist T2"]
    at = run_as(monkeypatch, db, {"sub": "t2"}, "selfreport", {"dyad": "D1"})
    assert "Not found or not permitted." in all_text(at)
    assert "P-ALPHA" not in all_text(at) and not any(b.label == "Save form" for b in at.button)


def test_supervisor_enters_for_own_dyads_not_trainees(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "selfreport")
    assert next(s for s in at.selectbox if s.label == "Dyad").options == ["D3 - therapist S1"]
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "selfreport", {"dyad": "D1"})  # the trainee T1's dyad
    assert "Not found or not permitted." in all_text(at)


@pytest.mark.parametrize("role", ["qi1", "c1"])
def test_qi_and_coders_have_no_entry_page(monkeypatch: pytest.MonkeyPatch, db: Path, role: str) -> None:
    at = run_as(monkeypatch, db, {"sub": role})
    assert "selfreport" not in page_files(at)
    at = request(at, "selfreport").run()
    assert "Not found or not permitted." in all_text(at) and not at.number_input


def test_completion_date_starts_at_the_session_or_today() -> None:
    import datetime as dt

    from rrrs_ui.selfreport_entry import default_completion

    session, past = dt.date(2024, 3, 4), dt.date(2025, 6, 5)
    assert default_completion(session, synthetic=False, data_today=past) == session
    assert default_completion(None, synthetic=False, data_today=past) == dt.date.today()
    # The demo clinic lives in the past: a form typed in there keeps the demo's timeline (its 'today').
    assert default_completion(None, synthetic=True, data_today=past) == past


def test_a_recorded_session_dates_its_form(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    import datetime as dt

    at = open_form(monkeypatch, clinic_db, dyad="D2", session="2")
    assert at.date_input[0].value == dt.date(2026, 1, 12)  # add_session's date for session 2
