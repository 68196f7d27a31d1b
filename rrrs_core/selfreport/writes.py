"""The one way self-report code writes: the shared store's write lock and one transaction.

`store.writing` (the cross-process write lock plus a transaction, from the shared-store work) when the store
has it; until then the process-wide lock the coding writers hold (`store.CODING_WRITES`) and a transaction.
Self-reports have no key in the database (DuckLake has none), so their uniqueness rests on the writers'
checks inside this lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from rrrs_core import store


@contextmanager
def writing(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    shared = getattr(store, "writing", None)
    if shared is not None:
        with shared(con):
            yield con
        return
    with store.CODING_WRITES, store.transaction(con):
        yield con
