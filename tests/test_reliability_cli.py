"""`rrrs reliability` as a user runs it: exit codes, messages, the CSV, the audit row."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from rrrs_core import store
from tests.builders import small_clinic
from tests.test_cli import run
from tests.test_reliability_store import N_SESSIONS, double_coded_clinic

REQUIRED = ["item", "statistic", "value", "ci_low", "ci_high", "n_units", "n_coders"]


@pytest.fixture
def rel_db(tmp_path: Path) -> Path:
    path = tmp_path / "rel.duckdb"
    con = store.connect(path)
    try:
        double_coded_clinic(con)
    finally:
        con.close()
    return path


def audit_rows(db: Path) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT actor, action, target, detail FROM audit WHERE target = 'reliability'").fetchall()
    finally:
        con.close()


def test_routine_csv(rel_db, tmp_path):
    out = tmp_path / "out" / "rel.csv"
    res = run("reliability", "--out", str(out), "--db", str(rel_db), "--by", "dr.x")
    assert res.returncode == 0, res.stderr
    assert f"{N_SESSIONS} sessions, 2 coders" in res.stdout
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0])[:7] == REQUIRED and "reason" in rows[0] and "band" in rows[0]
    icc = next(r for r in rows if r["item"] == "seg_denial" and r["statistic"] == "ICC1")
    assert float(icc["ci_low"]) < float(icc["value"]) < float(icc["ci_high"])
    assert (icc["n_units"], icc["n_coders"]) == (str(N_SESSIONS), "2")
    assert not any(r["statistic"] == "ICC2" for r in rows)  # routine design: one-way forms only
    flat = next(r for r in rows if r["item"] == "overall_confrontation" and r["statistic"] == "ICC1")
    assert flat["value"] == "" and flat["reason"] == "no variance"  # an empty cell, never "nan"
    assert not any("nan" in v.lower() for r in rows for v in r.values())
    ac1 = next(r for r in rows if r["item"] == "denial" and r["statistic"] == "ac1")
    assert ac1["n_units"] == str(10 * N_SESSIONS)
    assert {r["statistic"] for r in rows} == {"ICC1", "ICC1k", "agreement", "kappa", "ac1", "alpha"}
    (actor, action, _, detail), = audit_rows(rel_db)
    assert (actor, action) == ("dr.x", "export csv") and str(out) in detail


def test_crossed_csv(rel_db, tmp_path):
    out = tmp_path / "pair.csv"
    res = run("reliability", "--out", str(out), "--coders", "C1, C2", "--db", str(rel_db))
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(out.open()))
    lead = [r["statistic"] for r in rows if r["item"] == "rupture_segments" and r["lead"] == "True"]
    assert lead == ["ICC2"]
    assert {r["statistic"] for r in rows} >= {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"}


def test_unknown_coder_exits_2_and_writes_nothing(rel_db, tmp_path):
    out = tmp_path / "x.csv"
    res = run("reliability", "--out", str(out), "--coders", "C1,C9", "--db", str(rel_db))
    assert res.returncode == 2
    assert "Unknown coder C9" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists() and audit_rows(rel_db) == []


def test_too_few_data_exits_2(tmp_path):
    db = tmp_path / "small.duckdb"
    con = store.connect(db)
    small_clinic(con)  # one double-coded session
    con.close()
    out = tmp_path / "x.csv"
    res = run("reliability", "--out", str(out), "--db", str(db))
    assert res.returncode == 2
    assert "Too few data for reliability: 1 double-coded session (" in res.stderr
    assert not out.exists()
    res = run("reliability", "--out", str(out), "--coders", "C1", "--db", str(db))
    assert res.returncode == 2 and "at least 2 coders" in res.stderr


def test_reference_calibration_csv_and_status(rel_db, tmp_path):
    from rrrs_core.permits import OPEN
    from rrrs_core.reliability import calibration

    out = tmp_path / "cal.csv"
    res = run("reliability", "--out", str(out), "--db", str(rel_db), "--reference", "C2")
    assert res.returncode == 2 and "Too few data for reliability: 0 calibration sessions" in res.stderr
    con = store.connect(rel_db)
    try:
        for s in range(1, N_SESSIONS + 1):
            calibration.mark(con, "D1", s, "C1", user="boss", role="admin", permit=OPEN)
    finally:
        con.close()
    res = run("reliability", "--out", str(out), "--db", str(rel_db), "--reference", "C2")
    assert res.returncode == 0, res.stderr
    assert "calibration: C2 against the reference codings" in res.stdout
    assert "C2: not yet" in res.stdout and "short of it: confrontation_segments" in res.stdout
    rows = list(csv.DictReader(out.open()))
    assert {r["statistic"] for r in rows if r["unit"] == "sessions"} == {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k",
                                                                        "ICC3k"}
    res = run("reliability", "--out", str(out), "--db", str(rel_db), "--reference", "C2", "--coders", "C1,C2")
    assert res.returncode == 2 and "either --coders or --reference" in res.stderr
