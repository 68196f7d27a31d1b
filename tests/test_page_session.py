"""Session detail page in AppTest: anchors, coders, episodes, navigation, pending and not-found cases."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from tests.test_page_dyad import run_page, text

PAGE = "pages/session.py"


def links(at: AppTest) -> dict[str, str]:
    return {p.value: p.proto.query_string for p in at.page_link}


def test_empty_database(monkeypatch: pytest.MonkeyPatch,
                        empty_db: tuple[Path, duckdb.DuckDBPyConnection]) -> None:
    at = run_page(monkeypatch, empty_db[0], PAGE, dyad="D1", session="3")
    assert "No coded sessions yet" in text(at) and not at.main.warning


def test_d1_session3(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, PAGE, dyad="D1", session="3")
    body = text(at)
    assert "Therapist contribution: 5 / 5" in body
    assert "The therapist clearly caused or exacerbated the ruptures" in body   # manual anchor for 5
    assert "Coded by C1 (primary), C2." in body
    assert "C1 and C2 agree on 3 of 6 marks" in body
    assert "**2 unaddressed** (no strategy within the window): 0-15 min, 25-35 min" in body
    coder_box = next(s for s in at.selectbox if s.label == "Coding shown")
    assert coder_box.value == "C1" and coder_box.options == ["C1 (primary)", "C2"]
    episodes = at.dataframe[0].value
    assert episodes.Status.tolist() == ["unaddressed", "unaddressed"]
    diff = at.dataframe[1].value.set_index("Code")
    assert diff.loc["Complaint/concern about the therapist", "Only C1 (min)"] == "25-30"
    ratings = at.dataframe[2].value.set_index("Rating")
    assert ratings.loc["Therapist contribution", "C2 - C1"] == "-1"
    assert ratings.loc["Overall resolution", "C2 - C1"] == "+1"
    assert ratings.loc["Significance: Efforts to control/pressure therapist", "C2"] == "not rated"
    assert links(at) == {"Session 2": "dyad=D1&session=2", "Dyad D1 trajectory": "dyad=D1",
                         "Session 4": "dyad=D1&session=4"}
    assert "Invites thoughts/feelings about therapist or therapy" in body      # codebook expander


def test_second_coder_from_url_and_picker(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, PAGE, dyad="D1", session="3", coder="C2")
    body = text(at)
    assert "Therapist contribution: 4 / 5" in body and "1 episode;" in body
    next(s for s in at.selectbox if s.label == "Coding shown").set_value("C1").run()
    assert "coder" not in at.query_params and "Therapist contribution: 5 / 5" in text(at)
    at = run_page(monkeypatch, clinic_db, PAGE, dyad="D1", session="3", coder="X9")
    assert "Coder X9 has no final coding" in at.main.warning[0].value


def test_pending_ratings(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, PAGE, dyad="D3", session="2")
    body = text(at)
    assert "Ratings pending: C1 has marked segments" in body
    assert "Overall resolution: pending" in body
    assert "One coder only" in body


def test_one_session_without_ruptures(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, PAGE, dyad="D4", session="1")
    body = text(at)
    assert "No codes were marked in this session" in body and "No rupture episodes" in body
    assert list(links(at)) == ["Dyad D4 trajectory"]                          # no prev/next


def test_not_found(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    for params in ({"dyad": "ZZ", "session": "1"}, {"dyad": "D1", "session": "99"},
                   {"dyad": "D1", "session": "x"}, {"dyad": "D1", "session": "3", "scope": "therapist:T2"}):
        at = run_page(monkeypatch, clinic_db, PAGE, **params)
        assert [w.value for w in at.main.warning] == ["Not found or not permitted."], params
        assert not at.metric


def test_pickers_without_params(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, PAGE)
    next(s for s in at.selectbox if s.label == "Dyad").set_value("D2").run()
    next(s for s in at.selectbox if s.label == "Session").set_value(1).run()
    assert (at.query_params.get("dyad"), at.query_params.get("session")) == ("D2", "1")
    assert "1 episode, all addressed by a resolution strategy." in text(at)


def test_rupture_in_the_last_segment_is_unaddressed_in_session(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    from rrrs_core import store
    from tests.builders import add_session, globals_, small_clinic

    db = tmp_path / "clinic.duckdb"
    con = store.connect(db)
    small_clinic(con)
    # D2 session 4 (10 segments): a withdrawal at 5-10 min (no strategy) and one in the last segment.
    add_session(con, "D2", 4, [(2, "minimal_response", "check"), (10, "denial", "check")], globals_(w=2, r=3))
    con.close()
    at = run_page(monkeypatch, db, PAGE, dyad="D2", session="4")
    body = text(at)
    assert ("2 episodes; **1 unaddressed** (no strategy within the window): 5-10 min; 1 unaddressed in session "
            "(the session ended within the window): 45-50 min.") in body
    assert at.dataframe[0].value.Status.tolist() == ["unaddressed", "unaddressed in session"]


def test_flag_and_severity_of_the_primary_coding(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, PAGE, dyad="D1", session="3")
    assert (":violet[**Flagged for review, severity 8 of 8:**] therapist contribution 5 (at or above 4); "
            "overall resolution 1 with ruptures.") in text(at)
    at = run_page(monkeypatch, clinic_db, PAGE, dyad="D1", session="3", coder="C2")
    assert "Flags and severity use the primary coding (C1)." in text(at)
    # Session 2 has two unaddressed episodes but resolution 2 and contribution 3: not flagged at 4, flagged at 3.
    at = run_page(monkeypatch, clinic_db, PAGE, dyad="D1", session="2")
    assert "Not flagged for review." in text(at) and "Flagged for review" not in text(at)
    at = run_page(monkeypatch, clinic_db, PAGE, dyad="D1", session="2", tc="3")
    assert "severity 5 of 8:**] therapist contribution 3 (at or above 3)." in text(at)   # 2 + 3
    at = run_page(monkeypatch, clinic_db, PAGE, dyad="D3", session="2")       # ratings pending
    assert "severity 0 of 8:**] ratings pending; unaddressed episode at 10-15 min." in text(at)
