"""How a CLI command reaches its store: `--db` and `--data-path` on every command that opens one, the
connection itself, and what the CLI says when the embedded file is held by another process.

Light on purpose (no DuckDB, no pandas at import): every `rrrs` command, `--help` included, loads it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rrrs_core.storage.location import DATA_PATH_ENV, describe, parse, redact

if TYPE_CHECKING:
    import duckdb

__all__ = ["DATA_PATH_ENV", "add_data_path", "busy_message", "connect", "data_path", "data_path_env", "redact"]

DB_HELP = ("the store: a DuckDB file, or a shared DuckLake location 'ducklake:postgres:dbname=... host=...' "
           "(default: $RRRS_DB or data/rrrs.duckdb)")
DATA_PATH_HELP = (f"where a DuckLake store keeps its data files: a folder or a shared mount (default: "
                  f"${DATA_PATH_ENV}); not used by a DuckDB file")

BUSY_ADVICE = (
    "An embedded database file admits one process at a time, so while the app runs:\n"
    "  - to import, use the app's Data page (Import);\n"
    "  - to run imports and reports beside the app, run the shared store (a DuckLake location as --db and "
    "RRRS_DB; see \"Running for a group of clinics\" in the README);\n"
    "  - or stop the app, run this command, and start the app again."
)


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """The parser and every subcommand's parser under it."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share one parser
                yield from _parsers(sub)


def add_data_path(parser: argparse.ArgumentParser) -> None:
    """Give every command that takes `--db` (wherever its parser was built) `--data-path`, and one help text
    for `--db` that names both kinds of store."""
    for p in _parsers(parser):
        db = p._option_string_actions.get("--db")
        if db is None:
            continue
        db.help = DB_HELP
        if "--data-path" not in p._option_string_actions:
            p.add_argument("--data-path", metavar="PATH", help=DATA_PATH_HELP)


@contextmanager
def data_path_env(args: argparse.Namespace) -> Iterator[None]:
    """`--data-path` as `$RRRS_DATA_PATH` while the command runs, so that the commands that open the store
    themselves (reports, reliability) and their worker processes use it too; restored afterwards (tests run
    `main` in-process)."""
    value = getattr(args, "data_path", None)
    if not value:
        yield
        return
    before = os.environ.get(DATA_PATH_ENV)
    os.environ[DATA_PATH_ENV] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(DATA_PATH_ENV, None)
        else:
            os.environ[DATA_PATH_ENV] = before


def data_path(args: argparse.Namespace) -> str | None:
    """`--data-path`, else `$RRRS_DATA_PATH`, else None (the store's own default)."""
    return getattr(args, "data_path", None) or os.environ.get(DATA_PATH_ENV) or None


def connect(args: argparse.Namespace, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The store named by `--db` (or $RRRS_DB), with `--data-path` for a DuckLake location."""
    from rrrs_core import store

    return store.connect(args.db, read_only=read_only, data_path=data_path(args))


def busy_message(args: argparse.Namespace, exc: Exception) -> str:
    """The CLI's message for a busy store: for a file held by another process (the app), which file and what to
    do; a shared store's own message (its write lock waited too long) as it is."""
    location = parse(getattr(args, "db", None))
    if location.kind != "file":
        return redact(str(exc))
    return f"The database {describe(location)} is in use by another process (is the app running?).\n{BUSY_ADVICE}"
