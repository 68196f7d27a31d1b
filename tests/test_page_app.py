"""app.py smoke: every page registers and the default page renders on an empty database and on data."""

from __future__ import annotations

from tests.apptest import all_text, open_page


def test_app_starts_on_empty_database(monkeypatch, tmp_path):
    at = open_page(monkeypatch, tmp_path / "empty.duckdb")
    assert not at.exception
    assert "No coded sessions yet" in all_text(at)


def test_app_starts_on_fixture(monkeypatch, clinic_db):
    at = open_page(monkeypatch, clinic_db)
    assert not at.exception
    assert "D1" in all_text(at)
