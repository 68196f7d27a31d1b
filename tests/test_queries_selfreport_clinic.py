"""The Clinic page's self-report figures (issue 18): SRS below the cutoff by period, and the association of
patient-reported ruptures with coded rupture frequency, cross-checked against pingouin (test-only)."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pytest

from rrrs_core.queries import selfreport_clinic as q
from rrrs_core.queries.clinic_model import ALL_TREATMENTS, MIN_CELL
from tests.builders import add_dyad, add_selfreport, add_session, add_therapist, globals_, rupture_items, srs

pytestmark = pytest.mark.both_backends  # the queries run on the embedded file and on the shared store



def coded_with_answer(con: duckdb.DuckDBPyConnection, dyad: str, answers: list[tuple[bool, int]]) -> None:
    """A dyad whose session i has `ruptured` rupture segments (of 10) and the patient's rupture answer."""
    add_therapist(con, "T1")
    add_dyad(con, dyad, "T1", None, "CBT")
    for i, (said, ruptured) in enumerate(answers, start=1):
        add_session(con, dyad, i, [(s, "complaint_therapist", "check") for s in range(1, ruptured + 1)], globals_())
        add_selfreport(con, dyad, i, "rupture_items", rupture_items(said))


ANSWERS = [(True, 4), (True, 3), (True, 0), (True, 5), (True, 2), (True, 3),
           (False, 0), (False, 1), (False, 0), (False, 2), (False, 0), (False, 0), (False, 1)]


def test_association_is_scipys_point_biserial_r(con: duckdb.DuckDBPyConnection) -> None:
    pingouin = pytest.importorskip("pingouin")
    coded_with_answer(con, "D1", ANSWERS)
    first = q.association(con)[0]
    assert (first.n, first.n_yes, first.n_no) == (13, 6, 7)
    x = np.array([float(s) for s, _ in ANSWERS])
    y = np.array([r / 10 for _, r in ANSWERS])
    ref = pingouin.corr(x, y)  # Pearson r with a Fisher-z 95% CI: what a point-biserial r is
    assert first.r == pytest.approx(float(ref["r"].iloc[0]), abs=1e-9)
    low, high = ref["CI95"].iloc[0]
    assert (first.low, first.high) == (pytest.approx(low, abs=0.01), pytest.approx(high, abs=0.01))
    assert first.mean_yes == pytest.approx(17 / 60) and first.mean_no == pytest.approx(4 / 70)
    # Hand-written only here, as a cross-check: r_pb = (M1 - M0) / s_n * sqrt(p q).
    p = 6 / 13
    assert first.r == pytest.approx((y[x == 1].mean() - y[x == 0].mean()) / y.std() * np.sqrt(p * (1 - p)))
    withdrawal = q.association(con)[2]
    assert withdrawal.r is None and "not computable" in withdrawal.note  # no withdrawal marker coded


def test_association_needs_five_sessions_per_answer(con: duckdb.DuckDBPyConnection) -> None:
    coded_with_answer(con, "D1", [(True, 3)] * (MIN_CELL - 1) + [(False, 0)] * 8)
    first = q.association(con)[0]
    assert first.r is None and first.mean_yes is None and "fewer than 5" in first.note
    assert (first.n_yes, first.n_no) == (MIN_CELL - 1, 8)


def test_uncoded_sessions_are_not_double_reported(con: duckdb.DuckDBPyConnection) -> None:
    coded_with_answer(con, "D1", ANSWERS)
    add_selfreport(con, "D1", 40, "rupture_items", rupture_items(True))
    add_selfreport(con, "D1", 3, "rupture_items", rupture_items(False), respondent="therapist")
    assert q.association(con)[0].n == 13


def test_below_cutoff_by_period(con: duckdb.DuckDBPyConnection) -> None:
    add_therapist(con, "T1")
    add_dyad(con, "D1", "T1", None, "CBT")
    add_dyad(con, "D2", "T1", None, "DBT")
    for i in range(12):
        add_selfreport(con, "D1", i + 1, "srs", srs(30 if i < 3 else 38), completed_on=dt.date(2026, 1, 2 + i))
    for i in range(6):
        add_selfreport(con, "D2", i + 1, "srs", srs(20), completed_on=dt.date(2026, 2, 2 + i))
    add_selfreport(con, "D2", 9, "srs", srs(20), dated=False)  # no date, no session: left out
    add_selfreport(con, "D2", 10, "wai_sr", {str(i): 3.0 for i in range(1, 13)}, completed_on=dt.date(2026, 2, 1))
    quarter = q.below_cutoff(con, "quarter").set_index("treatment")
    assert quarter.loc[ALL_TREATMENTS, "sessions"] == "18"
    assert quarter.loc[ALL_TREATMENTS, "below_share"] == pytest.approx(9 / 18)
    assert quarter.loc["CBT", "below_share"] == pytest.approx(3 / 12) and quarter.loc["DBT", "sessions"] == "6"
    month = q.below_cutoff(con, "month")
    assert month.iloc[0].period_start.month == 2 and bool(month.iloc[0].is_total)  # newest first, total first
    assert q.undated(con) == 1


def test_empty_store(con: duckdb.DuckDBPyConnection) -> None:
    assert q.below_cutoff(con, "month").empty and q.undated(con) == 0
    assert all(a.n == 0 and a.r is None for a in q.association(con))
