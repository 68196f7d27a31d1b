"""Opening the store, applying migrations, and running writes as all-or-nothing transactions under the lock.

The store is an embedded DuckDB file (the default, for one clinic) or a shared store, DuckLake on a
PostgreSQL catalog, for several app servers and command-line jobs at once (`rrrs_core.storage`). The rest of
rrrs sees one API: `connect`, `writing`, `next_id`, `data_version`, and the small query helpers below.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Mapping
from pathlib import Path

import duckdb

from rrrs_core import codebook as cb
from rrrs_core.errors import DatabaseBusyError, EncryptionKeyError, RrrsError, SchemaTooNewError
from rrrs_core.migrations import MIGRATIONS
from rrrs_core.storage import locking
from rrrs_core.storage.lake import CATALOG, catalog_dsn, forget, open_lake
from rrrs_core.storage.lakeddl import for_lake
from rrrs_core.storage.location import DATA_PATH_ENV, DEFAULT_DB, Location, describe, parse, raw, redact
from rrrs_core.storage.writes import data_version, in_write, next_id, reading, writing
from rrrs_core.views import create_views

__all__ = ["DATA_PATH_ENV", "DEFAULT_DB", "Location", "data_version", "describe", "in_write", "next_id",
           "reading", "redact", "writing"]

KEY_ENV = "RRRS_DB_KEY"
LATEST = MIGRATIONS[-1][0]
BUSY = ("The database {target} is in use by another process (is the app running?). The embedded file admits "
        "one process at a time: import on the app's Data page while it runs, or stop it first; to run "
        "command-line jobs, reports and several app servers at once, use the shared store (README, "
        "\"Running for a group of clinics\").")


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path | str:
    """`--db` wins, then `RRRS_DB`, then `data/rrrs.duckdb`: a Path for a file, the text of a shared store's
    location (`ducklake:postgres:...`; show it with `describe`, which hides its password)."""
    return raw(explicit)


# Kept for callers that only need "one writer at a time in this process" (the lock under `writing`).
transaction = writing


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


def _open_file(target: str, read_only: bool, key: str | None) -> duckdb.DuckDBPyConnection:
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    try:
        return _open(target, read_only, key)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseBusyError(BUSY.format(target=target)) from exc
        raise RrrsError(f"Cannot open the database {target}: {exc}") from exc
    except duckdb.Error as exc:
        if "encrypted" in str(exc).lower():
            raise EncryptionKeyError(f"{target} is encrypted: set ${KEY_ENV} to its key.") from exc
        raise RrrsError(f"Cannot open the database {target}: {exc}") from exc


def connect(path: str | os.PathLike[str] | None = None, read_only: bool = False, key: str | None = None,
            data_path: str | os.PathLike[str] | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) and migrate the store; `":memory:"` gives a throwaway database.

    `path` is a file, `":memory:"`, or a shared store `ducklake:postgres:...` whose data files live under
    `data_path` (default `$RRRS_DATA_PATH`). `read_only` lets several processes (batch report workers) share
    a file no writer holds. With an encryption key (argument or $RRRS_DB_KEY) the file is encrypted at rest
    (AES, DuckDB ENCRYPTION_KEY); a shared store always encrypts its data files (DuckLake ENCRYPTED).
    """
    location = parse(path, data_path)
    if location.is_lake:
        con = open_lake(location, read_only)
    else:
        con = _open_file(location.target, read_only, key if key is not None else (os.environ.get(KEY_ENV) or None))
    _CATALOG_OF[con] = attached(con)
    try:
        con.execute("SET enable_progress_bar = false")  # the CLI draws its own; DuckDB's would garble output
        _check_version(con, location)
        if read_only and location.kind != "memory":
            if schema_version(con) < LATEST:
                raise RrrsError(f"The database {location} needs upgrading; open it once without read-only access.")
            return con
        migrate(con)
    except BaseException:
        con.close()
        raise
    return con


def release(path: str | os.PathLike[str]) -> None:
    """Let go of a shared store this process opened (its cached DuckDB instance and lock connections), once
    the connections handed out are closed; nothing to do for a file."""
    location = parse(path)
    if location.is_lake:
        forget(location)


def _check_version(con: duckdb.DuckDBPyConnection, location: Location) -> None:
    found = schema_version(con)
    if found > LATEST:
        raise SchemaTooNewError(
            f"The database {location} has schema version {found}, newer than this rrrs knows ({LATEST}): a newer "
            "rrrs has upgraded it. Upgrade this installation (every server and command line using the database) "
            "before using it; nothing was changed.")


# The catalog each connection handed out is on, when attached (an encrypted file, a shared store). Kept here
# rather than asked of the connection: `cursor` runs in many threads at once, and one DuckDB connection must
# not run two queries at a time (a new cursor starts on DuckDB's own in-memory database).
_CATALOG_OF: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, str] = weakref.WeakKeyDictionary()


_ROOT_OF: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection] = \
    weakref.WeakKeyDictionary()  # each cursor `cursor` made -> the connection it was made from


def attached(con: duckdb.DuckDBPyConnection) -> str:
    """The name of the store's catalog when `connect` attached it (an encrypted file, a shared store), else ""
    (the store is the connection's own database)."""
    known = _CATALOG_OF.get(con)
    if known is not None:
        return known
    name = str(scalar(con, "SELECT current_database()"))
    return name if name == CATALOG or name.startswith(f"{CATALOG}_") else ""


def cursor(con: duckdb.DuckDBPyConnection, catalog: str | bool | None = None) -> duckdb.DuckDBPyConnection:
    """A thread's own connection to the same database (and, when attached, the same catalog).
    `catalog` is `attached(con)` when the caller already knows it (the app asks once, not on every cursor)."""
    if catalog is None:
        catalog = attached(con)
    root = _ROOT_OF.get(con, con)
    cur = root.cursor()  # from the connection first opened: `con` may be a cursor another thread is using
    _ROOT_OF[cur] = root
    if catalog:
        name = catalog if isinstance(catalog, str) else CATALOG
        cur.execute(f"USE {name}")
        _CATALOG_OF[cur] = name
    return cur


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The newest migration recorded (0 for a new store). Asked of the table itself, not of DuckDB's catalog
    functions, which would list the tables of every store a process has open."""
    try:
        row = one(con, "SELECT coalesce(max(version), 0) FROM schema_migrations")
    except duckdb.CatalogException:
        return 0
    return int(row[0]) if row else 0


MIGRATIONS_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)")


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations, each in its own transaction and recorded; returns those applied.

    Under both write locks, with the version read again once they are held, so servers starting together
    apply each migration once. A shared store runs each migration's SQL translated by `lakeddl.for_lake`.
    """
    applied = []
    if schema_version(con) < LATEST:
        dsn = catalog_dsn(con)
        ddl = (lambda sql: sql) if dsn is None else for_lake
        with locking.hold(locking.WRITES, dsn), locking.hold(locking.AUDIT, dsn):
            con.execute(ddl(MIGRATIONS_TABLE))
            done = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
            for version, name, sql in MIGRATIONS:
                if version in done:
                    continue
                with writing(con):
                    con.execute(ddl(sql))
                    _after(con, version)
                    con.execute("INSERT INTO schema_migrations VALUES (?, ?, current_localtimestamp())",
                                [version, name])
                applied.append(version)
    sync_codebooks(con)
    create_views(con)
    from rrrs_core.selfreport import schema as selfreport_schema  # here: it writes through this module

    selfreport_schema.install(con)  # instrument definitions synced, self-report views (migration 10)
    from rrrs_core import pseudonym  # here, not at the top: pseudonym uses this module's writing()

    pseudonym.ensure_secret(con)  # so read-only report workers always find the clinic's pseudonym key
    return applied


def _after(con: duckdb.DuckDBPyConnection, version: int) -> None:
    """The Python half of a migration, in its transaction: migration 8 signs the audit anchor with a key the
    database does not hold (so SQL alone cannot)."""
    if version == 8:
        from rrrs_core import audit  # here, not at the top: audit uses this module's writing()

        audit.seal(con)


def ensure_rating_items(con: duckdb.DuckDBPyConnection, items: Iterable[str]) -> None:
    """Give each rating item an id (`rating_item`) if it has none yet; ids are never renumbered. Writers
    call it inside `writing`, whose lock keeps two of them from numbering the same item."""
    wanted = sorted(set(items))
    if not scalar(con, "SELECT count(*) FROM unnest(?::VARCHAR[]) u(item) WHERE item NOT IN "
                       "(SELECT item FROM rating_item)", [wanted]):
        return
    con.execute(
        "INSERT INTO rating_item SELECT (SELECT coalesce(max(item_id), 0) FROM rating_item) "
        "+ row_number() OVER (ORDER BY item), item "
        "FROM (SELECT unnest(?::VARCHAR[]) AS item) WHERE item NOT IN (SELECT item FROM rating_item)", [wanted])


def insert_ratings(con: duckdb.DuckDBPyConnection, coding_id: int, ratings: Mapping[str, int]) -> None:
    """Store one coding's ratings (item -> 1..5) in `rating_value`, which the view `rating` reads. One read of
    `rating_item` when every item has its id (on a shared store each table read costs a catalog round trip)."""
    items = sorted(ratings)

    def item_ids() -> dict[str, int]:
        return dict(con.execute("SELECT item, item_id FROM rating_item WHERE item IN (SELECT unnest(?::VARCHAR[]))",
                                [items]).fetchall())

    ids = item_ids()
    if len(ids) < len(items):
        ensure_rating_items(con, items)
        ids = item_ids()
    con.execute("INSERT INTO rating_value SELECT ?, unnest(?::INTEGER[]), unnest(?::INTEGER[])",
                [coding_id, [ids[k] for k in items], [ratings[k] for k in items]])


def sync_codebooks(con: duckdb.DuckDBPyConnection) -> None:
    """Make the database's copy of each codebook match the code, so SQL can join codes to families."""
    rows = sorted(
        (book.id, book.version, code.key, code.family, code.label, i)
        for book in cb.CODEBOOKS.values()
        for i, code in enumerate(book.codes)
    )
    items = [k for book in cb.CODEBOOKS.values() for k in book.rating_items]

    def current() -> bool:
        have = con.execute("SELECT codebook_id, codebook_version, key, family, label, position FROM codebook_code"
                           ).fetchall()
        missing = scalar(con, "SELECT count(*) FROM unnest(?::VARCHAR[]) u(item) WHERE item NOT IN "
                              "(SELECT item FROM rating_item)", [sorted(set(items))])
        return sorted(have) == rows and not missing

    if current():
        return
    with writing(con):
        if current():  # another server did it while this one waited for the lock
            return
        ensure_rating_items(con, items)
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
