"""The reusable supervision-notes widget: lists notes and adds one through its form."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from rrrs_core import notes, store
from tests.apptest import all_text


def panel_app(dyad_id: str, session_number: int | None, author: str) -> None:
    from rrrs_ui.notes_panel import notes_panel

    notes_panel(dyad_id, session_number, author=author)


def open_panel(monkeypatch: pytest.MonkeyPatch, db, dyad: str = "D1", session: int | None = 3,
               author: str = "S1") -> AppTest:
    monkeypatch.setenv("RRRS_DB", str(db))
    at = AppTest.from_function(panel_app, args=(dyad, session, author), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def add(at: AppTest, text: str) -> AppTest:
    at.text_area[0].set_value(text)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


def test_adds_and_lists_notes_on_a_session(monkeypatch, clinic_db):
    at = open_panel(monkeypatch, clinic_db)
    assert "No supervision notes on session 3 yet." in all_text(at)
    add(at, "Discuss the complaint in segment 6.")
    text = all_text(at)
    assert "Note added by S1." in text and "Discuss the complaint in segment 6." in text
    assert "1 note on session 3" in text
    con = store.connect(clinic_db)
    stored = notes.for_dyad(con, "D1", 3)
    assert stored.body.tolist() == ["Discuss the complaint in segment 6."] and stored.author.tolist() == ["S1"]
    add(at, "Second thought.")
    assert "2 notes on session 3" in all_text(at)


def test_dyad_panel_lists_session_notes_with_their_session(monkeypatch, clinic_db):
    con = store.connect(clinic_db)
    notes.add(con, "D1", "S1", "Session three was hard.", session_number=3)
    notes.add(con, "D1", "S2", "Overall: rising confrontation.")
    notes.add(con, "D2", "S2", "Other dyad.")
    at = open_panel(monkeypatch, clinic_db, session=None, author="demo user")
    text = all_text(at)
    assert "2 notes on dyad D1" in text and "Other dyad." not in text
    assert "S1 · " in text and "· session 3" in text
    add(at, "Dyad-level note.")
    assert notes.for_dyad(con, "D1").session_number.isna().sum() == 2


def test_empty_note_is_refused_with_a_message(monkeypatch, clinic_db):
    at = open_panel(monkeypatch, clinic_db)
    add(at, "   ")
    assert "A note needs some text." in " ".join(e.value for e in at.error)
    assert notes.for_dyad(store.connect(clinic_db), "D1").empty
