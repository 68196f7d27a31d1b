"""Opening a shared store: DuckLake with its catalog in PostgreSQL and its data files under the data path.

The DuckLake and PostgreSQL extensions are loaded from their PyPI wheels (never downloaded at run time),
with httpfs for OpenSSL: DuckLake writes its Parquet files encrypted (`ENCRYPTED`, each file with its own
key, the keys in the catalog), and DuckDB writes encrypted files only with httpfs's crypto loaded.

A new store is created under the write lock, so several servers starting at once on an empty catalog
database create it once. An existing store is opened without the data path (the catalog remembers it);
a data path given that differs from the stored one is refused rather than silently ignored.

One DuckDB instance per process serves every shared store it opens, each attached once: `open_lake` hands
out connections (cursors), as DuckDB itself does for a file opened twice. Loading the three extensions
into an instance costs about half a second (DuckDB checks each file's signature, ~100 MB in all), which a
process opening stores again (a report batch, the tests) then pays once.
"""

from __future__ import annotations

import importlib
import os
import threading
import weakref
from collections import OrderedDict
from pathlib import Path

import duckdb

from rrrs_core.errors import RrrsError
from rrrs_core.storage import locking
from rrrs_core.storage.location import Location, lake_data_path, redact

CATALOG = "rrrs"  # the store's name in DuckDB; a second store in one process is rrrs_2, and so on
KEEP_STORES = 8  # stores a process keeps attached (the tests open hundreds; an app server one)
_NEW = "data_path is not set"  # DuckLake's error when the catalog database holds no DuckLake yet
_HUB: list[duckdb.DuckDBPyConnection] = []  # this process's DuckDB instance for shared stores, once made
_ALIASES: OrderedDict[tuple[str, bool], str] = OrderedDict()  # (catalog dsn, read-only) -> attached name
_GUARD = threading.Lock()


def _after_fork() -> None:
    """A forked child (batch report workers) must not use its parent's instance: it makes its own."""
    global _GUARD
    _HUB.clear()
    _ALIASES.clear()
    _GUARD = threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def _load(con: duckdb.DuckDBPyConnection, module: str, name: str) -> None:
    package = importlib.import_module(module)
    ext = Path(str(package.__file__)).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not ext.exists():
        raise RrrsError(f"The DuckDB extension {name} for DuckDB {duckdb.__version__} is missing ({ext}); "
                        f"reinstall rrrs so duckdb and {module.replace('_', '-')} versions match.")
    con.execute(f"LOAD '{ext}'")


def _hub() -> duckdb.DuckDBPyConnection:
    if not _HUB:
        con = duckdb.connect(":memory:")
        try:
            con.execute("SET autoinstall_known_extensions = false")
            _load(con, "duckdb_extension_httpfs", "httpfs")
            _load(con, "duckdb_extension_postgres_scanner", "postgres_scanner")
            _load(con, "duckdb_extension_ducklake", "ducklake")
            con.execute("SET temp_file_encryption = true")  # spilled sorts and joins hold clinical rows too
        except BaseException:
            con.close()
            raise
        _HUB.append(con)
    return _HUB[0]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _attach(con: duckdb.DuckDBPyConnection, location: Location, alias: str, options: list[str]) -> None:
    opts = f" ({', '.join(options)})" if options else ""
    con.execute(f"ATTACH {_quote('ducklake:postgres:' + location.target)} AS {alias}{opts}")


def _problem(location: Location, exc: duckdb.Error) -> RrrsError:
    """A DuckDB/DuckLake error about the store, as a message with every password hidden."""
    text = redact(str(exc)).strip()
    if "Unable to connect to Postgres" in text:
        reason = text.split("failed:", 1)[1].strip() if "failed:" in text else text.rsplit(": ", 1)[-1]
        return RrrsError(f"Cannot reach the shared store's catalog ({location}): {reason}")
    return RrrsError(f"Cannot open the shared store {location}: {text}")


def open_lake(location: Location, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection whose current database is the store, creating the store if new."""
    key = (location.target, read_only)
    with _GUARD:
        hub = _hub()
        alias = _ALIASES.get(key)
        if alias is None:
            taken = {r[0] for r in hub.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
            alias = next(name for n in range(1, len(taken) + 2)
                         if (name := CATALOG if n == 1 else f"{CATALOG}_{n}") not in taken)
            try:
                _open(hub, location, read_only, alias)
            except duckdb.Error as exc:
                raise _problem(location, exc) from None
            _ALIASES[key] = alias
            while len(_ALIASES) > KEEP_STORES:  # the least recently opened; its connections stop working
                hub.execute(f"DETACH {_ALIASES.popitem(last=False)[1]}")
        _ALIASES.move_to_end(key)
        con = hub.cursor()
    con.execute(f"USE {alias}")
    if location.data_path and not read_only:
        _check_data_path(con, location)
    return con


def forget(location: Location) -> None:
    """Detach a store from this process and close its lock connections, so its catalog database can be
    dropped or copied (the tests' template); connections to it stop working."""
    with _GUARD:
        for key in [k for k in _ALIASES if k[0] == location.target]:
            _HUB[0].execute(f"DETACH {_ALIASES.pop(key)}")
    locking.forget(location.target)


def _open(con: duckdb.DuckDBPyConnection, location: Location, read_only: bool, alias: str) -> None:
    try:
        _attach(con, location, alias, ["READ_ONLY"] if read_only else [])
    except duckdb.Error as exc:
        if _NEW not in str(exc):
            raise
        if read_only:
            raise RrrsError(f"The shared store {location} does not exist yet; open it once without "
                            "read-only access (e.g. start the app on it).") from None
        data_path = lake_data_path(location)
        with locking.hold(locking.WRITES, location.target):
            _attach(con, location, alias, [f"DATA_PATH {_quote(data_path)}", "ENCRYPTED"])


def metadata(con: duckdb.DuckDBPyConnection) -> str:
    """DuckLake's name for the attached PostgreSQL catalog database of the store `con` is on."""
    return f"__ducklake_metadata_{con.execute('SELECT current_database()').fetchall()[0][0]}"


def _check_data_path(con: duckdb.DuckDBPyConnection, location: Location) -> None:
    query = "SELECT value FROM ducklake_metadata WHERE key = 'data_path'"
    stored = con.execute(f"SELECT * FROM postgres_query(?, {_quote(query)})", [metadata(con)]).fetchall()
    if stored and stored[0][0] != lake_data_path(location):
        con.close()
        raise RrrsError(f"The data path given ({location.data_path}) is not the one the shared store "
                        f"{location} was created with ({stored[0][0]}); set $RRRS_DATA_PATH to that "
                        "folder, or leave it unset.")


_DSN_OF: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, str | None] = weakref.WeakKeyDictionary()


def catalog_dsn(con: duckdb.DuckDBPyConnection) -> str | None:
    """The PostgreSQL connection string of the store `con` is on; None for the embedded file or memory.

    Asked once per connection (rrrs selects a connection's store when it makes it, and never changes it):
    `duckdb_databases()` costs about 17 ms of CPU with a DuckLake attached, against 0.3 ms on the file, and
    every write and every data-version check needs the answer."""
    known = _DSN_OF.get(con, _ASK)
    if known is not _ASK:
        return known  # type: ignore[return-value]
    rows = con.execute("SELECT type, path FROM duckdb_databases() WHERE database_name = current_database()"
                       ).fetchall()
    if not rows or rows[0][0] != "ducklake":
        dsn = None
    else:
        path = str(rows[0][1])
        dsn = path.split(":", 1)[1] if path.startswith("postgres:") else path
    _DSN_OF[con] = dsn
    return dsn


_ASK = object()
