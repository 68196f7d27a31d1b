"""Every table a user sees, page by page, has human column labels: never a query's `snake_case` name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rrrs_core import access, store
from tests.apptest import headers, open_page

RAW = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")  # as a query names a column: saved_by, audit_id, file, flags

PAGES = [
    ("caseload", {}),
    ("dyad", {"dyad": "D1"}),
    ("session", {"dyad": "D1", "session": "3"}),
    ("contribution", {"tc": "2"}),
    ("clinic", {}),
    ("scoresheet", {"dyad": "D1", "session": "3", "coder": "C1"}),  # version history, consistency checks
    ("audit", {}),
    ("users", {}),
]


@pytest.fixture
def db(clinic_db: Path) -> Path:
    con = store.connect(clinic_db)
    access.upsert(con, "alice@clinic.example", "supervisor", therapist_id="S1", email="alice@clinic.example")
    con.close()
    return clinic_db


@pytest.mark.parametrize(("page", "params"), PAGES, ids=[p for p, _ in PAGES])
def test_no_raw_column_names(monkeypatch: pytest.MonkeyPatch, db: Path, page: str, params: dict) -> None:
    at = open_page(monkeypatch, db, page, params)
    assert not at.exception, at.exception
    assert at.dataframe, f"{page} shows no table"
    shown = {h for table in at.dataframe for h in headers(table)}
    assert not {h for h in shown if RAW.match(h)}, shown


def test_audit_and_users_labels(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    at = open_page(monkeypatch, db, "audit")
    assert headers(at.dataframe[0]) == ["#", "When", "Who", "Role", "Action", "Target", "Detail", "OS user"]
    assert json.loads(at.dataframe[0].proto.columns)["occurred_at"]["type_config"]["type"] == "datetime"
    assert at.dataframe[0].proto.placeholder == "–"  # an empty target reads as a dash, not "None"
    at = open_page(monkeypatch, db, "users")
    assert headers(at.dataframe[0]) == ["Sign-in subject", "E-mail", "Name", "Role", "Therapist", "Coder",
                                        "Active", "Added"]


def test_users_page_without_users_says_so(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = open_page(monkeypatch, clinic_db, "users")
    assert not at.dataframe and "No users yet" in at.info[0].value
