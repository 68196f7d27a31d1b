"""A full disk during an import: the transaction rolls back (nothing is half-written), and the person is told
so in words instead of a traceback.

DuckDB reports it at commit, when the write-ahead log is written, as
`TransactionException: TransactionContext Error: Failed to commit: Could not write file "<db>.wal": No space
left on device` (an `IOException` when a table or temp file is written earlier); Python code writing files
raises `OSError(ENOSPC)`. Both become `DiskFullError`.
"""

from __future__ import annotations

import errno
import functools
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import duckdb

from rrrs_core.errors import RrrsError

T = TypeVar("T")
FULL = (os.strerror(errno.ENOSPC), os.strerror(errno.EDQUOT), "No space left on device", "Disk quota exceeded")


class DiskFullError(RrrsError):
    """The disk holding the database (or its temp files) has no room: nothing was written."""


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(exc, duckdb.Error) and any(text in str(exc) for text in FULL)


def message(source: str, exc: BaseException) -> str:
    found = re.search(r'file "([^"]+)"', str(exc))
    path = found.group(1) if found else getattr(exc, "filename", None)
    where = f" holding {os.path.dirname(str(path)) or '.'}" if path else ""
    return (f"The disk{where} is full: nothing was imported from {source}, and the stored data is unchanged. "
            "Free some space (or ask whoever runs rrrs to), then import again.")


@contextmanager
def guard(source: str) -> Iterator[None]:
    """Turn a full disk inside the block into `DiskFullError`; anything else passes through as it is."""
    try:
        yield
    except (duckdb.Error, OSError) as exc:
        if is_disk_full(exc):
            raise DiskFullError(message(source, exc)) from None
        raise


def guarded(run: Callable[..., T]) -> Callable[..., T]:
    """Decorate an import runner `run(con, stage, source, ...)`: a full disk anywhere in it is one message."""

    @functools.wraps(run)
    def wrapper(con: duckdb.DuckDBPyConnection, stage: object, source: str, *args: object, **kwargs: object) -> T:
        with guard(source):
            return run(con, stage, source, *args, **kwargs)

    return wrapper
