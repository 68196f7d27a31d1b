"""The `rrrs` console script as a user runs it: exit codes, messages, files."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from rrrs_core.export import summary_columns
from tests.tables import read_ok, write_folder

RRRS = [sys.executable, "-m", "rrrs_core.cli"]


def run(*args: str, env_db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("RRRS_DB", None)
    if env_db:
        env["RRRS_DB"] = str(env_db)
    return subprocess.run([*RRRS, *args], capture_output=True, text=True, env=env, timeout=120)


def test_import_export_round_trip(tmp_path):
    db = tmp_path / "x.duckdb"
    res = run("import", str(write_folder(tmp_path / "ok")), "--db", str(db))
    assert res.returncode == 0, res.stderr
    assert "4 new codings" in res.stdout
    out = tmp_path / "out" / "summary.csv"
    res = run("export", "summary", "--out", str(out), env_db=db)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == summary_columns()
    d1s2 = next(r for r in rows if r["dyad_id"] == "D1" and r["session_number"] == "2" and r["coder_id"] == "C1")
    assert (d1s2["confrontation_segments"], d1s2["therapist_contribution"], d1s2["seg_complaint_therapist"]) == \
        ("1", "5", "1")
    pending = next(r for r in rows if r["dyad_id"] == "D2")
    assert pending["overall_resolution"] == "" and pending["therapist_contribution"] == ""


def test_invalid_input_exits_2_with_every_problem(tmp_path):
    frames = read_ok()
    frames["marks"].loc[0, "code"] = "denail"
    frames["ratings"].loc[0, "rating"] = "7"
    db = tmp_path / "x.duckdb"
    res = run("import", str(write_folder(tmp_path / "bad", frames)), "--db", str(db))
    assert res.returncode == 2
    assert "marks.csv, row 2, column 'code' (value 'denail')" in res.stderr
    assert "ratings.csv, row 2, column 'rating' (value '7')" in res.stderr
    assert "nothing was imported" in res.stderr
    assert "Traceback" not in res.stderr


def test_replace_flag(tmp_path):
    db = tmp_path / "x.duckdb"
    assert run("import", str(write_folder(tmp_path / "v1")), "--db", str(db)).returncode == 0
    frames = read_ok()
    frames["marks"] = frames["marks"].iloc[:-1]
    v2 = write_folder(tmp_path / "v2", frames)
    res = run("import", str(v2), "--db", str(db))
    assert res.returncode == 2 and "--replace" in res.stderr
    res = run("import", str(v2), "--db", str(db), "--replace")
    assert res.returncode == 0 and "1 replaced" in res.stdout


def test_missing_path_is_a_message(tmp_path):
    res = run("import", str(tmp_path / "nope"), "--db", str(tmp_path / "x.duckdb"))
    assert res.returncode == 2 and "no such file or folder" in res.stderr and "Traceback" not in res.stderr


def test_demo_command_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run("demo", "--out", str(a), "--dyads", "6", "--seed", "3").returncode == 0
    assert run("demo", "--out", str(b), "--dyads", "6", "--seed", "3").returncode == 0
    for name in ("sessions.csv", "marks.csv", "ratings.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / "SYNTHETIC.txt").exists()
    res = run("import", str(a), "--db", str(tmp_path / "d.duckdb"))
    assert res.returncode == 0 and "[synthetic demo data]" in res.stdout


def test_export_neutralises_formulas():
    import pandas as pd

    from rrrs_core.export import neutralise_formulas

    out = neutralise_formulas(pd.DataFrame({"dyad_id": ["=HYPERLINK(1)", "D1", "@x", "-2+3"], "n": [1, -2, 3, 4]}))
    assert out.dyad_id.tolist() == ["'=HYPERLINK(1)", "D1", "'@x", "'-2+3"]
    assert out.n.tolist() == [1, -2, 3, 4]


def test_scoresheets_import_from_the_cli(tmp_path):
    from rrrs_core import scoresheet_xlsx as sx

    blank = sx.template(dyad_id="D7", session_number=1, coder_id="C1", therapist_id="T7", n_segments=9)
    (tmp_path / "s1.xlsx").write_bytes(blank)
    (tmp_path / "s2.xlsx").write_bytes(sx.template(dyad_id="D7", session_number=2, coder_id="C1",
                                                   therapist_id="T7", n_segments=9))
    db = tmp_path / "x.duckdb"
    res = run("import", str(tmp_path / "s1.xlsx"), str(tmp_path / "s2.xlsx"), "--db", str(db))
    assert res.returncode == 0, res.stderr
    assert "2 new codings" in res.stdout
    res = run("import", str(tmp_path), "--db", str(db))
    assert res.returncode == 0 and "2 unchanged" in res.stdout


def test_users_and_audit_commands(tmp_path):
    db = tmp_path / "x.duckdb"
    assert run("import", str(write_folder(tmp_path / "ok")), "--db", str(db)).returncode == 0
    res = run("users", "add", "sup@clinic", "--role", "supervisor", "--therapist", "S1", "--db", str(db))
    assert res.returncode == 0 and "supervisor" in res.stdout
    res = run("users", "add", "x@clinic", "--role", "therapist", "--therapist", "NOPE", "--db", str(db))
    assert res.returncode == 1 and "No therapist 'NOPE'" in res.stderr
    assert run("users", "assign", "--coder", "C1", "--dyad", "D1", "--session", "2", "--db", str(db)).returncode == 0
    assert run("users", "revoke", "sup@clinic", "--db", str(db)).returncode == 0
    listing = run("users", "list", "--db", str(db)).stdout
    assert "sup@clinic" in listing and "False" in listing
    assert run("audit", "verify", "--db", str(db)).stdout.splitlines()[0] == "The audit trail is intact."
    out = tmp_path / "audit.csv"
    assert run("audit", "export", "--out", str(out), "--db", str(db)).returncode == 0
    assert out.read_text().count("manage users") == 3  # add, assign (which grants a coder a session), revoke
    assert "assigned to coder C1" in out.read_text()


def test_unexpected_errors_are_one_line_not_a_traceback(monkeypatch, capsys):
    """A missing package or a bug below a command prints one line and exits 1; RRRS_DEBUG=1 re-raises."""
    import pytest

    from rrrs_core import cli

    def missing(args):
        raise ModuleNotFoundError("No module named 'tokenizers'", name="tokenizers")

    def broken(args):
        raise KeyError("segment")

    parser = cli.build_parser()
    for func, expected in ((missing, "not installed (tokenizers); run `make install`"),
                           (broken, "unexpected error (KeyError")):
        monkeypatch.setattr(cli, "build_parser", lambda f=func: _with_func(parser, f))
        monkeypatch.delenv("RRRS_DEBUG", raising=False)
        assert cli.main(["instruments"]) == 1
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err
    monkeypatch.setenv("RRRS_DEBUG", "1")
    with pytest.raises(KeyError):
        cli.main(["instruments"])


def _with_func(parser, func):
    """The real parser, whose parsed arguments call `func` instead of the command."""
    class Wrapped:
        def parse_args(self, argv):
            args = parser.parse_args(argv)
            args.func = func
            return args
    return Wrapped()
