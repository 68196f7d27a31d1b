"""Transcript text on a shared store (DuckLake): never inlined into the catalog, and purged when deleted.

DuckLake keeps small writes (up to 10 rows) in its PostgreSQL catalog, in plaintext, rather than in its
encrypted Parquet files; and a DELETE only hides rows: the old snapshots still show them (`AT (VERSION => n)`)
and the data file still holds them. For transcripts that is not good enough, so:
- before the first transcript write, inlining is switched off for the transcript tables (every write goes to
  an encrypted data file);
- after a delete, the tables' files holding deleted rows are rewritten without them, every snapshot older
  than now is expired (time travel ends there, for the whole store: rrrs does not use it) and the files no
  snapshot needs are removed. A reader still inside a snapshot that old gets an error and reruns.
The embedded file has no snapshots: its DELETE removes the row from every query, and a checkpoint follows.
DuckDB does not zero the freed blocks, so until they are reused the bytes may remain in the file: that is one
more reason to encrypt it (`RRRS_DB_KEY`, which covers free blocks too); backups taken earlier keep the text.
"""

from __future__ import annotations

import contextlib

import duckdb

from rrrs_core.errors import RrrsError
from rrrs_core.storage.lake import catalog_dsn
from rrrs_core.store import writing

TABLES = ("transcript_turn", "transcript", "recording")
_READY: set[str] = set()  # stores (catalog connection strings) whose tables this process has switched already


def _name(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute("SELECT current_database()").fetchall()[0][0])


def no_inlining(con: duckdb.DuckDBPyConnection) -> None:
    """Make every later write to the transcript tables go to an encrypted data file (shared store only);
    its own transaction, before the caller's write."""
    dsn = catalog_dsn(con)
    if dsn is None or dsn in _READY:
        return
    name = _name(con)
    with writing(con):
        for table in TABLES:
            con.execute(f"CALL ducklake_set_option('{name}', 'data_inlining_row_limit', 0, table_name => '{table}')")
    _READY.add(dsn)


def purge(con: duckdb.DuckDBPyConnection) -> None:
    """After a committed delete: leave no copy of the deleted rows in data files, snapshots or the catalog.
    Embedded: a checkpoint, when no other transaction is open (else at the next one). Shared store: a failure
    is an RrrsError saying the rows are deleted and how to finish (`rrrs transcript purge`)."""
    if catalog_dsn(con) is None:
        with contextlib.suppress(duckdb.Error):  # another connection is mid-transaction: DuckDB checkpoints later
            con.execute("CHECKPOINT")
        return
    try:
        _purge_lake(con)
    except duckdb.Error as exc:
        raise RrrsError("The transcript is deleted, but its older copies on the shared store could not be removed "
                        f"yet ({str(exc).splitlines()[0]}); an administrator can finish with "
                        "`rrrs transcript purge`.") from None


def _purge_lake(con: duckdb.DuckDBPyConnection) -> None:
    name = _name(con)
    for table in TABLES[:2]:
        with writing(con):  # rows written inlined before inlining was switched off (none, normally)
            con.execute(f"CALL ducklake_flush_inlined_data('{name}', table_name => '{table}')")
        with writing(con):
            con.execute(f"CALL ducklake_rewrite_data_files('{name}', '{table}', delete_threshold => 0.0)")
    with writing(con):
        con.execute(f"CALL ducklake_expire_snapshots('{name}', older_than => now())")
    with writing(con):
        con.execute(f"CALL ducklake_cleanup_old_files('{name}', cleanup_all => true)")
