"""Dyad trajectory page in AppTest: empty database, the small clinic, pending and one-session dyads."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from rrrs_ui import tables
from tests.apptest import dataframe_heights

PAGE = "pages/dyad.py"


def run_page(monkeypatch: pytest.MonkeyPatch, db: Path, page: str = PAGE, **params: str) -> AppTest:
    """Run the app under st.navigation, switch to `page` with URL query params, and insist on no exception."""
    monkeypatch.setenv("RRRS_DB", str(db))
    at = AppTest.from_file("../app.py", default_timeout=30)
    at.run()
    at.switch_page(page)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "markdown", "info", "warning", "error", "caption")
             for e in getattr(at, kind)]
    parts += [f"{m.label}: {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def test_empty_database(monkeypatch: pytest.MonkeyPatch,
                        empty_db: tuple[Path, duckdb.DuckDBPyConnection]) -> None:
    at = run_page(monkeypatch, empty_db[0])
    assert "No coded sessions yet" in text(at)
    assert not at.error


def test_no_dyad_offers_a_picker(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db)
    box = next(s for s in at.selectbox if s.label == "Dyad")
    assert box.value is None and len(box.options) == 4
    assert box.options[1] == "D2 - therapist T2, 3 of 3 sessions coded"
    box.set_value("D2").run()
    assert at.query_params.get("dyad") == "D2"
    assert "**Dyad D2**" in text(at)


def test_search_narrows_the_picker_and_keeps_the_dyad(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    """The select box lists only the dyads that match the search (dyad or therapist id, any case), plus the
    dyad already open; picking one of them opens it and writes it to the URL."""
    at = run_page(monkeypatch, clinic_db, dyad="D1")
    at.text_input(key="dyad_search").input("t2").run()
    box = next(s for s in at.selectbox if s.label == "Dyad")
    assert [o.split(" - ")[0] for o in box.options] == ["D1", "D2", "D4"] and box.value == "D1"
    assert "**Dyad D1**" in text(at)
    box.set_value("D4").run()
    assert at.query_params.get("dyad") == "D4" and "**Dyad D4**" in text(at)
    at.text_input(key="dyad_search").input("nothing like it").run()
    assert "No dyad in scope matches the search." in text(at)
    assert [o.split(" - ")[0] for o in next(s for s in at.selectbox if s.label == "Dyad").options] == ["D4"]


def test_picker_lists_at_most_the_limit(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    from rrrs_ui import dyad_picker

    monkeypatch.setattr(dyad_picker, "LIMIT", 2)
    at = run_page(monkeypatch, clinic_db)
    assert len(next(s for s in at.selectbox if s.label == "Dyad").options) == 2
    assert "2 of 4 dyads in scope listed: type part of a dyad or therapist id to find the others." in text(at)
    at.text_input(key="dyad_search").input("d").run()
    assert "2 of 4 matching dyads listed: type more of the id to narrow the list." in text(at)
    at.text_input(key="dyad_search").input("t2").run()
    assert "listed" not in text(at)


def test_d1_highlights_session_3(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, dyad="D1")
    body = text(at)
    assert "Therapist contribution at or above 4:** session 3 (contribution 5)" in body
    assert "Sessions coded: 4" in body and "Mean rupture share: 25%" in body
    latest = next(m for m in at.metric if m.label == "Latest resolution")
    assert latest.value == "2 / 5" and "session 4" in latest.help
    table = at.dataframe[0].value
    assert table.Session.tolist() == [4, 3, 2, 1]                  # newest first
    assert table.loc[table.Flag != "", "Session"].tolist() == [3]
    # Session 3: contribution 5 and resolution 1 with ruptures: severity (5 - 1) + (5 - 1) = 8.
    assert table.set_index("Session").loc[3, ["Flag", "Severity"]].tolist() == ["TC ≥ 4, res 1", 8]
    assert table.Severity.isna().tolist() == [True, False, True, True]
    # Sessions 1, 2 and 4 have unaddressed episodes but resolution 2: not flagged by the shared rule.
    assert table.Unaddressed.tolist() == [1, 2, 2, 0] and table["At end"].tolist() == [0, 0, 0, 0]
    assert not at.main.warning and not at.error
    link = next(p for p in at.page_link if p.proto.page == "session")
    assert link.proto.query_string == "dyad=D1&session=3"      # defaults to the worst flagged session
    box = next(s for s in at.selectbox if s.label == "Open a session")
    assert box.options == ["Session 4", "Session 3 (severity 8)", "Session 2", "Session 1"]


def test_threshold_from_url(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, dyad="D1", tc="3")
    assert "session 2 (contribution 3), session 3 (contribution 5)" in text(at)
    assert at.slider[0].value == 3


def test_pending_dyad(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, dyad="D3")
    assert "Ratings pending: 1" in text(at)
    assert "Ratings pending for session 2" in at.main.warning[0].value
    # Session 2's ratings are pending and its rupture in segment 3 got no strategy: flagged, severity 0.
    row = at.dataframe[0].value.set_index("Session").loc[2]
    assert (row.Flag, row.Severity) == ("pending, unaddr.", 0)


def test_one_session_dyad(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, dyad="D4")
    body = text(at)
    assert "Only one coded session so far" in body and "Sessions coded: 1" in body
    assert next(s for s in at.selectbox if s.label == "Open a session").options == ["Session 1"]


def test_unknown_and_out_of_scope_dyad(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, dyad="ZZ")
    assert [w.value for w in at.main.warning] == ["Not found or not permitted."]
    at = run_page(monkeypatch, clinic_db, dyad="D1", scope="therapist:T2")
    assert [w.value for w in at.main.warning] == ["Not found or not permitted."]
    assert "T1" not in text(at)


def test_header_says_when_the_last_session_was(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    # D2's last session is 2026-01-19; the data's latest (D1, session 4) is 2026-01-26.
    at = run_page(monkeypatch, clinic_db, dyad="D2")
    line = next(m for m in at.markdown if "Last session" in m.value)
    assert line.value == "**Last session 2026-01-19 (7 days ago)**"
    assert "counted to 2026-01-26" in line.help


def test_key_figure_labels_fit_a_laptop_width(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    """At 1024 px five equal columns cut the labels ("Sessions c..."): the metrics sit in a wrapping row,
    each as wide as its label, and the labels stay short (checked in Chromium at 1024 and 1400 px)."""
    at = run_page(monkeypatch, clinic_db, dyad="D1")
    assert [m.label for m in at.metric] == ["Sessions coded", "Mean rupture share", "Latest resolution",
                                            "Contribution ≥ 4", "Ratings pending"]


def severity_db(path: Path) -> Path:
    """D7: sessions of severity 7, 7, 5 and an unflagged one, oldest first (the old default was the first
    high-contribution session, session 1)."""
    from rrrs_core import store
    from tests.builders import add_dyad, add_session, add_therapist, globals_

    con = store.connect(path)
    add_therapist(con, "T7")
    add_dyad(con, "D7", "T7")
    rupture = [(2, "minimal_response", "check")]
    add_session(con, "D7", 1, rupture, globals_(r=1, tc=4))     # (4 - 1) + (5 - 1) = 7
    add_session(con, "D7", 2, rupture, globals_(r=1, tc=4))     # 7, newer: the default
    add_session(con, "D7", 3, rupture, globals_(r=1, tc=2))     # 1 + 4 = 5
    add_session(con, "D7", 4, [], globals_(r=3, tc=1))           # not flagged, the latest
    con.close()
    return path


def test_open_a_session_defaults_to_the_worst_newest_flagged(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    db = severity_db(tmp_path / "sev.duckdb")
    at = run_page(monkeypatch, db, dyad="D7")
    link = next(p for p in at.page_link if p.proto.page == "session")
    assert link.proto.query_string == "dyad=D7&session=2"
    table = at.dataframe[0].value
    assert table.Session.tolist() == [4, 3, 2, 1] and table.Severity.tolist()[1:] == [5, 7, 7]
    at = run_page(monkeypatch, db, dyad="D7", session="4")      # a session named in the URL wins
    link = next(p for p in at.page_link if p.proto.page == "session")
    assert link.proto.query_string == "dyad=D7&session=4"


def test_no_flagged_session_defaults_to_the_latest(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, dyad="D2")
    assert next(s for s in at.selectbox if s.label == "Open a session").value == 3
    assert at.dataframe[0].value.Severity.isna().all()


def test_sessions_table_shows_up_to_20_rows_without_scrolling(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    from rrrs_core import store
    from tests.builders import add_dyad, add_session, add_therapist, globals_

    db = tmp_path / "long.duckdb"
    con = store.connect(db)
    add_therapist(con, "T8")
    add_dyad(con, "D8", "T8")
    for n in range(1, 26):
        add_session(con, "D8", n, [], globals_())
    con.close()
    heights = dataframe_heights(monkeypatch)
    at = run_page(monkeypatch, db, dyad="D8")
    assert at.dataframe[0].value.Session.tolist()[:3] == [25, 24, 23]
    assert heights[-1] == 35 + 35 * 20 + 3                       # Streamlit's default shows 10 rows
    assert tables.rows_height(13) == 35 + 35 * 13 + 3            # D0030's 13 sessions: all in view
