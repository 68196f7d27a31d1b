"""Opening the DuckDB file, applying migrations, and running writes as all-or-nothing transactions."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from rrrs_core import codebook as cb
from rrrs_core.errors import DatabaseBusyError, RrrsError
from rrrs_core.migrations import MIGRATIONS
from rrrs_core.views import create_views

DEFAULT_DB = Path("data") / "rrrs.duckdb"


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--db` wins, then `RRRS_DB`, then `data/rrrs.duckdb`."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("RRRS_DB")
    return Path(env) if env else DEFAULT_DB


def connect(path: str | os.PathLike[str] | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) and migrate the store; `":memory:"` gives a throwaway database.

    `read_only` lets several processes (batch report workers) share a file no writer holds.
    """
    target = ":memory:" if str(path) == ":memory:" else str(db_path(path))
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(target, read_only=read_only and target != ":memory:")
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusyError(
                f"The database {target} is in use by another process (is the app running?). "
                "Stop it or use another --db, then try again."
            ) from exc
        raise RrrsError(f"Cannot open the database {target}: {exc}") from exc
    if read_only and target != ":memory:":
        if schema_version(con) < MIGRATIONS[-1][0]:
            raise RrrsError(f"The database {target} needs upgrading; open it once without read-only access.")
        return con
    migrate(con)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All-or-nothing: any exception rolls back, so a failed write leaves the database as it was."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    row = one(con, "SELECT coalesce(max(version), 0) FROM schema_migrations")
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations, each in its own transaction and recorded; returns those applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    done = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in MIGRATIONS:
        if version in done:
            continue
        with transaction(con):
            con.execute(sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, current_localtimestamp())", [version, name]
            )
        applied.append(version)
    sync_codebooks(con)
    create_views(con)
    return applied


def sync_codebooks(con: duckdb.DuckDBPyConnection) -> None:
    """Make the database's copy of each codebook match the code, so SQL can join codes to families."""
    rows = [
        (book.id, book.version, code.key, code.family, code.label, i)
        for book in cb.CODEBOOKS.values()
        for i, code in enumerate(book.codes)
    ]
    have = con.execute(
        "SELECT codebook_id, codebook_version, key, family, label, position FROM codebook_code"
    ).fetchall()
    if sorted(have) == sorted(rows):
        return
    with transaction(con):
        con.execute("DELETE FROM codebook_code")
        con.executemany("INSERT INTO codebook_code VALUES (?, ?, ?, ?, ?, ?)", rows)


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> tuple | None:
    """First row, with the result fully consumed (DuckDB 2 refuses some work while a result is unread)."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> object:
    row = one(con, sql, params)
    return row[0] if row else None
