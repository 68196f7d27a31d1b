"""Days since a dyad's last session, counted to the data's latest session date (one rule for all views)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from rrrs_core.queries import caseload, recency
from rrrs_core.scope import Scope
from tests.builders import add_dyad, add_session


def test_describe() -> None:
    assert recency.describe(dt.date(2025, 2, 18), 107) == "2025-02-18 (107 days ago)"
    assert recency.describe(pd.Timestamp("2025-02-18"), 1) == "2025-02-18 (1 day ago)"
    assert recency.describe(pd.Timestamp("2025-02-18"), 0) == "2025-02-18 (0 days ago)"
    assert recency.describe(None, None) == "no session date recorded"
    assert recency.describe(pd.NaT, float("nan")) == "no session date recorded"
    assert recency.as_of_note(dt.date(2026, 1, 26)).startswith("Days are counted to 2026-01-26")


def test_last_session_counts_to_the_latest_session_date_in_the_store(
        clinic_con: duckdb.DuckDBPyConnection) -> None:
    last = recency.last_session(clinic_con, "D2")
    assert (last.date, last.days_ago, last.as_of) == (dt.date(2026, 1, 19), 7, dt.date(2026, 1, 26))
    assert last.text == "Last session 2026-01-19 (7 days ago)"
    # Outside the scope: nothing, the same as an unknown dyad.
    assert recency.last_session(clinic_con, "D2", Scope.therapists(["T1"], "T1")).date is None
    assert recency.last_session(clinic_con, "NOPE").text == "No session date recorded"


def test_a_recorded_session_counts_even_before_it_is_coded(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_dyad(clinic_con, "NEW", "T1")
    add_session(clinic_con, "NEW", 1, [], None, session_date=dt.date(2026, 1, 12))
    add_session(clinic_con, "NEW", 2, [], None, session_date=dt.date(2026, 1, 20), status="draft")
    last = recency.last_session(clinic_con, "NEW")
    assert (last.date, last.days_ago) == (dt.date(2026, 1, 20), 6)


def test_caseload_uses_the_same_rule(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_dyad(clinic_con, "NEW", "T1")
    add_session(clinic_con, "NEW", 1, [], None, session_date=dt.date(2026, 1, 12))
    add_session(clinic_con, "NEW", 2, [], None, session_date=dt.date(2026, 1, 20), status="draft")
    rows = caseload.caseload(clinic_con).set_index("dyad_id")
    for dyad in ("D1", "D2", "D3", "D4", "NEW"):
        last = recency.last_session(clinic_con, dyad)
        assert rows.loc[dyad, "last_date"].date() == last.date
        assert rows.loc[dyad, "days_since_last"] == last.days_ago
