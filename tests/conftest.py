"""Shared fixtures: an empty store and the hand-made small clinic, each in a fresh temporary file.

A test marked `both_backends` (or a module with that `pytestmark`) runs its `empty_db`/`con`/`clinic_con`/
`clinic_db` on the embedded file ("embedded") and on a shared store, DuckLake on the session's throwaway
PostgreSQL ("lake"); `backend` says which. `empty_db` yields (location, connection): a Path for the file,
the `ducklake:postgres:...` text for a shared store (both are what $RRRS_DB and `store.connect` take).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from rrrs_core import store
from rrrs_core.auth_setup import new_secret
from tests.builders import small_clinic, small_clinic_db
from tests.support.postgres import (  # noqa: F401 (fixtures)
    lake_clinic_location,
    lake_clinic_template,
    lake_location,
    lake_template,
    pg_server,
)

BACKENDS = ("embedded", "lake")
STORE_FIXTURES = {"empty_db", "con", "clinic_con", "clinic_db"}

# A sign-in cookie secret made for this test run: a secret written into the repository is a published one
# (rrrs_core.auth_setup refuses it).
TEST_SECRET = new_secret()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_backends") and STORE_FIXTURES & set(metafunc.fixturenames):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """"embedded" (the default) or "lake", for tests marked `both_backends`."""
    return getattr(request, "param", "embedded")


def _location(backend: str, request: pytest.FixtureRequest, path: Path) -> Path | str:
    return request.getfixturevalue("lake_location") if backend == "lake" else path


@pytest.fixture
def empty_db(tmp_path: Path, backend: str, request: pytest.FixtureRequest
             ) -> Iterator[tuple[Path | str, duckdb.DuckDBPyConnection]]:
    location = _location(backend, request, tmp_path / "rrrs.duckdb")
    con = store.connect(location)
    yield location, con
    con.close()


@pytest.fixture
def con(empty_db: tuple[Path, duckdb.DuckDBPyConnection]) -> duckdb.DuckDBPyConnection:
    return empty_db[1]


@pytest.fixture
def clinic_con(backend: str, request: pytest.FixtureRequest) -> Iterator[duckdb.DuckDBPyConnection]:
    """The small clinic (tests/builders.py); on a shared store a copy of one built once per session."""
    if backend != "lake":
        con = request.getfixturevalue("con")
        small_clinic(con)
        yield con
        return
    con = store.connect(request.getfixturevalue("lake_clinic_location"))
    yield con
    con.close()


@pytest.fixture
def clinic_db(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Path | str:
    """A closed store holding the small clinic, for AppTest and CLI tests (set RRRS_DB)."""
    if backend == "lake":
        return request.getfixturevalue("lake_clinic_location")
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
