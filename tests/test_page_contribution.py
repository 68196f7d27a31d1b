"""Therapist-contribution page in AppTest: threshold, relative flag, pending count, links, empty states."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_clean

PAGE = "pages/contribution.py"


def run_page(monkeypatch: pytest.MonkeyPatch, db: Path, **params: str) -> AppTest:
    return open_clean(monkeypatch, db, Path(PAGE).stem, **params)


def listed(at: AppTest) -> list[tuple[str, int]]:
    df = at.dataframe[0].value
    return list(zip(df.dyad_id, df.session_number, strict=True))


def charts(at: AppTest) -> list:
    return [el for el in at.main if getattr(el, "type", None) == "vega_lite_chart"]


def test_empty_database_shows_guidance(monkeypatch: pytest.MonkeyPatch, empty_db) -> None:
    at = run_page(monkeypatch, empty_db[0])
    assert "No coded sessions yet" in at.info[0].value
    assert not at.dataframe and not charts(at)


def test_default_threshold_lists_d1_session_3_only(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db)
    assert listed(at) == [("D1", 3)]
    df = at.dataframe[0].value
    assert df.link.iloc[0] == "session?dyad=D1&session=3"
    assert bool(df.above_own_mean.iloc[0])
    m = {x.label: x.value for x in at.metric}
    assert m["Sessions rated >= 4"] == "1" and m["Ratings pending"] == "1"
    assert any("1 coded session(s) in scope have no therapist-contribution rating" in c.value
               for c in at.caption)
    assert len(charts(at)) == 1


def test_threshold_two_lists_d1_session_4(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db)
    at.sidebar.slider[0].set_value(2).run()
    assert not at.exception
    assert listed(at) == [("D1", 4), ("D1", 3), ("D1", 2), ("D1", 1)]
    assert at.query_params.get("tc") == "2"
    assert at.dataframe[0].value.link.iloc[0] == "session?dyad=D1&session=4&tc=2"


def test_threshold_from_url(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, tc="5")
    assert listed(at) == [("D1", 3)] and at.sidebar.slider[0].value == 5


def test_scope_without_high_sessions(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, scope="supervisor:S2")
    assert not at.dataframe
    assert any("No rated session in this scope" in i.value for i in at.info)
    assert len(charts(at)) == 1  # T2's four ratings of 1 are still charted
    assert {x.label: x.value for x in at.metric}["Ratings pending"] == "0"


def test_relative_toggle_from_url(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, rel="1", tc="5")
    assert at.sidebar.toggle[0].value
    assert listed(at) == [("D1", 3)]
