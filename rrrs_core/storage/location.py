"""Where the store is: an embedded DuckDB file, a database in memory, or DuckLake on a PostgreSQL catalog.

A shared store is written as DuckDB writes it, `ducklake:postgres:<libpq connection string>`, e.g.
`ducklake:postgres:dbname=rrrs host=db.clinic.internal port=5432 user=rrrs`; anything else is a file path.
Its data files go to the data path (`data_path=`, else `$RRRS_DATA_PATH`): a local folder or a shared mount.

A connection string may hold a password. `redact` is the one function that hides it, and every message,
log line or audit row that shows a location or a database error passes through it (`describe`, `safe`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from rrrs_core.errors import RrrsError

LAKE_PREFIX = "ducklake:postgres:"
MEMORY = ":memory:"
DB_ENV = "RRRS_DB"
DATA_PATH_ENV = "RRRS_DATA_PATH"
DEFAULT_DB = Path("data") / "rrrs.duckdb"
HIDDEN = "********"

# libpq keywords whose values are secrets (password=..., 'quoted values' too), and user:password@ in URIs.
_SECRET_KEYS = r"(?:password|sslpassword|passwd|pwd|secret|token|api_?key)"
_KEY_VALUE = re.compile(rf"(?i)(\b{_SECRET_KEYS}\s*=\s*)('(?:[^'\\]|\\.)*'?|\"[^\"]*\"?|[^\s&;,'\"]+)")
_URI_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)([^@\s]*)(@)")


def redact(text: object) -> str:
    """`text` with every password (or other secret) in a connection string replaced by asterisks."""
    out = _KEY_VALUE.sub(lambda m: m.group(1) + HIDDEN, str(text))
    return _URI_USERINFO.sub(lambda m: m.group(1) + HIDDEN + m.group(3), out)


@dataclass(frozen=True)
class Location:
    """A parsed store location: `kind` is "file", "memory" or "lake"; `target` the file path or the libpq
    connection string (with any password: never show it, show `str(location)`, which is redacted)."""

    kind: str
    target: str
    data_path: str | None = None

    @property
    def is_lake(self) -> bool:
        return self.kind == "lake"

    def __str__(self) -> str:
        return describe(self)


def describe(location: Location | str | os.PathLike[str]) -> str:
    """How to show a location to a person (in messages, logs and the audit trail): passwords hidden."""
    if isinstance(location, Location):
        return redact(LAKE_PREFIX + location.target if location.is_lake else location.target)
    return redact(os.fspath(location))


def raw(explicit: str | os.PathLike[str] | None = None) -> str | Path:
    """`--db` wins, then `$RRRS_DB`, then `data/rrrs.duckdb`: a Path for a file, the text for a shared store."""
    text = os.fspath(explicit) if explicit else os.environ.get(DB_ENV) or ""
    if not text:
        return DEFAULT_DB
    return text if text.startswith("ducklake:") or text == MEMORY else Path(text)


def parse(explicit: str | os.PathLike[str] | None = None, data_path: str | os.PathLike[str] | None = None
          ) -> Location:
    """The location to open; the data path only matters for a shared store (a file keeps its data inside)."""
    text = os.fspath(raw(explicit))
    if text == MEMORY:
        return Location("memory", MEMORY)
    if text.startswith(LAKE_PREFIX):
        dsn = text[len(LAKE_PREFIX):].strip()
        if not dsn:
            raise RrrsError(f"The shared store location '{LAKE_PREFIX}' needs a PostgreSQL connection string, "
                            f"e.g. '{LAKE_PREFIX}dbname=rrrs host=127.0.0.1 port=5432 user=rrrs'.")
        given = os.fspath(data_path) if data_path else os.environ.get(DATA_PATH_ENV) or None
        return Location("lake", dsn, given)
    if text.startswith("ducklake:"):
        raise RrrsError(f"rrrs runs a shared store only on a PostgreSQL catalog ('{LAKE_PREFIX}...'), not "
                        f"'{redact(text)}'.")
    return Location("file", text)


def lake_data_path(location: Location) -> str:
    """The data path a new shared store is created with, as DuckLake stores it (a folder, ending in '/')."""
    if not location.data_path:
        raise RrrsError(f"The shared store {location} has no data path yet: set ${DATA_PATH_ENV} (or "
                        "--data-path) to the folder or shared mount that will hold its data files.")
    path = location.data_path
    if "://" not in path:  # a local folder or mount: absolute, so every server and job finds the same files
        path = str(Path(path).expanduser().resolve())
        Path(path).mkdir(parents=True, exist_ok=True)
    return path if path.endswith("/") else path + "/"
