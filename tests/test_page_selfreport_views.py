"""The patient's self-reports on the dyad, session and caseload pages (issue 18), in AppTest: a dyad with
self-reports only, a dyad with codings only, discordant sessions, a session with self-reports but no coding,
a coded session without self-reports, and the caseload's self-report flags."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from rrrs_core import access, store
from tests.apptest import all_text, caseload_dyads, open_clean
from tests.builders import add_dyad, add_selfreport, add_therapist, rupture_items, srs, wai
from tests.test_page_shell import page_files, request
from tests.test_roles import run_as


@pytest.fixture
def db(clinic_db: Path) -> Path:
    """The small clinic plus self-reports: D1 has forms after sessions 1-3 and an uncoded session 5; D9 (T2)
    has self-reports only; D2 and D4 have none."""
    con = store.connect(clinic_db)
    add_selfreport(con, "D1", 1, "srs", srs(37))
    add_selfreport(con, "D1", 1, "rupture_items", rupture_items(False))        # coders saw withdrawal
    add_selfreport(con, "D1", 2, "srs", srs(36.5))
    add_selfreport(con, "D1", 2, "rupture_items", rupture_items(True, 3, 4))    # agree
    add_selfreport(con, "D1", 3, "srs", srs(31))
    add_selfreport(con, "D1", 3, "wai_sr", wai(3, 2.5, 3.25))
    add_selfreport(con, "D1", 3, "rupture_items", rupture_items(True, 5, 1))
    add_selfreport(con, "D1", 3, "rupture_items", rupture_items(True, 4, 2), respondent="therapist")
    add_selfreport(con, "D1", 5, "srs", srs(29.5), completed_on=dt.date(2026, 2, 2))
    add_selfreport(con, "D1", 5, "rupture_items", rupture_items(True, 4, 2), completed_on=dt.date(2026, 2, 2))
    add_dyad(con, "D9", "T2", "P-NINE", "CBT")
    add_selfreport(con, "D9", 1, "srs", srs(38))
    add_selfreport(con, "D9", 2, "srs", srs(34.5))
    access.upsert(con, "qi1", "qi")
    con.close()
    return clinic_db


def specs(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.main if getattr(el, "type", None) == "vega_lite_chart"]


def titles(at: AppTest) -> list[str]:
    out = []
    for s in specs(at):
        t = s.get("title")
        out.append(t.get("text") if isinstance(t, dict) else t)
    return out


def test_dyad_with_self_reports_only(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    at = open_clean(monkeypatch, db, "dyad", dyad="D9")
    text = all_text(at)
    assert "No session of this dyad has a final coding yet: the patient's self-reports are shown below" in text
    assert "Alliance below cutoff" in text and "SRS dropped" in text  # 38 -> 34.5, the caseload's flags
    assert "the patient's latest SRS (session 2) totals 34.5 of 40, below 36" in text
    assert titles(at) == ["Session Rating Scale: the patient's view of the session"]
    assert "Latest SRS 34.5 / 40" in text and "Sessions self-reported 2" in text


def test_dyad_with_codings_only_has_no_self_report_section(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    at = open_clean(monkeypatch, db, "dyad", dyad="D2")
    assert "The patient's view" not in [s.value for s in at.subheader]
    assert "Rupture frequency: share of segments with a rupture marker" in titles(at)
    assert "not coded" not in json.dumps(specs(at))


def test_dyad_with_both_shows_charts_on_one_axis_and_the_discordance(monkeypatch: pytest.MonkeyPatch,
                                                                      db: Path) -> None:
    at = open_clean(monkeypatch, db, "dyad", dyad="D1")
    names = titles(at)
    assert names[:4] == ["Rupture frequency: share of segments with a rupture marker",
                         "Session Rating Scale: the patient's view of the session",
                         "Working Alliance Inventory (WAI-SR): task, bond, goal",
                         "Post-session rupture items: the patient's report"]
    # Every chart on the dyad's axis: coded sessions 1-4 and the self-reported session 5, half a session padded.
    domains = [layer["encoding"]["x"]["scale"]["domain"] for s in specs(at)[:4] for layer in s["layer"]
               if "scale" in layer.get("encoding", {}).get("x", {})]
    assert domains and all(d == [0.5, 5.5] for d in domains)
    assert "not coded" in json.dumps(specs(at)[0])  # session 5 is marked, not skipped
    text = all_text(at)
    assert "Patient-reported rupture unresolved" in text and "after session 5 the patient reported a rupture" in text
    assert "Withdrawal ruptures are by nature often unreported" in text
    table = next(d.value for d in at.dataframe if "Finding" in d.value.columns)
    # Session 1: coders saw 1 withdrawal segment, the patient said no. Session 3: both saw one (agree).
    assert table.Session.tolist() == [1] and table.Finding.tolist() == ["seen, not reported"]
    assert table.Coded.tolist() == ["1 withdrawal"]


def test_session_with_self_reports_but_no_coding_opens(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    at = open_clean(monkeypatch, db, "session", dyad="D1", session="5")
    text = all_text(at)
    assert "not coded (known from its self-reports)" in text and "2026-02-02" in text
    assert "This session has no final coding yet" in text
    table = next(d.value for d in at.dataframe if "form" in d.value.columns)
    assert table.form.tolist() == ["Session Rating Scale", "Post-session rupture items"]
    assert "total 29.5" in table.scores.iloc[0] and "Alliance below cutoff" in table.alerts.iloc[0]
    links = {p.proto.label for p in at.page_link}
    assert "Session 4" in links  # previous session on the axis


def test_session_reports_sit_beside_the_global_ratings(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    at = open_clean(monkeypatch, db, "session", dyad="D1", session="3")
    heads = [s.value for s in at.subheader]
    assert heads.index("Self-reports") == heads.index("Global ratings") + 1
    table = next(d.value for d in at.dataframe if "form" in d.value.columns)
    assert table.respondent.tolist() == ["Patient", "Patient", "Patient", "Therapist"]
    assert table.form.tolist() == ["Session Rating Scale", "WAI-SR", "Post-session rupture items",
                                   "Post-session rupture items"]
    assert "rupture yes" in table["items"].iloc[2] and "Reported rupture unresolved" in table.alerts.iloc[2]
    assert "bond 2.5" in table.scores.iloc[1]


def test_coded_session_without_self_reports(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    at = open_clean(monkeypatch, db, "session", dyad="D1", session="4")
    assert "No self-report was entered for this session." in all_text(at)


def test_caseload_shows_the_self_report_flags(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    at = open_clean(monkeypatch, db, "caseload")
    frame = at.dataframe[0].value
    table = frame.set_index(pd.Index(caseload_dyads(frame)))
    assert {"Alliance below cutoff", "SRS dropped"} <= set(table.loc["D9", "flag_list"])
    assert "Patient-reported rupture unresolved" in set(table.loc["D1", "flag_list"])
    assert table.loc["D1", "latest_srs"] == pytest.approx(29.5)
    assert table.loc["D9", "n_sessions"] == 0
    assert next(m for m in at.metric if m.label == "Patient alerts").value == "2"
    text = all_text(at)
    for label, weight in (("Patient-reported rupture unresolved", 3), ("Alliance below cutoff", 2),
                          ("SRS dropped", 1)):
        assert f"**{label}** (weight {weight})" in text


def test_qi_never_sees_self_report_values(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    at = run_as(monkeypatch, db, {"sub": "qi1"})
    assert not at.exception
    text = all_text(at)
    for secret in ("D1", "D9", "relationship", "29.5", "34.5", "P-NINE"):
        assert secret not in text
    assert page_files(at) == {"clinic"}  # no dyad, session or entry page to read a form on
    for page in ("dyad", "session", "selfreport"):
        at = request(run_as(monkeypatch, db, {"sub": "qi1"}, None, {"dyad": "D1", "session": "3"}), page).run()
        assert "Not found or not permitted." in all_text(at) and "29.5" not in all_text(at)


def test_clinic_page_self_report_figures_without_ids(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    at = open_clean(monkeypatch, db, "clinic")
    heads = [s.value for s in at.subheader]
    assert "The patients' view: alliance below the cutoff" in heads
    assert "Patient-reported ruptures and coded rupture frequency" in heads
    table = next(d.value for d in at.dataframe if "below_share" in d.value.columns)
    assert set(table.sessions) <= {"*"} | {str(n) for n in range(5, 1000)}  # nothing under 5 shown
    assert set(table.columns) == {"period_start", "treatment", "is_total", "sessions", "below_share", "suppressed"}
    assoc = next(d.value for d in at.dataframe if "Coded measure" in d.value.columns)
    assert assoc["n"].tolist() == [3, 3, 3] and assoc["r (point-biserial)"].isna().all()  # 2 yes, 1 no: not shown
    text = all_text(at)
    for secret in ("D1", "D9", "P-NINE", "relationship"):
        assert secret not in text


def test_clinic_page_on_an_empty_store(monkeypatch: pytest.MonkeyPatch,
                                       empty_db: tuple[Path, object]) -> None:
    at = open_clean(monkeypatch, empty_db[0], "clinic")
    assert "The patients' view: alliance below the cutoff" not in [s.value for s in at.subheader]


@pytest.mark.parametrize("page", ["caseload", "dyad", "session", "clinic", "contribution", "selfreport"])
def test_a_store_with_self_reports_only(monkeypatch: pytest.MonkeyPatch, empty_db: tuple[Path, object],
                                        page: str) -> None:
    """No coding at all yet: every page opens, and the dyad is there to pick."""
    path, con = empty_db
    add_therapist(con, "T1")
    add_dyad(con, "D1", "T1", "P-ONE", "CBT")
    add_selfreport(con, "D1", 1, "srs", srs(33))
    con.close()
    params = {"dyad": "D1", "session": "1"} if page in ("dyad", "session") else {}
    at = open_clean(monkeypatch, path, page, **params)
    assert "No coded sessions yet" not in all_text(at)
    if page == "caseload":
        assert caseload_dyads(at.dataframe[0].value) == ["D1"]
