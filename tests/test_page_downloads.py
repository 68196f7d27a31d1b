"""PDF report buttons on the dyad, therapist-contribution and clinic pages; notes on dyad and session."""

from __future__ import annotations

import pytest

from tests.apptest import all_text, open_page


@pytest.mark.parametrize(("page", "params", "label"), [
    ("dyad", {"dyad": "D1"}, "Download dyad report (PDF)"),
    ("contribution", {}, "Download therapist report (PDF)"),
    ("clinic", {}, "Download clinic report (PDF)"),
])
def test_report_buttons(monkeypatch, clinic_db, page, params, label):
    at = open_page(monkeypatch, clinic_db, page, params)
    assert not at.exception
    assert label in [b.label for b in at.get("download_button")]


def test_notes_on_dyad_and_session_pages(monkeypatch, clinic_db):
    from rrrs_core import notes, store

    con = store.connect(clinic_db)
    notes.add(con, "D1", "S1", "Explore the complaint about homework.", session_number=3)
    con.close()
    at = open_page(monkeypatch, clinic_db, "dyad", {"dyad": "D1"})
    assert "Explore the complaint about homework." in all_text(at)
    at = open_page(monkeypatch, clinic_db, "session", {"dyad": "D1", "session": "3"})
    assert "Explore the complaint about homework." in all_text(at)
    at = open_page(monkeypatch, clinic_db, "session", {"dyad": "D1", "session": "2"})
    assert "Explore the complaint about homework." not in all_text(at)
