"""`rrrs report ...` as a user runs it, and the batch of one report per therapist."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rrrs_core.reports import report_all
from rrrs_core.reports.batch import file_names
from tests.test_cli import run
from tests.test_reports import pdf_text


def test_report_dyad_command(clinic_db: Path, tmp_path: Path):
    out = tmp_path / "out" / "d1.pdf"
    res = run("report", "dyad", "--dyad", "D1", "--out", str(out), "--db", str(clinic_db), "--user", "erin")
    assert res.returncode == 0, res.stderr
    assert out.read_bytes().startswith(b"%PDF")
    text = " ".join(pdf_text(out.read_bytes()))
    assert "Supervision report: dyad D1" in text and "Generated for erin on" in text


def test_report_commands_for_therapist_and_clinic(clinic_db: Path, tmp_path: Path):
    res = run("report", "therapist", "--therapist", "T1", "--out", str(tmp_path / "t1.pdf"), "--threshold", "3",
              env_db=clinic_db)
    assert res.returncode == 0, res.stderr
    assert "D1" in " ".join(pdf_text((tmp_path / "t1.pdf").read_bytes()))
    res = run("report", "clinic", "--out", str(tmp_path / "clinic.pdf"), "--period", "quarter", env_db=clinic_db)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "clinic.pdf").stat().st_size > 1000


def test_unknown_ids_exit_1_and_write_nothing(clinic_db: Path, tmp_path: Path):
    for args in (("dyad", "--dyad", "D99"), ("therapist", "--therapist", "T99")):
        out = tmp_path / "x.pdf"
        res = run("report", *args, "--out", str(out), "--db", str(clinic_db))
        assert res.returncode == 1
        assert "not found" in res.stderr and args[-1] in res.stderr and "Traceback" not in res.stderr
        assert not out.exists()


def test_missing_database_is_a_message(tmp_path: Path):
    res = run("report", "clinic", "--out", str(tmp_path / "c.pdf"), "--db", str(tmp_path / "none.duckdb"))
    assert res.returncode == 1 and "Traceback" not in res.stderr and not (tmp_path / "c.pdf").exists()


def test_report_all_command_uses_worker_processes(clinic_db: Path, tmp_path: Path):
    res = run("report", "all", "--out-dir", str(tmp_path / "all"), "--workers", "2", env_db=clinic_db)
    assert res.returncode == 0, res.stderr
    assert "Wrote 3 therapist reports" in res.stdout
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [
        "therapist-S1.pdf", "therapist-T1.pdf", "therapist-T2.pdf"]


def test_report_all_in_process_with_progress(clinic_db: Path, tmp_path: Path):
    seen: list[tuple[int, int]] = []
    now = datetime(2026, 3, 1, 9, 0)
    paths = report_all(clinic_db, tmp_path / "all", generated_by="fay", workers=1, now=now,
                       progress=lambda done, total: seen.append((done, total)))
    assert [p.name for p in paths] == ["therapist-S1.pdf", "therapist-T1.pdf", "therapist-T2.pdf"]
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    text = " ".join(pdf_text(paths[1].read_bytes()))
    assert "therapist T1" in text and "Generated for fay on 2026-03-01 09:00" in text
    assert not list((tmp_path / "all").glob(".*part"))


def test_file_names_are_safe_and_unique():
    names = file_names(["T1", "../x", "a/b", "a b", "t1"])
    assert names["T1"] == "therapist-T1.pdf"
    assert names["../x"] == "therapist-x.pdf"
    assert "/" not in names["a/b"] and names["a/b"] != names["a b"]
    assert names["t1"].lower() != names["T1"].lower()
