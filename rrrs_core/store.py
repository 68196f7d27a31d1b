"""Opening the DuckDB file, applying migrations, and running writes as all-or-nothing transactions."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb

from rrrs_core import codebook as cb
from rrrs_core.errors import DatabaseBusyError, EncryptionKeyError, RrrsError
from rrrs_core.migrations import MIGRATIONS
from rrrs_core.views import create_views

DEFAULT_DB = Path("data") / "rrrs.duckdb"


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """`--db` wins, then `RRRS_DB`, then `data/rrrs.duckdb`."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("RRRS_DB")
    return Path(env) if env else DEFAULT_DB


# Held for the whole transaction by every writer that adds codings or sessions (the import, the scoresheet):
# their composite keys have no index (migration 7), so their uniqueness rests on the writers' own checks,
# which hold only if one such writer runs at a time. DuckDB admits one writing process per file, so a
# process-wide lock is enough; it waits instead of failing a second save.
CODING_WRITES = threading.RLock()

KEY_ENV = "RRRS_DB_KEY"
CATALOG = "rrrs"


def _load_crypto(con: duckdb.DuckDBPyConnection) -> None:
    """Load httpfs from its PyPI wheel (never downloaded at run time): DuckDB needs its OpenSSL crypto to
    write encrypted files; the built-in module only reads them."""
    import duckdb_extension_httpfs

    ext = Path(duckdb_extension_httpfs.__file__).parent / "extensions" / f"v{duckdb.__version__}" / \
        "httpfs.duckdb_extension"
    if not ext.exists():
        raise RrrsError(f"The encryption extension for DuckDB {duckdb.__version__} is missing ({ext}); "
                        "reinstall rrrs so duckdb and duckdb-extension-httpfs versions match.")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute(f"LOAD '{ext}'")


def _open(target: str, read_only: bool, key: str | None) -> duckdb.DuckDBPyConnection:
    if key is None or target == ":memory:":
        return duckdb.connect(target, read_only=read_only and target != ":memory:")
    con = duckdb.connect(":memory:")
    _load_crypto(con)
    # Sorts, joins and imports bigger than memory spill to temp files (under .tmp/); with the database
    # encrypted they must not hold its rows in plaintext.
    con.execute("SET temp_file_encryption = true")
    quoted_path, quoted_key = target.replace("'", "''"), key.replace("'", "''")
    options = f"ENCRYPTION_KEY '{quoted_key}'" + (", READ_ONLY" if read_only else "")
    try:
        con.execute(f"ATTACH '{quoted_path}' AS {CATALOG} ({options})")
    except duckdb.Error as exc:
        con.close()
        if "key" in str(exc).lower() or "decrypt" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise EncryptionKeyError(f"Cannot open {target}: wrong or missing encryption key (${KEY_ENV}).") from exc
        raise
    con.execute(f"USE {CATALOG}")
    return con


def connect(path: str | os.PathLike[str] | None = None, read_only: bool = False,
            key: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) and migrate the store; `":memory:"` gives a throwaway database.

    `read_only` lets several processes (batch report workers) share a file no writer holds. With an
    encryption key (argument or $RRRS_DB_KEY) the file is encrypted at rest (AES, DuckDB ENCRYPTION_KEY).
    """
    target = ":memory:" if str(path) == ":memory:" else str(db_path(path))
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    key = key if key is not None else (os.environ.get(KEY_ENV) or None)
    try:
        con = _open(target, read_only, key)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusyError(
                f"The database {target} is in use by another process (is the app running?). "
                "Stop it or use another --db, then try again."
            ) from exc
        raise RrrsError(f"Cannot open the database {target}: {exc}") from exc
    except duckdb.Error as exc:
        if "encrypted" in str(exc).lower():
            raise EncryptionKeyError(f"{target} is encrypted: set ${KEY_ENV} to its key.") from exc
        raise RrrsError(f"Cannot open the database {target}: {exc}") from exc
    con.execute("SET enable_progress_bar = false")  # the CLI draws its own; DuckDB's would garble output
    if read_only and target != ":memory:":
        if schema_version(con) < MIGRATIONS[-1][0]:
            raise RrrsError(f"The database {target} needs upgrading; open it once without read-only access.")
        return con
    migrate(con)
    return con


def attached(con: duckdb.DuckDBPyConnection) -> bool:
    """Is the store the encrypted catalog attached by `connect` (not the connection's own database)?"""
    return bool(scalar(con, "SELECT count(*) FROM duckdb_databases() WHERE database_name = ?", [CATALOG]))


def cursor(con: duckdb.DuckDBPyConnection, catalog: bool | None = None) -> duckdb.DuckDBPyConnection:
    """A thread's own connection to the same database (and, when encrypted, the same attached catalog).
    `catalog` is `attached(con)` when the caller already knows it (the app asks once, not on every cursor)."""
    if catalog is None:
        catalog = attached(con)
    cur = con.cursor()
    if catalog:
        cur.execute(f"USE {CATALOG}")
    return cur


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
            _after(con, version)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, current_localtimestamp())", [version, name]
            )
        applied.append(version)
    sync_codebooks(con)
    create_views(con)
    from rrrs_core.selfreport import schema as selfreport_schema  # here: it writes through this module

    selfreport_schema.install(con)  # instrument definitions synced, self-report views (migration 10)
    from rrrs_core import pseudonym  # here, not at the top: pseudonym uses this module's transaction()

    pseudonym.ensure_secret(con)  # so read-only report workers always find the clinic's pseudonym key
    return applied


def _after(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """The Python half of a migration, in its transaction: migration 8 signs the audit anchor with a key the
    database does not hold (so SQL alone cannot)."""
    if version == 8:
        from rrrs_core import audit  # here, not at the top: audit uses this module's transaction()

        audit.seal(con)


def ensure_rating_items(con: duckdb.DuckDBPyConnection, items: Iterable[str]) -> None:
    """Give each rating item an id (`rating_item`) if it has none yet; ids are never renumbered."""
    wanted = sorted(set(items))
    if not scalar(con, "SELECT count(*) FROM unnest(?::VARCHAR[]) u(item) WHERE item NOT IN "
                       "(SELECT item FROM rating_item)", [wanted]):
        return
    con.execute(
        "INSERT INTO rating_item SELECT (SELECT coalesce(max(item_id), 0) FROM rating_item) "
        "+ row_number() OVER (ORDER BY item), item "
        "FROM (SELECT unnest(?::VARCHAR[]) AS item) WHERE item NOT IN (SELECT item FROM rating_item)", [wanted])


def insert_ratings(con: duckdb.DuckDBPyConnection, coding_id: int, ratings: Mapping[str, int]) -> None:
    """Store one coding's ratings (item -> 1..5) in `rating_value`, which the view `rating` reads."""
    ensure_rating_items(con, ratings)
    items = sorted(ratings)
    con.execute("INSERT INTO rating_value SELECT ?, i.item_id, x.rating FROM (SELECT unnest(?::VARCHAR[]) AS item, "
                "unnest(?::INTEGER[]) AS rating) x JOIN rating_item i USING (item)",
                [coding_id, items, [ratings[k] for k in items]])


def sync_codebooks(con: duckdb.DuckDBPyConnection) -> None:
    """Make the database's copy of each codebook match the code, so SQL can join codes to families."""
    ensure_rating_items(con, [k for book in cb.CODEBOOKS.values() for k in book.rating_items])
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


def first_rows(con: duckdb.DuckDBPyConnection, sql: str, order: str, limit: int,
               params: list[object] | None = None) -> tuple[list[tuple], int]:
    """The first `limit` rows of `sql` in `order`, and how many rows it has in all.

    Not `count(*) OVER () ... LIMIT`: that window under a LIMIT hit a DuckDB 1.5.5 internal error ("Attempted to
    access index 0 within vector of size 0") in about 1 of 300 import test runs, and such an error invalidates
    the whole database. The count runs only when there are more rows than shown.
    """
    rows = con.execute(f"SELECT * FROM ({sql}) ORDER BY {order} LIMIT {limit + 1}", params or []).fetchall()
    if len(rows) <= limit:
        return rows, len(rows)
    return rows[:limit], int(scalar(con, f"SELECT count(*) FROM ({sql})", params))
