"""A throwaway PostgreSQL cluster for the shared-store tests: Debian's server binaries, `initdb` in a temporary
folder, a free port on 127.0.0.1, trust authentication for this machine only, removed at the end.

One cluster serves the whole test session; each test gets its own database (`create_database`), copied from a
template that is already migrated when the caller has one, since DuckLake's catalog tables and rrrs's
migrations take about a second to create and `CREATE DATABASE ... TEMPLATE` a few tens of milliseconds.

The server runs as the `postgres` OS account when the tests run as root (initdb refuses root), so its folder
belongs to that account. Nothing here skips: a machine that cannot start PostgreSQL fails the lake tests.
"""

from __future__ import annotations

import atexit
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SERVER_USER = "postgres"  # the OS account that runs the server when tests run as root, and the DB superuser
# A test cluster needs no durability: these make CREATE DATABASE and DuckLake's catalog commits fast.
FAST = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200",
        "shared_buffers": "32MB", "max_locks_per_transaction": "256"}


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's binaries are missing or the server would not start (a failed run, never a skip)."""


def bin_dir() -> Path:
    """Debian's newest installed PostgreSQL server (`/usr/lib/postgresql/<version>/bin`)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise PostgresUnavailable("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run "
                                  "`make browser-deps` (as root it apt-get installs postgresql).")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *cmd] if os.geteuid() == 0 else cmd


@dataclass
class PgServer:
    """A running cluster: `dsn(name)` is a libpq connection string for one of its databases."""

    root: Path
    port: int
    host: str = "127.0.0.1"
    user: str = SERVER_USER
    _stopped: bool = field(default=False, repr=False)
    _n: int = field(default=0, repr=False)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def dsn(self, dbname: str = "postgres") -> str:
        return f"dbname={dbname} host={self.host} port={self.port} user={self.user}"

    def sql(self, statement: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.dsn(dbname), autocommit=True) as pg:
            pg.execute(statement)  # type: ignore[arg-type]

    def create_database(self, template: str | None = None) -> str:
        """A new, uniquely named database (a copy of `template` when given); returns its name."""
        self._n += 1
        name = f"t{os.getpid()}_{self._n}"
        self.sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def stop(self) -> None:
        """Stop the server and remove its folder (idempotent; also registered with atexit)."""
        if self._stopped:
            return
        self._stopped = True
        subprocess.run(_as_server([str(bin_dir() / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate",
                                   "-s"]), capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start(timeout: float = 30.0) -> PgServer:
    """initdb and start a cluster in a fresh temporary folder; raises PostgresUnavailable with the server's log."""
    binaries = bin_dir()
    root = Path(tempfile.mkdtemp(prefix="rrrs-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, SERVER_USER, SERVER_USER)
    data = root / "data"
    init = subprocess.run(_as_server([str(binaries / "initdb"), "-D", str(data), "-U", SERVER_USER, "-A", "trust",
                                      "-E", "UTF8", "--no-sync", "--no-instructions"]),
                          capture_output=True, text=True, check=False)
    if init.returncode:
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed: {init.stderr.strip() or init.stdout.strip()}")
    # Only this machine, over TCP on 127.0.0.1 and the server's own socket folder: trust is safe nowhere else.
    (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
    for _attempt in range(3):
        port = free_port()
        options = " ".join([f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root}",
                            *(f"-c {k}={v}" for k, v in FAST.items())])
        run = subprocess.run(_as_server([str(binaries / "pg_ctl"), "start", "-D", str(data), "-s", "-w",
                                         "-t", str(int(timeout)), "-l", str(root / "server.log"), "-o", options]),
                             capture_output=True, text=True, check=False)
        if run.returncode == 0:
            server = PgServer(root, port)
            atexit.register(server.stop)
            return server
        time.sleep(0.2)  # the port was taken between choosing and binding it: try another
    log = (root / "server.log").read_text(errors="replace")[-2000:] if (root / "server.log").exists() else ""
    shutil.rmtree(root, ignore_errors=True)
    raise PostgresUnavailable(f"PostgreSQL would not start: {run.stderr.strip()}\n{log}")


# ---------------------------------------------------------------- stores for tests

TEST_AUDIT_KEY = secrets.token_hex(32)  # one per run: every copy of the template was sealed with it


@dataclass(frozen=True)
class Template:
    """A migrated shared store every test's store is copied from: its catalog database and its data files."""

    dbname: str
    data: Path


def make_template(server: PgServer, base: Path, fill: Callable[[object], None] | None = None) -> Template:
    """Create and migrate a shared store once, then `fill(connection)` it if given; closed afterwards, so
    PostgreSQL can copy its database."""
    from rrrs_core import store

    name, data = server.create_database(), base / "template-data"
    saved = os.environ.get("RRRS_AUDIT_KEY")
    os.environ["RRRS_AUDIT_KEY"] = TEST_AUDIT_KEY
    location = f"ducklake:postgres:{server.dsn(name)}"
    try:
        con = store.connect(location, data_path=data)
        if fill is not None:
            fill(con)
        con.close()
        store.release(location)
    finally:
        if saved is None:
            os.environ.pop("RRRS_AUDIT_KEY")
        else:
            os.environ["RRRS_AUDIT_KEY"] = saved
    return Template(name, data)


def new_lake(server: PgServer, template: Template, base: Path) -> tuple[str, Path]:
    """A fresh shared store (location, data path): the template's catalog database and data files, copied,
    with the copy's data path pointed at its own folder (DuckLake stores file paths relative to it)."""
    name = server.create_database(template.dbname)
    data = base / "lake-data"
    shutil.copytree(template.data, data)
    server.sql(f"UPDATE ducklake_metadata SET value = '{data}/' WHERE key = 'data_path'", name)
    return f"ducklake:postgres:{server.dsn(name)}", data


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """The session's PostgreSQL; if it cannot start, every test using it fails (a skipped backend is a failed
    run)."""
    server = start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lake_template(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Template:
    return make_template(pg_server, tmp_path_factory.mktemp("lake-template"))


@pytest.fixture(scope="session")
def lake_clinic_template(pg_server: PgServer, tmp_path_factory: pytest.TempPathFactory) -> Template:
    """The small clinic (tests/builders.py) on a shared store, built once: its ~30 small transactions take
    seconds on DuckLake, a copy a fraction of one."""
    from tests.builders import small_clinic

    return make_template(pg_server, tmp_path_factory.mktemp("lake-clinic"), small_clinic)


def _lake(server: PgServer, template: Template, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    location, data = new_lake(server, template, tmp_path)
    monkeypatch.setenv("RRRS_DATA_PATH", str(data))
    monkeypatch.setenv("RRRS_AUDIT_KEY", TEST_AUDIT_KEY)
    return location


@pytest.fixture
def lake_location(pg_server: PgServer, lake_template: Template, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, migrated shared store for one test, with $RRRS_DATA_PATH and $RRRS_AUDIT_KEY set for it (so
    the app and the CLI under test, and their subprocesses, open it as a deployment would)."""
    return _lake(pg_server, lake_template, tmp_path, monkeypatch)


@pytest.fixture
def lake_clinic_location(pg_server: PgServer, lake_clinic_template: Template, tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> str:
    """As `lake_location`, holding the small clinic."""
    return _lake(pg_server, lake_clinic_template, tmp_path, monkeypatch)
