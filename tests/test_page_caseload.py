"""Caseload page in AppTest: ordering, scope from the URL, links to the dyad page, empty states."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import caseload_dyads, headers, open_clean

PAGE = "pages/caseload.py"


def run_page(monkeypatch: pytest.MonkeyPatch, db: Path, **params: str) -> AppTest:
    return open_clean(monkeypatch, db, Path(PAGE).stem, **params)


ids = caseload_dyads


def by_dyad(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index(pd.Index(ids(table)))


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_empty_database_shows_guidance(monkeypatch: pytest.MonkeyPatch, empty_db) -> None:
    at = run_page(monkeypatch, empty_db[0])
    assert "No coded sessions yet" in at.info[0].value
    assert not at.dataframe and not at.metric


def test_clinic_scope_lists_four_dyads_d1_first(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db)
    table = at.dataframe[0].value
    assert ids(table) == ["D1", "D3", "D2", "D4"]
    assert metrics(at)["Dyads shown"] == "4" and metrics(at)["Dyads flagged"] == "2"
    assert table.dyad_link.iloc[0] == "dyad?dyad=D1"
    assert list(table.flag_list.iloc[0]) == ["Unresolved ruptures", "Confrontation rising"]
    assert "Unresolved ruptures" in at.expander[0].markdown[0].value


def test_supervisor_scope_from_url(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, scope="supervisor:S2")
    table = at.dataframe[0].value
    assert ids(table) == ["D2", "D4"]
    assert metrics(at)["Dyads shown"] == "2" and metrics(at)["Dyads flagged"] == "0"
    assert at.sidebar.selectbox[0].value == "supervisor:S2"
    # The link carries the scope, so the dyad page opens in the same context.
    assert table.dyad_link.tolist() == ["dyad?dyad=D2&scope=supervisor%3AS2",
                                        "dyad?dyad=D4&scope=supervisor%3AS2"]


def test_threshold_changes_count_and_url(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db)
    assert at.dataframe[0].value.pipe(by_dyad).loc["D1", "n_high_contribution"] == 1
    at.sidebar.slider[0].set_value(2).run()
    assert not at.exception
    assert at.dataframe[0].value.pipe(by_dyad).loc["D1", "n_high_contribution"] == 4
    assert at.query_params.get("tc") == "2"
    assert at.dataframe[0].value.dyad_link.iloc[0] == "dyad?dyad=D1&tc=2"


def test_only_flagged_toggle(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, flagged="1")
    assert ids(at.dataframe[0].value) == ["D1", "D3"]
    at = run_page(monkeypatch, clinic_db, flagged="1", scope="supervisor:S2")
    assert not at.dataframe and "No dyads with a concern flag" in at.info[0].value


def test_unknown_scope_falls_back_to_clinic(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, scope="therapist:NOBODY", tc="banana")
    assert len(at.dataframe[0].value) == 4


def _with_old_dyad(tmp_path: Path) -> Path:
    """The small clinic plus OLD, a dyad of T1 (trainee of S1) that ended half a year before the clinic's
    latest session (2026-01-26) right after a session with an unresolved rupture."""
    import datetime as dt

    from rrrs_core import store
    from tests.builders import add_dyad, add_session, add_therapist, globals_, small_clinic

    db = tmp_path / "inactive.duckdb"
    con = store.connect(db)
    small_clinic(con)
    add_dyad(con, "OLD", "T1")
    add_session(con, "OLD", 1, [(1, "denial", "check")], globals_(r=1), session_date=dt.date(2025, 7, 1))
    add_therapist(con, "T3", "S1")  # staff, supervised by S1
    add_dyad(con, "D5", "T3")
    add_session(con, "D5", 1, [], globals_(), session_date=dt.date(2026, 1, 19))
    con.close()
    return db


def test_ended_dyads_rank_by_their_flags_and_can_be_hidden(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    db = _with_old_dyad(tmp_path)
    at = run_page(monkeypatch, db)  # shown by default (dropouts are ended dyads), ranked by concern
    table = at.dataframe[0].value
    assert ids(table) == ["D1", "OLD", "D3", "D2", "D5", "D4"]  # OLD: ended after rupture (4)
    old = table.pipe(by_dyad).loc["OLD"]
    assert old.status == "Ended" and old.last_seen == "2025-07-01 (209 days ago)"
    assert table.pipe(by_dyad).loc["D1", "last_seen"] == "2026-01-26 (0 days ago)"
    assert "Ended after rupture" in old.flag_list
    assert metrics(at)["Dyads shown"] == "6"
    assert "counted to 2026-01-26" in at.caption[0].value
    # Status, concern and the last session come first, status and concern pinned with the dyad (always
    # visible, whatever the width).
    assert headers(at.dataframe[0])[:5] == ["Dyad", "Status", "Concern", "Last session", "Concern flags"]
    config = json.loads(at.dataframe[0].proto.columns)
    assert all(config[c].get("pinned") for c in ("dyad_link", "status", "concern_score"))
    assert "Ended after rupture" in at.expander[0].markdown[0].value

    at = run_page(monkeypatch, db, inactive="0")
    assert "OLD" not in ids(at.dataframe[0].value)
    assert metrics(at)["Dyads shown"] == "5"
    assert "1 ended dyad(s) hidden" in at.caption[0].value


@pytest.mark.parametrize(("params", "expected"), [
    ({}, ["D1", "OLD", "D3", "D2", "D5", "D4"]),
    ({"inactive": "0"}, ["D1", "D3", "D2", "D5", "D4"]),
    ({"flagged": "1"}, ["D1", "OLD", "D3"]),
    ({"flagged": "1", "inactive": "0"}, ["D1", "D3"]),
    ({"scope": "supervisor:S1", "relation": "trainee"}, ["D1", "OLD"]),
    ({"scope": "supervisor:S1", "relation": "trainee", "inactive": "0"}, ["D1"]),
])
def test_headline_counts_describe_the_rows_shown(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 params: dict[str, str], expected: list[str]) -> None:
    at = run_page(monkeypatch, _with_old_dyad(tmp_path), **params)
    table = at.dataframe[0].value
    assert ids(table) == expected
    m = metrics(at)
    assert m["Dyads shown"] == str(len(table))
    assert m["Dyads flagged"] == str(int((table.concern_score > 0).sum()))
    assert m["Unresolved ruptures"] == str(sum("Unresolved ruptures" in list(f) for f in table.flag_list))
    assert m["Contribution ≥ 4"] == str(int((table.n_high_contribution > 0).sum()))


def test_relation_column_and_filter_in_a_supervisors_scope(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    db = _with_old_dyad(tmp_path)
    at = run_page(monkeypatch, db, scope="supervisor:S1")
    table = at.dataframe[0].value
    assert dict(zip(ids(table), table.relation_label, strict=True)) == {
        "D1": "Trainee", "OLD": "Trainee", "D3": "Own", "D5": "Staff"}
    rel = at.sidebar.selectbox(key="url_relation@caseload")
    assert rel.options == ["All therapists", "Own dyads", "Trainees' dyads", "Staff's dyads"]
    rel.set_value("own").run()
    assert ids(at.dataframe[0].value) == ["D3"]
    assert at.query_params.get("relation") == "own" and metrics(at)["Dyads shown"] == "1"

    at = run_page(monkeypatch, db, scope="supervisor:S1", relation="staff")  # from a shared link
    assert ids(at.dataframe[0].value) == ["D5"]
    # The contribution page's own `rel` toggle is not the caseload's filter: opening the app with it keeps it.
    at = run_page(monkeypatch, db, rel="1")
    assert at.query_params.get("rel") == "1" and len(at.dataframe[0].value) == 6
    at = run_page(monkeypatch, db, scope="therapist:T1")  # one therapist: no filter, no column
    assert [b.label for b in at.sidebar.selectbox] == ["Scope"]


def test_the_browser_gets_only_the_columns_the_table_shows(monkeypatch: pytest.MonkeyPatch,
                                                           clinic_db: Path) -> None:
    """#20: the 33 columns of the caseload query made 1.75 MB per visit at 5,000 dyads; only shown ones go."""
    at = run_page(monkeypatch, clinic_db)
    table = at.dataframe[0].value
    config = json.loads(at.dataframe[0].proto.columns)
    order = list(at.dataframe[0].proto.column_order)
    assert set(table.columns) == set(order), "every column sent is one the table shows"
    assert "dyad_id" not in table.columns and "flags" not in table.columns and "supervisor_id" not in table.columns
    assert config["dyad_link"]["pinned"]
