"""Entering a paper form (`save_form`): checked like an import, scoped like the scoresheet, audited; and the
`rrrs export selfreports` CSV (columns, alerts, scope, formulas, audit)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest

from rrrs_core import selfreport as sr
from rrrs_core import store
from rrrs_core.access import DEMO, Principal
from rrrs_core.cli import main
from rrrs_core.errors import NotFoundError, PermissionDeniedError, ValidationError
from rrrs_core.queries.directory import therapist_scope
from rrrs_core.selfreport import export
from tests.builders import small_clinic_db

ADMIN = Principal("admin@clinic", "admin")
T1 = Principal("t1@clinic", "therapist", therapist_id="T1")  # treats D1
S1 = Principal("s1@clinic", "supervisor", therapist_id="S1")  # treats D3, supervises T1 (D1)
GOOD = {"relationship": 9.1, "goals": "8.5", "approach": 8.8, "overall": 8.9}

pytestmark = pytest.mark.both_backends  # the embedded file and the shared store (DuckLake)


def audit_rows(con: duckdb.DuckDBPyConnection, action: str) -> list[tuple]:
    return con.execute("SELECT actor, role, target, detail FROM audit WHERE action = ? ORDER BY audit_id",
                       [action]).fetchall()


def test_a_therapist_enters_their_patient_s_form(clinic_con: duckdb.DuckDBPyConnection) -> None:
    saved = sr.save_form(clinic_con, T1, "D1", 5, "patient", "srs", GOOD, dt.date(2026, 2, 2))
    assert (saved.status, saved.version, saved.alerts) == ("new", "3.0", ["below_cutoff"])  # 35.3
    assert sr.form_values(clinic_con, "D1", 5, "patient", "srs") == {k: float(v) for k, v in GOOD.items()}
    row = clinic_con.execute("SELECT entered_by, completed_on, batch_id FROM selfreport LIMIT 1").fetchone()
    assert row == ("t1@clinic", dt.date(2026, 2, 2), None)
    assert audit_rows(clinic_con, "enter self-report") == [
        ("t1@clinic", "therapist", "D1/5", "srs 3.0, patient, 4 items, new")]
    # session 5 of D1 was never coded: it still has no row in `session`
    assert not store.scalar(clinic_con, "SELECT count(*) FROM session WHERE dyad_id = 'D1' AND session_number = 5")


def test_saving_again_replaces_the_form_and_the_same_answers_change_nothing(
        clinic_con: duckdb.DuckDBPyConnection) -> None:
    sr.save_form(clinic_con, T1, "D1", 5, "patient", "srs", GOOD, dt.date(2026, 2, 2))
    same = sr.save_form(clinic_con, T1, "D1", 5, "patient", "srs", GOOD, dt.date(2026, 2, 2))
    assert same.status == "unchanged" and len(audit_rows(clinic_con, "enter self-report")) == 1
    low = sr.save_form(clinic_con, ADMIN, "D1", 5, "patient", "srs", {**GOOD, "overall": 5}, dt.date(2026, 2, 2))
    assert low.status == "replaced" and low.alerts == ["below_cutoff"]
    assert store.scalar(clinic_con, "SELECT count(*) FROM selfreport") == 4
    assert audit_rows(clinic_con, "enter self-report")[-1][:3] == ("admin@clinic", "admin", "D1/5")


def test_rupture_items_take_yes_no_and_may_leave_tension_empty(clinic_con: duckdb.DuckDBPyConnection) -> None:
    saved = sr.save_form(clinic_con, T1, "D1", 2, "patient", "rupture_items",
                         {"rupture": "yes", "tension": 4, "resolution": 1})
    assert saved.alerts == ["rupture_unresolved"]
    sr.save_form(clinic_con, T1, "D1", 3, "therapist", "rupture_items", {"rupture": False, "tension": None,
                                                                         "resolution": ""})
    assert sr.form_values(clinic_con, "D1", 3, "therapist", "rupture_items") == {"rupture": 0.0}


@pytest.mark.parametrize(("values", "column", "value", "message"), [
    ({**GOOD, "goals": 10.5}, "Goals and topics", "10.5", "from 0 to 10"),
    ({**GOOD, "goals": 8.55}, "Goals and topics", "8.55", "steps of 0.1"),
    ({**GOOD, "goals": "lots"}, "Goals and topics", "lots", "must be a number"),
    ({k: v for k, v in GOOD.items() if k != "goals"}, "Goals and topics", None, "is required"),
    ({**GOOD, "mood": 3}, "mood", "3", "no such item"),
])
def test_bad_answers_are_refused_naming_the_item(clinic_con: duckdb.DuckDBPyConnection, values: dict,
                                                 column: str, value: str | None, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        sr.save_form(clinic_con, T1, "D1", 5, "patient", "srs", values)
    hit = [p for p in info.value.problems if p.column == column]
    assert hit and hit[0].value == value and message in hit[0].message
    assert store.scalar(clinic_con, "SELECT count(*) FROM selfreport") == 0
    assert not audit_rows(clinic_con, "enter self-report")


def test_form_level_problems(clinic_con: duckdb.DuckDBPyConnection) -> None:
    cases = [(("D1", 5, "therapist", "srs", GOOD), "respondent", "answered by: patient"),
             (("D1", 0, "patient", "srs", GOOD), "session_number", "whole number"),
             (("D1", 5, "patient", "nope", GOOD), "instrument", "unknown instrument")]
    for args, column, message in cases:
        with pytest.raises(ValidationError) as info:
            sr.save_form(clinic_con, T1, *args)
        assert any(p.column == column and message in p.message for p in info.value.problems)
    with pytest.raises(ValidationError):
        sr.save_form(clinic_con, T1, "D1", 5, "patient", "srs", GOOD, dt.date.today() + dt.timedelta(days=30))


def test_who_may_enter(clinic_con: duckdb.DuckDBPyConnection) -> None:
    con = clinic_con
    for who, dyad in ((T1, "D2"), (T1, "NOPE"), (S1, "D1")):  # another's patient, no dyad, a trainee's patient
        with pytest.raises(NotFoundError, match="not found or not permitted"):
            sr.save_form(con, who, dyad, 5, "patient", "srs", GOOD)
    for who in (Principal("c1", "coder", coder_id="C1"), Principal("q", "qi")):
        with pytest.raises(PermissionDeniedError):
            sr.save_form(con, who, "D1", 5, "patient", "srs", GOOD)
    with pytest.raises(NotFoundError):  # a dyad out of reach is refused before its answers are looked at
        sr.save_form(con, T1, "D2", 5, "patient", "srs", {"goals": "nonsense"})
    sr.save_form(con, S1, "D3", 3, "patient", "srs", GOOD)      # a supervisor's own patient
    sr.save_form(con, ADMIN, "D2", 1, "patient", "srs", GOOD)   # an administrator: any dyad
    sr.save_form(con, DEMO, "D4", 1, "patient", "srs", GOOD)    # demo mode: the demo user is an admin
    assert store.scalar(con, "SELECT count(DISTINCT dyad_id) FROM selfreport") == 3
    assert {r[0] for r in audit_rows(con, "enter self-report")} == {"s1@clinic", "admin@clinic", "demo"}


def test_export_rows_columns_alerts_and_scope(clinic_con: duckdb.DuckDBPyConnection) -> None:
    con = clinic_con
    sr.save_form(con, ADMIN, "D1", 1, "patient", "srs", {"relationship": 9, "goals": 9, "approach": 9, "overall": 9})
    sr.save_form(con, ADMIN, "D1", 2, "patient", "srs", {"relationship": 8, "goals": 9, "approach": 9, "overall": 9})
    sr.save_form(con, ADMIN, "D1", 2, "patient", "wai_sr", {str(i): 4 for i in range(1, 13)})
    sr.save_form(con, ADMIN, "D2", 1, "patient", "srs", {"relationship": 9, "goals": 9, "approach": 9, "overall": 9})
    rows = export.frame(con)
    assert list(rows.columns) == ["dyad_id", "session_number", "respondent", "instrument", "scale", "value", "alert"]
    assert rows.query("dyad_id == 'D1'")[["session_number", "instrument", "scale", "alert"]].values.tolist() == [
        [1, "srs", "total", ""], [2, "srs", "total", "below_cutoff;drop"], [2, "wai_sr", "total", ""],
        [2, "wai_sr", "bond", ""], [2, "wai_sr", "goal", ""], [2, "wai_sr", "task", ""]]
    assert export.frame(con, therapist_scope("T2")).dyad_id.unique().tolist() == ["D2"]


def test_cli_export_writes_audits_and_neutralises_formulas(tmp_path: Path) -> None:
    db = small_clinic_db(tmp_path / "c.duckdb")
    con = store.connect(db)
    con.execute("INSERT INTO dyad VALUES ('=HYPERLINK(\"x\")', 'T1', NULL, NULL)")
    sr.save_form(con, ADMIN, '=HYPERLINK("x")', 1, "patient", "srs", GOOD)
    con.close()
    out = tmp_path / "out" / "sr.csv"
    assert main(["export", "selfreports", "--out", str(out), "--db", str(db), "--by", "alice"]) == 0
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["dyad_id", "session_number", "respondent", "instrument", "scale", "value", "alert"]
    assert rows[0]["dyad_id"] == "'=HYPERLINK(\"x\")" and rows[0]["value"] == "35.3"
    assert rows[0]["alert"] == "below_cutoff"
    con = store.connect(db)
    assert audit_rows(con, "export self-reports") == [("alice", "cli", "selfreports", f"1 scale rows to {out}")]
