"""Caseload page in AppTest: ordering, scope from the URL, links to the dyad page, empty states."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_clean

PAGE = "pages/caseload.py"


def run_page(monkeypatch: pytest.MonkeyPatch, db: Path, **params: str) -> AppTest:
    return open_clean(monkeypatch, db, Path(PAGE).stem, **params)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_empty_database_shows_guidance(monkeypatch: pytest.MonkeyPatch, empty_db) -> None:
    at = run_page(monkeypatch, empty_db[0])
    assert "No coded sessions yet" in at.info[0].value
    assert not at.dataframe and not at.metric


def test_clinic_scope_lists_four_dyads_d1_first(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db)
    table = at.dataframe[0].value
    assert table.dyad_id.tolist() == ["D1", "D3", "D2", "D4"]
    assert metrics(at)["Dyads in scope"] == "4" and metrics(at)["Dyads flagged"] == "2"
    assert table.dyad_link.iloc[0] == "dyad?dyad=D1"
    assert table["flags"].iloc[0] == "Unresolved ruptures, Confrontation rising"
    assert "Unresolved ruptures" in at.expander[0].markdown[0].value


def test_supervisor_scope_from_url(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, scope="supervisor:S2")
    table = at.dataframe[0].value
    assert table.dyad_id.tolist() == ["D2", "D4"]
    assert metrics(at)["Dyads in scope"] == "2" and metrics(at)["Dyads flagged"] == "0"
    assert at.sidebar.selectbox[0].value == "supervisor:S2"
    # The link carries the scope, so the dyad page opens in the same context.
    assert table.dyad_link.tolist() == ["dyad?dyad=D2&scope=supervisor%3AS2",
                                        "dyad?dyad=D4&scope=supervisor%3AS2"]


def test_threshold_changes_count_and_url(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db)
    assert at.dataframe[0].value.set_index("dyad_id").loc["D1", "n_high_contribution"] == 1
    at.sidebar.slider[0].set_value(2).run()
    assert not at.exception
    assert at.dataframe[0].value.set_index("dyad_id").loc["D1", "n_high_contribution"] == 4
    assert at.query_params.get("tc") == "2"
    assert at.dataframe[0].value.dyad_link.iloc[0] == "dyad?dyad=D1&tc=2"


def test_only_flagged_toggle(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, flagged="1")
    assert at.dataframe[0].value.dyad_id.tolist() == ["D1", "D3"]
    at = run_page(monkeypatch, clinic_db, flagged="1", scope="supervisor:S2")
    assert not at.dataframe and "No dyads with a concern flag" in at.info[0].value


def test_unknown_scope_falls_back_to_clinic(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, scope="therapist:NOBODY", tc="banana")
    assert len(at.dataframe[0].value) == 4


def test_inactive_dyads_shown_last_and_can_be_hidden(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import datetime as dt

    from rrrs_core import store
    from tests.builders import add_dyad, add_session, globals_, small_clinic

    db = tmp_path / "inactive.duckdb"
    con = store.connect(db)
    small_clinic(con)
    add_dyad(con, "OLD", "T1")  # ended half a year before the clinic's latest session (2026-01-26)
    add_session(con, "OLD", 1, [(1, "denial", "check")], globals_(r=1), session_date=dt.date(2025, 7, 1))
    con.close()

    at = run_page(monkeypatch, db, inactive="0")
    assert "OLD" not in at.dataframe[0].value.dyad_id.tolist()
    assert metrics(at)["Dyads in scope"] == "4"
    assert "1 inactive dyad(s) hidden" in at.caption[0].value

    at = run_page(monkeypatch, db)  # shown by default (dropouts are inactive dyads), after the active ones
    table = at.dataframe[0].value
    assert table.dyad_id.tolist() == ["D1", "D3", "D2", "D4", "OLD"]
    assert metrics(at)["Dyads in scope"] == "5"
