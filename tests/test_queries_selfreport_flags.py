"""The caseload's self-report flags (issue 18): the patient's latest SRS below the cutoff, a drop of 1+ point,
an unresolved reported rupture; their weights in the concern score; dyads known only from self-reports."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from rrrs_core.queries import caseload as q
from rrrs_core.queries import directory
from tests.builders import add_dyad, add_selfreport, rupture_items, srs

SR_KEYS = ("alliance_below_cutoff", "srs_dropped", "patient_rupture_unresolved")

pytestmark = pytest.mark.both_backends  # the queries run on the embedded file and on the shared store



def row(con: duckdb.DuckDBPyConnection, dyad: str) -> dict:
    return q.caseload(con).set_index("dyad_id").loc[dyad].to_dict()


def flags_of(con: duckdb.DuckDBPyConnection, dyad: str) -> list[str]:
    r = row(con, dyad)
    return [k for k in SR_KEYS if r[k]]


def test_flags_are_documented_with_weights_heaviest_first() -> None:
    by = {f.key: f for f in q.FLAGS}
    assert (by["patient_rupture_unresolved"].weight, by["alliance_below_cutoff"].weight,
            by["srs_dropped"].weight) == (3, 2, 1)
    assert [f.weight for f in q.FLAGS] == sorted((f.weight for f in q.FLAGS), reverse=True)
    assert "below 36" in by["alliance_below_cutoff"].definition
    assert "1 point" in by["srs_dropped"].definition and "2 or less" in by["patient_rupture_unresolved"].definition


def test_latest_srs_below_cutoff_flags_and_adds_its_weight(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D2", 1, "srs", srs(38))
    add_selfreport(clinic_con, "D2", 2, "srs", srs(38.5))
    add_selfreport(clinic_con, "D2", 3, "srs", srs(33))
    r = row(clinic_con, "D2")
    assert r["alliance_below_cutoff"] and r["srs_dropped"]  # 38.5 -> 33: below 36 and a drop of 5.5
    assert r["latest_srs"] == pytest.approx(33) and r["srs_session"] == 3
    assert r["concern_score"] == 2 + 1  # D2 has no coded flag
    assert r["flags"] == "Alliance below cutoff, SRS dropped"
    # D2 (3) now ranks above D3 (ratings pending, 1): the order rule is the concern score first.
    assert q.caseload(clinic_con).dyad_id.tolist() == ["D1", "D2", "D3", "D4"]


def test_only_the_latest_form_counts(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D2", 1, "srs", srs(30))     # below the cutoff once, long ago
    add_selfreport(clinic_con, "D2", 2, "srs", srs(37))
    add_selfreport(clinic_con, "D2", 3, "srs", srs(37.5))
    add_selfreport(clinic_con, "D2", 1, "rupture_items", rupture_items(True, 4, 1))
    add_selfreport(clinic_con, "D2", 3, "rupture_items", rupture_items(True, 3, 4))  # resolved this time
    assert flags_of(clinic_con, "D2") == []
    assert row(clinic_con, "D2")["concern_score"] == 0


def test_a_drop_above_the_cutoff(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D2", 1, "srs", srs(39.5))
    add_selfreport(clinic_con, "D2", 2, "srs", srs(38.4))  # 1.1 lower: a drop, still above 36
    assert flags_of(clinic_con, "D2") == ["srs_dropped"]
    assert row(clinic_con, "D2")["concern_score"] == 1


def test_a_drop_of_less_than_one_point_is_not_one(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D2", 1, "srs", srs(39.5))
    add_selfreport(clinic_con, "D2", 2, "srs", srs(38.6))
    assert flags_of(clinic_con, "D2") == []


def test_latest_rupture_unresolved(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D4", 1, "rupture_items", rupture_items(True, 4, 2))
    assert flags_of(clinic_con, "D4") == ["patient_rupture_unresolved"]
    assert row(clinic_con, "D4")["concern_score"] == 3
    add_selfreport(clinic_con, "D4", 2, "rupture_items", rupture_items(False, 1, 5))
    assert flags_of(clinic_con, "D4") == []  # the latest report has no rupture


def test_resolution_three_is_not_unresolved(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D4", 1, "rupture_items", rupture_items(True, 4, 3))
    assert flags_of(clinic_con, "D4") == []


def test_a_dyad_with_self_reports_only_is_listed(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_dyad(clinic_con, "D9", "T2", "P-NINE", "CBT")
    add_selfreport(clinic_con, "D9", 1, "srs", srs(30), completed_on=dt.date(2026, 1, 20))
    cases = q.caseload(clinic_con)
    r = cases.set_index("dyad_id").loc["D9"].to_dict()
    assert (r["therapist_id"], r["supervisor_id"], r["treatment"], r["n_sessions"]) == ("T2", "S2", "CBT", 0)
    assert r["alliance_below_cutoff"] and r["concern_score"] == 2 and r["flags"] == "Alliance below cutoff"
    assert r["last_date"].date() == dt.date(2026, 1, 20) and r["status"] == "Active"
    assert r["relation"] == "trainee" and pd.isna(r["worst_severity"])  # no coded session
    # Concern 2 ranks it after D1 (5) and before D3 (1); its missing severity never sorts it first.
    assert cases.dyad_id.tolist() == ["D1", "D9", "D3", "D2", "D4"]
    assert q.headline(cases)["self_report"] == 1


def test_scope_applies_to_self_report_dyads(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_dyad(clinic_con, "D9", "T2", "P-NINE", "CBT")
    add_selfreport(clinic_con, "D9", 1, "srs", srs(30))
    assert "D9" not in set(q.caseload(clinic_con, directory.supervisor_scope(clinic_con, "S1")).dyad_id)
    assert "D9" in set(q.caseload(clinic_con, directory.therapist_scope("T2")).dyad_id)


def test_therapist_reports_do_not_raise_patient_flags(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D2", 1, "rupture_items", rupture_items(True, 5, 1), respondent="therapist")
    assert flags_of(clinic_con, "D2") == []


def test_dyad_flags_carry_the_self_report_flags(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D2", 3, "srs", srs(30))
    add_selfreport(clinic_con, "D2", 3, "rupture_items", rupture_items(True, 4, 1))
    labels = [f.label for f in q.dyad_flags(clinic_con, "D2", "T2")]
    assert labels == ["Patient-reported rupture unresolved", "Alliance below cutoff"]
