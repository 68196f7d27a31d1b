"""Scoring and alerts in SQL (v_selfreport_scale, v_selfreport_alert), the read API and the caseload's SQL."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from rrrs_core import selfreport as sr
from rrrs_core import store
from rrrs_core.queries.directory import therapist_scope

SRS = ("relationship", "goals", "approach", "overall")

pytestmark = pytest.mark.both_backends  # the embedded file and the shared store (DuckLake)


def put(con: duckdb.DuckDBPyConnection, dyad: str, session: int, instrument: str, values: dict[str, float],
        respondent: str = "patient", version: str | None = None, day: int | None = None) -> None:
    """Answers straight into the table, as the importer and the form write them."""
    version = version or sr.catalog(con).current[instrument].version
    date = dt.date(2026, 1, day) if day else None
    with store.writing(con):
        con.executemany("INSERT INTO selfreport VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, 'test', now()::TIMESTAMP)",
                        [[dyad, session, respondent, instrument, version, k, v, date] for k, v in values.items()])


def srs(total: float) -> dict[str, float]:
    """Four SRS items summing to `total` (one decimal each)."""
    tenths = round(total * 10)
    parts = [tenths // 4 + (1 if i < tenths % 4 else 0) for i in range(4)]
    return {k: p / 10 for k, p in zip(SRS, parts, strict=True)}


def alerts(con: duckdb.DuckDBPyConnection, dyad: str = "D1") -> set[tuple[int, str, str]]:
    return {(r.session_number, r.instrument, r.rule) for r in sr.alerts(con, dyad).itertuples()}


def test_srs_total_cutoff_and_drop_across_an_uncoded_gap(clinic_con: duckdb.DuckDBPyConnection) -> None:
    con = clinic_con  # D1 has coded sessions 1-4; 5 and 8 are never coded
    for session, total in ((1, 38.0), (2, 37.1), (4, 36.0), (5, 39.0), (8, 37.9)):
        put(con, "D1", session, "srs", srs(total), day=session)
    scales = sr.scales(con, "D1")
    assert list(scales.columns) == sr.read.SCALE_COLUMNS
    assert dict(zip(scales.session_number, scales.value, strict=True)) == {1: 38.0, 2: 37.1, 4: 36.0, 5: 39.0,
                                                                          8: 37.9}
    assert set(scales.n_items) == {4} and scales.completed_on.iloc[0].date() == dt.date(2026, 1, 1)
    # 36.0 is not below 36; 37.1 -> 36.0 is a drop of 1.1 over the unreported session 3; 39.0 -> 37.9 is a
    # drop of 1.1 across two sessions that were neither coded nor reported; 38.0 -> 37.1 (0.9) is none
    assert alerts(con) == {(4, "srs", "drop"), (8, "srs", "drop")}
    put(con, "D1", 9, "srs", srs(35.9))
    assert alerts(con) >= {(9, "srs", "below_cutoff"), (9, "srs", "drop")}
    row = sr.scales(con, "D1").query("session_number == 9").iloc[0]
    assert row.alert == "below_cutoff;drop"
    assert not store.scalar(con, "SELECT count(*) FROM session WHERE dyad_id = 'D1' AND session_number IN (5, 8, 9)")


def test_drop_of_exactly_one_point_despite_float_sums(clinic_con: duckdb.DuckDBPyConnection) -> None:
    put(clinic_con, "D2", 1, "srs", {"relationship": 9.7, "goals": 9.1, "approach": 9.3, "overall": 8.8})  # 36.9
    put(clinic_con, "D2", 2, "srs", {"relationship": 9.4, "goals": 8.8, "approach": 9.0, "overall": 8.7})  # 35.9
    assert alerts(clinic_con, "D2") == {(2, "srs", "drop"), (2, "srs", "below_cutoff")}


def test_wai_sr_subscales_are_means_of_their_items(clinic_con: duckdb.DuckDBPyConnection) -> None:
    answers = {str(i): v for i, v in zip(range(1, 13), (5, 4, 3, 2, 3, 2, 3, 2, 3, 4, 1, 3), strict=True)}
    put(clinic_con, "D1", 2, "wai_sr", answers)
    got = sr.scales(clinic_con, "D1").set_index("scale").value.to_dict()
    # task 1, 2, 10, 12 = 5, 4, 4, 3; bond 3, 5, 7, 9 = 3, 3, 3, 3; goal 4, 6, 8, 11 = 2, 2, 2, 1
    assert got == pytest.approx({"total": 35 / 12, "task": 4.0, "bond": 3.0, "goal": 1.75})
    assert list(sr.scales(clinic_con, "D1").scale) == ["total", "bond", "goal", "task"]
    assert not alerts(clinic_con)


def test_a_scale_with_a_missing_item_is_not_scored(clinic_con: duckdb.DuckDBPyConnection) -> None:
    answers = {str(i): 4 for i in range(1, 12)}  # item 12 (task) missing
    put(clinic_con, "D1", 2, "wai_sr", answers)
    got = sr.scales(clinic_con, "D1")
    assert set(got.scale) == {"bond", "goal"}
    put(clinic_con, "D1", 3, "srs", dict(list(srs(30).items())[:3]))
    assert not len(sr.scales(clinic_con, "D1").query("instrument == 'srs'"))


def test_rupture_unresolved_needs_a_rupture_and_resolution_2_or_lower(clinic_con: duckdb.DuckDBPyConnection) -> None:
    put(clinic_con, "D1", 1, "rupture_items", {"rupture": 1, "tension": 4, "resolution": 2})
    put(clinic_con, "D1", 2, "rupture_items", {"rupture": 1, "tension": 2, "resolution": 3})
    put(clinic_con, "D1", 3, "rupture_items", {"rupture": 0})  # no rupture: tension and resolution left empty
    put(clinic_con, "D1", 4, "rupture_items", {"rupture": 1, "resolution": 1}, respondent="therapist")
    assert alerts(clinic_con) == {(1, "rupture_items", "rupture_unresolved"), (4, "rupture_items", "rupture_unresolved")}
    session3 = sr.scales(clinic_con, "D1").query("session_number == 3")
    assert list(session3.scale) == ["rupture"] and session3.value.iloc[0] == 0
    by_respondent = sr.alerts(clinic_con, "D1").groupby("respondent").size().to_dict()
    assert by_respondent == {"patient": 1, "therapist": 1}


def test_reads_are_scoped(clinic_con: duckdb.DuckDBPyConnection) -> None:
    put(clinic_con, "D1", 1, "srs", srs(30))
    put(clinic_con, "D2", 1, "srs", srs(30))
    t2 = therapist_scope("T2")
    assert sr.scales(clinic_con, "D1", t2).empty and sr.alerts(clinic_con, "D1", t2).empty
    assert sr.answers(clinic_con, "D1", 1, t2).empty and sr.form_values(clinic_con, "D1", 1, "patient", "srs", t2) == {}
    assert sr.reported_sessions(clinic_con, "D1", t2) == [] and sr.reported_sessions(clinic_con, "D1") == [1]
    assert len(sr.scales(clinic_con, "D2", t2)) == 1
    assert sr.caseload(clinic_con, t2).dyad_id.tolist() == ["D2"]
    assert sr.form_values(clinic_con, "D1", 1, "patient", "srs") == srs(30)
    assert set(sr.answers(clinic_con, "D1", 1).item) == set(SRS)


def test_caseload_sql_takes_each_dyad_s_latest_patient_report(clinic_con: duckdb.DuckDBPyConnection) -> None:
    con = clinic_con
    put(con, "D1", 1, "srs", srs(38), day=1)
    put(con, "D1", 6, "srs", srs(35), day=6)                       # latest: below cutoff and a drop
    put(con, "D1", 5, "rupture_items", {"rupture": 1, "resolution": 2})
    put(con, "D1", 7, "rupture_items", {"rupture": 1, "resolution": 2}, respondent="therapist")  # not the patient's
    put(con, "D2", 1, "srs", srs(30))
    put(con, "D2", 2, "srs", srs(38))                              # recovered: no flag now
    put(con, "D2", 2, "rupture_items", {"rupture": 1, "resolution": 1})
    put(con, "D2", 3, "rupture_items", {"rupture": 0})             # the latest report: no rupture
    got = sr.caseload(con).set_index("dyad_id")
    assert list(got.columns) == ["alliance_instrument", "alliance_session", "alliance_total", "alliance_completed_on",
                                 "below_cutoff", "alliance_dropped", "rupture_session", "rupture_unresolved"]
    d1, d2 = got.loc["D1"], got.loc["D2"]
    assert (d1.alliance_instrument, d1.alliance_session, d1.alliance_total) == ("srs", 6, 35.0)
    assert d1.below_cutoff and d1.alliance_dropped and d1.alliance_completed_on.date() == dt.date(2026, 1, 6)
    assert d1.rupture_session == 5 and d1.rupture_unresolved
    assert not d2.below_cutoff and not d2.alliance_dropped and d2.rupture_session == 3 and not d2.rupture_unresolved
    # usable inside another query, joined on dyad_id
    joined = con.execute(f"SELECT d.dyad_id, s.below_cutoff FROM dyad d LEFT JOIN ({sr.CASELOAD_SQL}) s "
                         "USING (dyad_id) ORDER BY 1").fetchall()
    assert joined == [("D1", True), ("D2", False), ("D3", None), ("D4", None)]
