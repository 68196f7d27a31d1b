"""How CLI commands reach their store: `--data-path` beside every `--db`, the busy-file message when the app
holds the embedded file, and no password of a store location in any message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rrrs_core import cli, cli_admin, cli_store
from rrrs_core.cli_store import DATA_PATH_ENV, _parsers, redact

ROOT = Path(__file__).resolve().parents[1]
HOLD = """
import sys
from rrrs_core import store
con = store.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
"""


def commands_with_db() -> set[str]:
    return {p.prog for p in _parsers(cli.build_parser()) if "--db" in p._option_string_actions}


def store_commands(tmp: Path) -> dict[str, list[str]]:
    """One runnable invocation of every command that opens the store (without --db)."""
    out = str(tmp / "out")
    (tmp / "s.csv").write_text("turn,speaker,text\n1,T,Hello\n")  # a valid transcript: it is read before the store
    session = ["--dyad", "D1", "--session", "1"]
    return {
        "rrrs import": ["import", str(tmp)],
        "rrrs export summary": ["export", "summary", "--out", f"{out}.csv"],
        "rrrs users list": ["users", "list"],
        "rrrs users add": ["users", "add", "someone", "--role", "admin"],
        "rrrs users revoke": ["users", "revoke", "someone"],
        "rrrs users assign": ["users", "assign", "--coder", "C1", "--dyad", "D1", "--session", "1"],
        "rrrs audit verify": ["audit", "verify"],
        "rrrs audit export": ["audit", "export", "--out", f"{out}.csv"],
        "rrrs report dyad": ["report", "dyad", "--dyad", "D1", "--out", f"{out}.pdf"],
        "rrrs report therapist": ["report", "therapist", "--therapist", "T1", "--out", f"{out}.pdf"],
        "rrrs report clinic": ["report", "clinic", "--out", f"{out}.pdf"],
        "rrrs report reliability": ["report", "reliability", "--out", f"{out}.pdf"],
        "rrrs report all": ["report", "all", "--out-dir", out],
        "rrrs reliability": ["reliability", "--out", f"{out}.csv"],
        "rrrs export selfreports": ["export", "selfreports", "--out", f"{out}-sr.csv"],
        "rrrs instruments": ["instruments"],
        "rrrs attach transcript": ["attach", "transcript", str(tmp / "s.csv"), *session],
        "rrrs attach recording": ["attach", "recording", "s.mp4", *session],
        "rrrs transcript show": ["transcript", "show", *session],
        "rrrs transcript delete": ["transcript", "delete", *session],
        "rrrs transcript purge": ["transcript", "purge"],
    }


def test_every_command_with_db_takes_data_path():
    names = commands_with_db()
    assert {"rrrs import", "rrrs audit verify", "rrrs report all", "rrrs reliability"} <= names
    for p in _parsers(cli.build_parser()):
        if p.prog in names:
            assert "--data-path" in p._option_string_actions, p.prog
            assert "DuckLake" in p._option_string_actions["--db"].help, p.prog


def test_data_path_is_the_environment_while_a_command_runs(monkeypatch, tmp_path):
    """`--data-path` reaches the commands that open the store themselves (reports, reliability, workers) as
    $RRRS_DATA_PATH, and only while the command runs."""
    seen = {}

    def fake(args):
        seen["env"] = os.environ.get(DATA_PATH_ENV)
        seen["arg"] = cli_store.data_path(args)
        return 0

    monkeypatch.delenv(DATA_PATH_ENV, raising=False)
    monkeypatch.setattr(cli_admin, "_audit", fake)
    argv = ["audit", "verify", "--db", str(tmp_path / "x.duckdb")]
    assert cli.main([*argv, "--data-path", "/mnt/lake"]) == 0
    assert seen == {"env": "/mnt/lake", "arg": "/mnt/lake"}
    assert DATA_PATH_ENV not in os.environ
    monkeypatch.setenv(DATA_PATH_ENV, "/from/env")
    assert cli.main(argv) == 0 and seen == {"env": "/from/env", "arg": "/from/env"}


@pytest.mark.parametrize("location", [
    "ducklake:postgres:dbname=rrrs host=db.example port=5432 user=rrrs password=s3cret-Pw",
    "ducklake:postgres:dbname=rrrs password='s3cret-Pw with space' host=db.example",
    "ducklake:postgres:postgresql://rrrs:s3cret-Pw@db.example:5432/rrrs",
    "ducklake:postgres:dbname=rrrs PASSWORD = s3cret-Pw",
])
def test_redact_hides_the_password(location):
    text = redact(f"Cannot open the database {location}: connection refused")
    assert "s3cret" not in text
    assert "db.example" in text or "dbname=rrrs" in text, "the rest of the location stays, to be fixed"


def test_cli_errors_never_print_a_password(capsys, monkeypatch):
    """An error naming the location, from any command, goes out with the password masked."""
    from rrrs_core.errors import RrrsError

    location = "ducklake:postgres:dbname=rrrs host=127.0.0.1 password=s3cret-Pw"

    def failing(args):
        raise RrrsError(f"Cannot open the database {args.db}: could not connect")

    monkeypatch.setattr(cli_admin, "_users", failing)
    assert cli.main(["users", "list", "--db", location]) == 1
    err = capsys.readouterr().err
    assert "Cannot open the database" in err and "s3cret" not in err


@pytest.fixture
def held_db(tmp_path):
    """A store file whose write lock a separate process holds, as the running app does."""
    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        yield db
    finally:
        holder.communicate("", timeout=60)


def test_every_command_says_what_to_do_when_the_app_holds_the_file(held_db, tmp_path, capsys):
    commands = store_commands(tmp_path)
    assert set(commands) == commands_with_db(), "a new command with --db: add it here"
    for name, argv in commands.items():
        capsys.readouterr()
        assert cli.main([*argv, "--db", str(held_db)]) == 1, name
        err = capsys.readouterr().err
        assert "is in use by another process" in err, (name, err)
        assert "Data page" in err and "shared store" in err, (name, err)
        assert "Traceback" not in err and "PID" not in err, (name, err)
    assert not (tmp_path / "out.pdf").exists() and not (tmp_path / "out.csv").exists()


def test_the_console_script_says_it_too(held_db, tmp_path):
    """As a user runs it: a new process, exit code 1, the advice on stderr and no traceback."""
    from tests.tables import write_folder

    env = {k: v for k, v in os.environ.items() if k != "RRRS_DB"}
    res = subprocess.run([sys.executable, "-m", "rrrs_core.cli", "import", str(write_folder(tmp_path / "ok")),
                          "--db", str(held_db)], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 1
    assert "in use by another process" in res.stderr and "import, use the app's Data page" in res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""


def test_a_busy_shared_store_keeps_its_own_message(capsys, monkeypatch):
    """The file advice is for a file: a shared store's write lock that waited too long says so itself."""
    from rrrs_core.errors import DatabaseBusyError

    def busy(args):
        raise DatabaseBusyError("Another process has been writing to the shared store for over 5 minutes; try "
                                "again later.")

    monkeypatch.setattr(cli_admin, "_users", busy)
    assert cli.main(["users", "list", "--db", "ducklake:postgres:dbname=rrrs host=h password=pw123456"]) == 1
    err = capsys.readouterr().err
    assert "writing to the shared store for over 5 minutes" in err
    assert "Data page" not in err and "pw123456" not in err


def test_import_into_a_shared_store_with_data_path(pg_server, tmp_path, monkeypatch):
    """`rrrs import --db ducklake:postgres:... --data-path DIR` as a user runs it: a new store is created with
    its data files under DIR, and `rrrs audit verify` on it (data path remembered by the catalog) passes."""
    from tests.support.postgres import TEST_AUDIT_KEY
    from tests.tables import write_folder

    location = f"ducklake:postgres:{pg_server.dsn(pg_server.create_database())}"
    data = tmp_path / "lake files"
    env = {k: v for k, v in os.environ.items() if k not in ("RRRS_DB", DATA_PATH_ENV)}
    env["RRRS_AUDIT_KEY"] = TEST_AUDIT_KEY
    rrrs = [sys.executable, "-m", "rrrs_core.cli"]
    res = subprocess.run([*rrrs, "import", str(write_folder(tmp_path / "ok")), "--db", location, "--data-path",
                          str(data)], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "4 new codings" in res.stdout
    assert data.is_dir(), "the store was created with the data path given"
    res = subprocess.run([*rrrs, "audit", "verify", "--db", location], capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    assert "The audit trail is intact." in res.stdout


def test_a_shared_store_error_never_prints_its_password(pg_server, capsys, monkeypatch):
    """A real failed connection (a role the catalog server does not know): the message names the store, not
    the password."""
    monkeypatch.setenv("RRRS_AUDIT_KEY", "k" * 40)
    location = (f"ducklake:postgres:dbname=postgres host={pg_server.host} port={pg_server.port} user=nobody_here "
                "password=s3cret-Pw")
    assert cli.main(["users", "list", "--db", location, "--data-path", "/tmp/nowhere-rrrs"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rrrs: ") and "Traceback" not in err
    assert "s3cret" not in err
