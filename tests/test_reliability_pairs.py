"""Drill-down data (coder pairs, disputed marks, definitions) and drift by period."""

from __future__ import annotations

import datetime as dt

import pytest

from rrrs_core import codebook as cb
from rrrs_core.errors import NotFoundError
from rrrs_core.reliability import drift, pairs
from rrrs_core.scope import Scope
from tests.builders import add_dyad, add_session, add_therapist, globals_
from tests.test_reliability_store import double_coded_clinic


@pytest.fixture
def rel_con(con):
    double_coded_clinic(con)
    return con


def test_pairs_count_sessions_both_coded_and_follow_the_viewer(rel_con):
    got = pairs.pairs(rel_con)
    assert [tuple(r) for r in got.itertuples(index=False)] == [("C1", "C2", 6), ("C1", "C5", 1), ("C2", "C5", 1)]
    assert len(pairs.pairs(rel_con, pairs.Viewer(coder_id="C5"))) == 2
    assert pairs.pairs(rel_con, pairs.Viewer(Scope.therapists(["T2"], "other"))).empty
    assert list(pairs.pairs(rel_con, until=dt.date(2026, 1, 12)).sessions) == [2]  # sessions 1-2 by date


def test_disputed_marks_are_check_against_absent_or_check_minus(rel_con):
    # session 2: C1 marks denial check in 1-2 and complaint 9; C2 denial check in 1-2, complaint 9,
    # denial check-minus in 10 -> no dispute. Session 3: C1 denial 1-3; C2 denial 1-3 -> none... session 1:
    # C1 denial 1, C2 denial 1 (1 + 1 % 2 = 2 -> range(1, 2)) -> none; session 2: C2 range(1, 2) = {1}, C1 {1,2}.
    comp = pairs.compare(rel_con, pairs.Viewer(), "D1", 2, "C1", "C2")
    assert [(r.segment, r.code, r.clarity_a, r.clarity_b) for r in comp.disputed.itertuples()] == \
        [(2, "denial", "check", "absent")]
    assert list(comp.definitions.code) == ["denial"]
    assert comp.definitions.definition[0] == cb.DEFAULT.code("denial").definition
    assert (10, "denial") not in set(zip(comp.disputed.segment, comp.disputed.code, strict=True)), \
        "check-minus against nothing is not a dispute"
    listed = pairs.sessions(rel_con, pairs.Viewer(), "C1", "C2").set_index("session_number")
    assert listed.loc[2, "disputed"] == 1 and listed.loc[2, "codes"] == "Denial"
    assert listed.loc[1, "disputed"] == 0 and listed.loc[1, "codes"] == ""


def test_compare_refuses_pairs_and_sessions_out_of_reach(rel_con):
    with pytest.raises(NotFoundError):
        pairs.compare(rel_con, pairs.Viewer(coder_id="C5"), "D1", 2, "C1", "C2")
    with pytest.raises(NotFoundError):
        pairs.compare(rel_con, pairs.Viewer(Scope.therapists(["T2"], "other")), "D1", 2, "C1", "C2")
    with pytest.raises(NotFoundError):
        pairs.compare(rel_con, pairs.Viewer(), "D1", 5, "C1", "C5")  # C5 coded only session 3
    assert pairs.sessions(rel_con, pairs.Viewer(coder_id="C5"), "C1", "C2").empty


def test_drift_per_coder_and_period_with_too_few_sessions_empty(con):
    add_therapist(con, "T1")
    add_dyad(con, "D1", "T1")
    start = dt.date(2025, 1, 6)
    for s in range(1, 13):  # 12 weekly sessions: Q1 2025 all; C2 agrees early, then misses the rupture
        date = start + dt.timedelta(weeks=s - 1)
        add_session(con, "D1", s, [(1, "denial", "check")], globals_(), coder_id="C1", session_date=date)
        add_session(con, "D1", s, [(1, "denial", "check")] if s <= 6 else [], globals_(), coder_id="C2",
                    session_date=date)
    monthly = drift.drift(con, "month")
    jan = monthly[(monthly.coder_id == "C1") & (monthly.period_start == "2025-01-01")].iloc[0]
    assert jan.sessions == 4 and jan.ac1 != jan.ac1 and jan.reason == "fewer than 5 sessions"
    quarter = drift.drift(con).set_index("coder_id")
    assert quarter.loc["C1", "sessions"] == 12 and quarter.loc["C1", "segments"] == 120
    assert quarter.loc["C1", "ac1"] == quarter.loc["C2", "ac1"], "a session counts for both its coders"
    assert quarter.loc["C1", "agreement"] == pytest.approx(114 / 120)
    with pytest.raises(ValueError):
        drift.drift(con, "week")


def test_charts_box_the_disputed_marks_in_both_panels_and_drop_empty_periods(rel_con):
    from rrrs_core.charts import reliability as charts

    comp = pairs.compare(rel_con, pairs.Viewer(), "D1", 2, "C1", "C2")
    spec = charts.pair_timeline_chart(comp.marks, comp.disputed, "C1", "C2", comp.n_segments).to_dict()
    assert [p["title"] for p in spec["vconcat"]] == ["Coder C1", "Coder C2"]
    assert "1 disputed mark" in spec["title"]["text"]
    boxes = [layer for p in spec["vconcat"] for layer in p["layer"]
             if layer["mark"].get("type") == "rect" and layer["mark"].get("stroke")]
    assert len(boxes) == 2, "the disputed box is drawn in both coders' panels"
    frame = drift.drift(rel_con, "month")
    spec = charts.drift_chart(frame, "month").to_dict()
    shown = next(iter(spec["datasets"].values()))
    assert len(shown) == frame.ac1.notna().sum()
