"""Fixtures for the multi-process tests: the environment a process needs to reach one shared store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: separate processes on one shared store for about a minute "
                                       "(RRRS_SOAK_SECONDS)")


@pytest.fixture
def lake_env(pg_server, tmp_path: Path) -> dict[str, str]:
    """os.environ plus RRRS_DB (a DuckLake-on-PostgreSQL location, a fresh catalog) and RRRS_DATA_PATH."""
    from tests.support.postgres import lake_location

    location, data_path = lake_location(tmp_path)  # TODO(lake-core contract): adapt to its final signature
    env = {**os.environ, "RRRS_DB": str(location), "RRRS_DATA_PATH": str(data_path)}
    env.pop("RRRS_DB_KEY", None)
    return env
