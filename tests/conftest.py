"""Shared fixtures: an empty store and the hand-made small clinic, each in a fresh temporary file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from rrrs_core import store
from tests.builders import small_clinic, small_clinic_db


@pytest.fixture
def empty_db(tmp_path: Path) -> Iterator[tuple[Path, duckdb.DuckDBPyConnection]]:
    path = tmp_path / "rrrs.duckdb"
    con = store.connect(path)
    yield path, con
    con.close()


@pytest.fixture
def con(empty_db: tuple[Path, duckdb.DuckDBPyConnection]) -> duckdb.DuckDBPyConnection:
    return empty_db[1]


@pytest.fixture
def clinic_con(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    small_clinic(con)
    return con


@pytest.fixture
def clinic_db(tmp_path: Path) -> Path:
    """A closed database file holding the small clinic, for AppTest and CLI tests (set RRRS_DB)."""
    return small_clinic_db(tmp_path / "clinic.duckdb")
