"""Reliability page in AppTest: empty store, routine and pair designs, drill-down, calibration, roles, audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from rrrs_core import access, store
from rrrs_core.permits import OPEN
from rrrs_core.reliability import calibration
from tests.apptest import all_text, open_page
from tests.builders import add_dyad, add_session, add_therapist, globals_
from tests.test_reliability_store import double_coded_clinic
from tests.test_roles import AUTH

PAGE = "reliability"


@pytest.fixture
def rel_db(empty_db) -> Path:
    """D1 sessions 1-6 coded by C1 and C2 (tests.test_reliability_store), and D9 (therapist T9, outside
    supervisor S1's scope) sessions 1-5 coded by C1 and C3; principals of every role."""
    path, con = empty_db
    double_coded_clinic(con)
    add_therapist(con, "S1")
    con.execute("UPDATE therapist SET supervisor_id = 'S1' WHERE therapist_id = 'T1'")
    add_therapist(con, "T9")
    add_dyad(con, "D9", "T9")
    for s in range(1, 6):
        add_session(con, "D9", s, [(s, "denial", "check")], globals_(w=s), coder_id="C1")
        add_session(con, "D9", s, [(s, "denial", "check"), (1, "complaint_therapist", "check")], globals_(w=s),
                    coder_id="C3")
    access.upsert(con, "sup1", "supervisor", therapist_id="S1")
    access.upsert(con, "t1", "therapist", therapist_id="T1")
    access.upsert(con, "qi", "qi")
    access.upsert(con, "c3", "coder", coder_id="C3")
    access.upsert(con, "boss", "admin")
    con.close()
    return path


def run(monkeypatch, db: Path, sub: str | None = None, params: dict[str, str] | None = None):
    user = None if sub is None else {"is_logged_in": True, "sub": sub}
    at = open_page(monkeypatch, db, PAGE, params, secrets=AUTH if sub else None, user=user)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def frame(at, column: str):
    """The first table on the page holding `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_empty_store_shows_guidance(monkeypatch, empty_db):
    at = run(monkeypatch, empty_db[0])
    assert "No coded sessions yet" in all_text(at)
    assert not at.dataframe


def test_routine_design_table_values_ci_n_bands_and_reasons(monkeypatch, rel_db):
    at = run(monkeypatch, rel_db)
    text = all_text(at)
    assert "routine double-coding" in text and "11 sessions" in text  # D1 1-6 and D9 1-5
    assert "check-minus counts as absent" in text
    icc = frame(at, "ci_low").set_index("item")
    assert set(icc.statistic) == {"ICC1"}, "routine double-coding leads with the one-way form only"
    row = icc.loc["seg_denial"]
    assert row.n_units == 11 and row.ci_low < row.value < row.ci_high and row.band
    assert icc.loc["seg_minimal_response", "reason"] == "no variance" and icc.loc["seg_minimal_response"].value != \
        icc.loc["seg_minimal_response"].value  # NaN: an empty cell, with its reason
    presence = frame(at, "ac1").set_index("item")
    assert presence.loc["denial", "n_units"] == 110 and presence.loc["denial", "band"]
    assert "kappa and alpha: no variance" in presence.loc["minimal_response", "reason"]


def test_pair_filter_uses_the_crossed_design_and_the_drill_down_shows_definitions(monkeypatch, rel_db):
    at = run(monkeypatch, rel_db, params={"pair": "C1,C2"})
    text = all_text(at)
    assert "fully crossed: sessions coded by each of C1, C2" in text and "6 sessions" in text
    assert set(frame(at, "ci_low").statistic) == {"ICC2"}
    session = at.selectbox(key="drill_session")
    assert session.options[0].startswith("D1 session"), "sessions both coded, most disputed first"
    assert "disputed" in session.options[0]
    # the disputed code's definition from the codebook is beside the timelines
    from rrrs_core import codebook as cb
    assert cb.DEFAULT.code("denial").definition in all_text(at)
    assert any(el.type == "vega_lite_chart" for el in at.main)


def test_too_few_sessions_in_the_period_is_a_message_and_empty_cells(monkeypatch, rel_db):
    at = run(monkeypatch, rel_db, params={"pair": "C1,C2", "until": "2026-01-12"})  # sessions 1 and 2
    assert "Too few data: 2 sessions compared" in all_text(at)
    icc = frame(at, "ci_low")
    assert icc.value.isna().all() and (icc.reason == "fewer than 5 sessions").all()


@pytest.mark.parametrize("sub", ["t1", "qi"])
def test_therapist_and_qi_are_refused(monkeypatch, rel_db, sub):
    at = open_page(monkeypatch, rel_db, None, secrets=AUTH, user={"is_logged_in": True, "sub": sub})
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/reliability.py").run()


def test_coder_sees_only_pairs_with_themselves(monkeypatch, rel_db):
    at = run(monkeypatch, rel_db, "c3")
    pair_box = at.sidebar.selectbox[0]
    assert pair_box.options[1:] == ["C1 and C3 (5 sessions both coded)"]
    at = run(monkeypatch, rel_db, "c3", {"pair": "C1,C2"})  # not theirs: falls back to all coders
    assert "routine double-coding" in all_text(at)


def test_supervisor_drills_only_into_dyads_in_scope(monkeypatch, rel_db):
    at = run(monkeypatch, rel_db, "sup1", {"pair": "C1,C3"})
    assert "5 sessions" in all_text(at), "the statistics are clinic-wide aggregates"
    assert "No session both coded that you may open" in all_text(at)  # D9 is not S1's
    at = run(monkeypatch, rel_db, "boss", {"pair": "C1,C3"})
    assert at.selectbox(key="drill_session").options[0].startswith("D9 session")


def test_view_is_audited_once(monkeypatch, rel_db):
    at = run(monkeypatch, rel_db, "boss")
    at.run()
    con = store.connect(rel_db)
    rows = con.execute("SELECT actor, target FROM audit WHERE action = 'view reliability'").fetchall()
    con.close()
    assert rows == [("boss", "routine double-coding: each session's two earliest final codings")]


def test_calibration_status_for_a_trainee(monkeypatch, rel_db):
    con = store.connect(rel_db)
    for s in range(1, 7):
        calibration.mark(con, "D1", s, "C1", user="boss", role="admin", permit=OPEN)
    con.close()
    at = run(monkeypatch, rel_db, "boss")
    overview = frame(at, "status").set_index("coder_id")
    assert list(overview.index) == ["C2", "C5"] and overview.loc["C2", "sessions"] == 6
    assert overview.loc["C5", "status"] == calibration.NOT_YET  # one calibration session: too few
    assert overview.loc["C2", "status"] in (calibration.MEETS, calibration.NOT_YET)
    assert "C2: **" in "\n".join(str(m.value) for m in [*at.success, *at.warning])
    assert at.selectbox(key="cal_session").options, "the trainee's disagreements with the reference are listed"


def test_supervisor_marks_a_reference_from_the_drill_down_and_coders_cannot(monkeypatch, rel_db):
    at = run(monkeypatch, rel_db, "sup1", {"pair": "C1,C2"})
    session = at.selectbox(key="drill_session")
    label = session.options[session.index]
    dyad, number = label.split(" session ")[0], int(label.split(" session ")[1].split(" ")[0])
    at.button(key="ref_C1").click().run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    con = store.connect(rel_db)
    refs = con.execute("SELECT dyad_id, session_number, coder_id, marked_by FROM reference_coding").fetchall()
    audit = con.execute("SELECT actor, target FROM audit WHERE action = 'mark reference'").fetchall()
    con.close()
    assert refs == [(dyad, number, "C1", "sup1")] and audit == [("sup1", f"{dyad}/{number}")]
    assert "Reference coding of this session: C1" in all_text(at)
    at = run(monkeypatch, rel_db, "c3", {"pair": "C1,C3"})
    assert not [b for b in at.button if str(b.key).startswith("ref_")], "coders get no reference buttons"


def test_every_table_has_human_column_labels(monkeypatch, rel_db):
    import re

    from tests.apptest import headers

    con = store.connect(rel_db)
    for s in range(1, 7):
        calibration.mark(con, "D1", s, "C1", user="boss", role="admin", permit=OPEN)
    con.close()
    at = run(monkeypatch, rel_db, "boss", {"pair": "C1,C2"})
    raw = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")
    shown = {h for table in at.dataframe for h in headers(table)}
    assert len(at.dataframe) >= 6  # ICC, presence, all statistics, calibration overview and codes, references
    assert not {h for h in shown if raw.match(h)}, shown
