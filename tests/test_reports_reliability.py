"""The reliability PDF: the methods-section table for a design, from the CLI and from the page."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from rrrs_core import store
from rrrs_core.reliability.design import Design
from rrrs_core.reliability.table import reliability
from rrrs_core.reports import reliability_report
from tests.test_cli import run
from tests.test_reliability_store import double_coded_clinic
from tests.test_reports import pdf_text

NOW = datetime(2026, 3, 1, 9, 0)


@pytest.fixture
def rel_db(tmp_path: Path) -> Path:
    path = tmp_path / "rel.duckdb"
    con = store.connect(path)
    double_coded_clinic(con)
    con.close()
    return path


def test_pdf_holds_the_lead_icc_with_ci_and_n_and_presence_statistics(rel_db):
    con = store.connect(rel_db, read_only=True)
    design = Design(coders=("C1", "C2"))
    pdf = reliability_report(con, design, generated_by="Dr X", now=NOW)
    frame = reliability(con, design)
    con.close()
    text = " ".join(pdf_text(pdf))
    assert "fully crossed: sessions coded by each of C1, C2" in text and "ICC(2,1)" in text
    assert "check-minus counts as absent" in text
    row = frame[(frame.item == "seg_denial") & (frame.statistic == "ICC2")].iloc[0]
    shown = f"{row.value:.2f}".replace("0.", ".", 1)
    assert f"Denial: segments marked {shown} [{row.ci_low:.2f}".replace("[0.", "[.") in text
    assert "no variance" in text  # an empty cell with its reason
    assert pdf == reliability_report(store.connect(rel_db, read_only=True), design, generated_by="Dr X", now=NOW)


def test_cli_writes_the_pdf_and_refuses_too_few_data(rel_db, tmp_path):
    out = tmp_path / "rel.pdf"
    res = run("report", "reliability", "--out", str(out), "--db", str(rel_db), "--user", "dr.x")
    assert res.returncode == 0, res.stderr
    assert out.read_bytes().startswith(b"%PDF") and "routine double-coding" in " ".join(pdf_text(out.read_bytes()))
    con = store.connect(rel_db, read_only=True)
    rows = con.execute("SELECT actor, action, target FROM audit WHERE action = 'generate pdf'").fetchall()
    con.close()
    assert rows == [("dr.x", "generate pdf", "reliability")]
    res = run("report", "reliability", "--out", str(tmp_path / "x.pdf"), "--db", str(rel_db), "--coders", "C1,C5")
    assert res.returncode == 2 and "Too few data" in res.stderr and not (tmp_path / "x.pdf").exists()


def test_page_offers_the_pdf(monkeypatch, rel_db):
    from tests.apptest import open_page

    at = open_page(monkeypatch, rel_db, "reliability")
    assert "Download reliability report (PDF)" in [b.label for b in at.get("download_button")]
