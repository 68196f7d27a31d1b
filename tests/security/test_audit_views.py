"""Issue 14, "Audit trail" item 2, the page-level parts: opening a scoresheet and its Excel download, adding a
supervision note, and caseload views are audited; the download re-checks the principal when it runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from rrrs_core import access, store
from rrrs_core.errors import NotFoundError, PermissionDeniedError
from tests.apptest import all_text
from tests.test_roles import audit_rows, run_as


@pytest.fixture
def db(clinic_db: Path) -> Path:
    con = store.connect(clinic_db)
    access.upsert(con, "sup1", "supervisor", therapist_id="S1")
    con.close()
    return clinic_db


@pytest.fixture
def downloads(monkeypatch) -> dict[str, Callable[[], bytes]]:
    """The deferred download callables the page registers, by file name (what a click would run)."""
    seen: dict[str, Callable[[], bytes]] = {}
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        seen[file_name or ""] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return seen


def count(db: Path, row: tuple[str, str, str | None]) -> int:
    return audit_rows(db).count(row)


def test_2_opening_a_scoresheet_is_audited_once_per_session_and_coding(monkeypatch, db):
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "scoresheet", {"dyad": "D1", "session": "3", "coder": "C1"})
    assert not at.exception and "Opened version 1" in all_text(at)
    at.run()
    assert count(db, ("sup1", "view scoresheet", "D1/3/C1")) == 1
    at.selectbox(key="sc_pick_coder").set_value("C2").run()
    assert count(db, ("sup1", "view scoresheet", "D1/3/C2")) == 1


def test_2_scoresheet_excel_download_is_audited_each_time_and_rechecks_the_principal(monkeypatch, db, downloads):
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "scoresheet", {"dyad": "D1", "session": "3", "coder": "C1"})
    assert "This coding (stored version 1)" in [b.label for b in at.get("download_button")]
    download = downloads["3rs-scoresheet-D1-s3-C1.xlsx"]
    assert download()[:2] == b"PK" and download()[:2] == b"PK"
    assert count(db, ("sup1", "download scoresheet", "D1/3/C1")) == 2
    con = store.connect(db)
    con.execute("UPDATE therapist SET supervisor_id = 'S2' WHERE therapist_id = 'T1'")  # D1 leaves S1's scope
    con.close()
    with pytest.raises(NotFoundError):
        download()
    con = store.connect(db)
    con.execute("UPDATE therapist SET supervisor_id = 'S1' WHERE therapist_id = 'T1'")
    access.upsert(con, "sup1", "supervisor", therapist_id="S1", active=False)  # revoked
    con.close()
    with pytest.raises(PermissionDeniedError, match="access changed"):
        download()
    assert count(db, ("sup1", "download scoresheet", "D1/3/C1")) == 2


def test_2_adding_a_supervision_note_is_audited(monkeypatch, db):
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "dyad", {"dyad": "D1"})
    at.text_area[0].set_value("Bring segment 6 to supervision.")
    next(b for b in at.button if b.label == "Add note").click().run()
    assert not at.exception and "Note added" in all_text(at)
    assert count(db, ("sup1", "add note", "D1")) == 1
    con = store.connect(db)
    detail = con.execute("SELECT detail FROM audit WHERE action = 'add note'").fetchall()
    con.close()
    assert detail[0][0].startswith("note ") and "segment 6" not in detail[0][0], "the note's text stays out"


def test_2_caseload_views_are_audited(monkeypatch, db):
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "caseload")
    assert not at.exception and "D1" in all_text(at)
    at.run()
    assert count(db, ("sup1", "view caseload", "Supervisor S1 and trainees")) == 1


def test_2_prefilled_scoresheet_of_a_new_coding_is_audited_and_rechecked(monkeypatch, db, downloads):
    """The header of a not-yet-coded session carries the patient id too: same re-check and audit."""
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "scoresheet", {"dyad": "D1", "session": "3", "coder": "C9"})
    assert "Scoresheet for this session" in [b.label for b in at.get("download_button")]
    download = downloads["3rs-scoresheet-D1-s3-C9.xlsx"]
    assert download()[:2] == b"PK"
    assert count(db, ("sup1", "download scoresheet", "D1/3/C9")) == 1
    con = store.connect(db)
    con.execute("UPDATE therapist SET supervisor_id = 'S2' WHERE therapist_id = 'T1'")
    con.close()
    with pytest.raises(NotFoundError):
        download()
    assert count(db, ("sup1", "download scoresheet", "D1/3/C9")) == 1
