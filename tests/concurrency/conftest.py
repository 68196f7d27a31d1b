"""Fixtures for the multi-process tests: the environment a process needs to reach one shared store."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: separate processes on one shared store for about a minute "
                                       "(RRRS_SOAK_SECONDS)")


@pytest.fixture
def lake_env(lake_location: str) -> dict[str, str]:
    """os.environ with RRRS_DB set to a fresh shared store (DuckLake on the session's PostgreSQL); `lake_location`
    has set RRRS_DATA_PATH and RRRS_AUDIT_KEY for it, as a deployment's environment file would."""
    env = {**os.environ, "RRRS_DB": lake_location}
    env.pop("RRRS_DB_KEY", None)
    return env
