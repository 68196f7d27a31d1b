"""The self-reports in the PDFs (issue 18): the dyad report carries the patient's view (flags, the self-report
charts on the rupture chart's axis) and the discordant sessions; a dyad with self-reports only still gets a
report; the therapist report carries the alert counts."""

from __future__ import annotations

import datetime as dt

import duckdb

from rrrs_core import reports
from rrrs_core.queries import selfreport as q
from tests.builders import add_dyad, add_selfreport, rupture_items, srs, wai
from tests.test_reports import pdf_text


def with_forms(con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(con, "D1", 1, "srs", srs(37))
    add_selfreport(con, "D1", 1, "rupture_items", rupture_items(False))       # coders saw withdrawal
    add_selfreport(con, "D1", 2, "srs", srs(35))                               # below, and a drop
    add_selfreport(con, "D1", 3, "srs", srs(31))
    add_selfreport(con, "D1", 3, "wai_sr", wai(3, 2.5, 3))
    add_selfreport(con, "D1", 3, "rupture_items", rupture_items(True, 5, 1))  # unresolved
    add_selfreport(con, "D1", 6, "srs", srs(30), completed_on=dt.date(2026, 2, 12))


def test_dyad_report_carries_the_patients_view(clinic_con: duckdb.DuckDBPyConnection) -> None:
    with_forms(clinic_con)
    text = " ".join(pdf_text(reports.dyad_report(clinic_con, "D1", generated_by="tests")))
    assert "the patient's forms after 4 session(s); latest SRS 30.0 of 40 (session 6)" in text
    assert "The patient's view" in text and "4 of the 5 sessions on the axis are coded" in text
    assert "Alliance below cutoff (caseload flag, weight 2)" in text
    assert "Where the patient and the coders disagree" in text
    assert "1 of 2 sessions with both a coding and the patient's rupture answer disagree" in text
    assert "seen, not reported" in text and "1 withdrawal" in text
    assert "Withdrawal ruptures are by nature often unreported" in text


def test_dyad_report_without_self_reports_is_unchanged(clinic_con: duckdb.DuckDBPyConnection) -> None:
    text = " ".join(pdf_text(reports.dyad_report(clinic_con, "D1", generated_by="tests")))
    assert "Self-reports none" in text
    assert "The patient's view" not in text and "Where the patient and the coders disagree" not in text


def test_a_dyad_with_self_reports_only_gets_a_report(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_dyad(clinic_con, "D9", "T2")
    add_selfreport(clinic_con, "D9", 1, "srs", srs(38))
    add_selfreport(clinic_con, "D9", 2, "srs", srs(34))
    pages = pdf_text(reports.dyad_report(clinic_con, "D9", generated_by="tests"))
    text = " ".join(pages)
    assert "no coded sessions yet, so there is nothing to chart or review: the patient's self-reports follow" in text
    assert "The patient's view" in text and "0 of the 2 sessions on the axis are coded" in text
    assert "SRS dropped" in text


def test_therapist_report_carries_the_alert_counts(clinic_con: duckdb.DuckDBPyConnection) -> None:
    with_forms(clinic_con)
    alerts = q.therapist_alerts(clinic_con, "T1").set_index("dyad_id")
    # D1: forms after 4 sessions; below the cutoff at 2, 3, 6; drops at 2, 3, 6; one unresolved rupture.
    assert alerts.loc["D1", ["n_reported", "n_below_cutoff", "n_drop", "n_rupture_unresolved"]].tolist() == [4, 3, 3, 1]
    text = " ".join(pdf_text(reports.therapist_report(clinic_con, "T1", generated_by="tests")))
    assert "Patients' self-reports: alerts" in text
    assert "4 sessions with the patient's self-report" in text and "7 self-report alerts" in text
    assert "D1 4 3 3 1 30.0 (session 6)" in text
    assert "No patient of this therapist has a self-report yet." in " ".join(
        pdf_text(reports.therapist_report(clinic_con, "T2", generated_by="tests")))
