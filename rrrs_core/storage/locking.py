"""The write lock: one writer at a time per kind of write, within a process and across processes.

Two locks, each a process-wide reentrant lock and, on a shared store, a PostgreSQL session advisory lock on
the catalog database, held on this process's own connection to it:
- WRITES: every change of clinical data, users and settings (imports, scoresheet saves, notes, roles,
  references, migrations). Their uniqueness rules (no coding stored twice, "saved by X after you opened
  it", ids from `next_id`) are checks made before writing, which hold only if such writers take turns.
- AUDIT: appends to the audit trail, whose hash chain needs one append at a time. Separate from WRITES so
  a page view's audit row never waits for a long import; it may nest inside a data write (reentrant),
  never the other way round, so the two cannot deadlock. Migrations take both.

The lock is taken BEFORE the transaction begins. DuckLake takes a transaction's snapshot at its first
statement (measured: a commit made between BEGIN and the first read is seen), so every check in the
transaction sees every write committed before the lock was granted. The embedded file admits one
writing process, so there the process lock is all there is.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rrrs_core.errors import DatabaseBusyError, RrrsError
from rrrs_core.storage.location import redact

WRITES, AUDIT = "writes", "audit"
_KEYS = {WRITES: 0x7272_7273_0001, AUDIT: 0x7272_7273_0002}  # "rrrs" + a number: rrrs's own advisory keys
WAIT_SECONDS = 300  # longer than any import measured at 100,000 sessions; then the writer is told to retry


class _Held:
    """One lock's state in this process: the reentrant lock and, per catalog, how deep this thread is in."""

    def __init__(self) -> None:
        self.rlock = threading.RLock()
        self.depth: dict[str | None, int] = {}


_LOCKS = {name: _Held() for name in _KEYS}
_PG: dict[tuple[str, str], object] = {}  # (catalog dsn, lock name) -> this process's psycopg connection
_INHERITED: list[object] = []  # a forked child's copies of its parent's connections: never used nor closed


def _after_fork() -> None:
    """A forked child (batch report workers) starts with fresh locks and its own catalog connections;
    closing the parent's connections from the child would end the parent's sessions, so they are kept."""
    global _LOCKS
    _LOCKS = {name: _Held() for name in _KEYS}
    _INHERITED.extend(_PG.values())
    _PG.clear()


os.register_at_fork(after_in_child=_after_fork)


KEEP_CATALOGS = 4  # catalogs whose lock connections stay open when not held (tests open hundreds of stores)


def _connect(dsn: str) -> object:
    import psycopg

    idle = [key for key in _PG if key[0] != dsn and not any(h.depth.get(key[0]) for h in _LOCKS.values())]
    for key in idle[:max(0, len({k[0] for k in _PG}) - KEEP_CATALOGS)]:
        _PG.pop(key).close()  # type: ignore[attr-defined]
    try:
        pg = psycopg.connect(dsn, autocommit=True, application_name="rrrs write lock")
        pg.execute(f"SET lock_timeout = '{WAIT_SECONDS}s'")
        return pg
    except psycopg.Error as exc:
        raise RrrsError(f"Cannot reach the shared store's catalog: {redact(str(exc).strip())}") from None


READ = "read"  # not a lock: the connection `catalog_value` asks on, so a read never waits behind a lock wait
_CONNECTING = threading.Lock()


def catalog_value(dsn: str, sql: str) -> object:
    """The first value of `sql` on the catalog database, asked on this process's own connection (psycopg
    serialises threads on it; about 0.1 ms, against ~7 ms through DuckDB's postgres_query)."""
    import psycopg

    for attempt in (1, 2):
        with _CONNECTING:
            pg = _PG.get((dsn, READ))
            if pg is None or pg.closed:  # type: ignore[attr-defined]
                pg = _PG[(dsn, READ)] = _connect(dsn)
        try:
            row = pg.execute(sql).fetchone()  # type: ignore[attr-defined]
            return row[0] if row else None
        except psycopg.OperationalError:
            _PG.pop((dsn, READ), None)
            if attempt == 2:
                raise RrrsError("Lost the connection to the shared store's catalog; try again.") from None
    return None


def _advisory(dsn: str, name: str) -> None:
    """Wait for the advisory lock (at most WAIT_SECONDS), reconnecting once if the connection was lost."""
    import psycopg

    for attempt in (1, 2):
        pg = _PG.get((dsn, name))
        if pg is None or pg.closed:  # type: ignore[attr-defined]
            pg = _PG[(dsn, name)] = _connect(dsn)
        try:
            pg.execute("SELECT pg_advisory_lock(%s)", [_KEYS[name]])  # type: ignore[attr-defined]
            return
        except psycopg.errors.LockNotAvailable:
            raise DatabaseBusyError(f"Another process has been writing to the shared store for over "
                                    f"{WAIT_SECONDS // 60} minutes; try again later.") from None
        except psycopg.OperationalError:
            _PG.pop((dsn, name), None)
            if attempt == 2:
                raise RrrsError("Lost the connection to the shared store's catalog while locking it for "
                                "writing; nothing was written. Try again.") from None


def _release(dsn: str, name: str) -> None:
    import psycopg

    pg = _PG.get((dsn, name))
    if pg is None:
        return
    try:
        pg.execute("SELECT pg_advisory_unlock(%s)", [_KEYS[name]])  # type: ignore[attr-defined]
    except psycopg.Error:  # the session is gone, and its locks with it
        _PG.pop((dsn, name), None)


@contextmanager
def hold(name: str, dsn: str | None) -> Iterator[None]:
    """Hold lock `name` (WRITES or AUDIT) for the store whose catalog is `dsn` (None: the embedded file)."""
    held = _LOCKS[name]
    with held.rlock:
        first = held.depth.get(dsn, 0) == 0
        if first and dsn is not None:
            _advisory(dsn, name)
        held.depth[dsn] = held.depth.get(dsn, 0) + 1
        try:
            yield
        finally:
            held.depth[dsn] -= 1
            if held.depth[dsn] == 0:
                del held.depth[dsn]
                if dsn is not None:
                    _release(dsn, name)


def forget(dsn: str) -> None:
    """Close this process's lock connections to a catalog it holds no lock on (so the database can be
    dropped or copied, as the tests do with their template)."""
    for name, held in [*_LOCKS.items(), (READ, None)]:
        if (held is None or not held.depth.get(dsn)) and (pg := _PG.pop((dsn, name), None)) is not None:
            pg.close()  # type: ignore[attr-defined]
