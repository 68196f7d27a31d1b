"""Shared fixtures: an empty store and the hand-made small clinic, each in a fresh temporary file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from rrrs_core import store
from rrrs_core.auth_setup import new_secret
from tests.builders import small_clinic, small_clinic_db

# A sign-in cookie secret made for this test run: a secret written into the repository is a published one
# (rrrs_core.auth_setup refuses it).
TEST_SECRET = new_secret()


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


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Debian Chromium for every browser test in the session (e2e journeys and security tests)."""
    from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: run `make browser-deps` (installs Debian's chromium and poppler-utils)"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a missing browser is a broken setup, not a reason to skip
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    for stale in ARTIFACTS.glob("FAILED-*.png"):  # failure shots of an earlier run would mislead
        stale.unlink()
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        pw.stop()
