"""Reliability data from the store: which codings are compared, and the numbers read for them."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from rrrs_core import export
from rrrs_core.reliability import extract
from rrrs_core.reliability.design import Design, ReliabilityInputError, check
from rrrs_core.reliability.table import COLUMNS, FEW_SESSIONS, reliability, require_data
from tests.builders import add_dyad, add_session, add_therapist, globals_

N_SESSIONS = 6


def double_coded_clinic(con: duckdb.DuckDBPyConnection) -> None:
    """D1 sessions 1-6, each coded by C1 then C2 (C2 a noisy copy); codings that must never be compared:
    a consensus (CX, first of all on session 1), a draft (C4), an older version of C1's session 2, and a
    third coder C5 on session 3 (routine design: only the two earliest count)."""
    add_therapist(con, "T1")
    add_dyad(con, "D1", "T1")
    add_session(con, "D1", 1, [(1, "denial", "check")] * 3, globals_(), coder_id="CX", consensus=True)
    old = add_session(con, "D1", 2, [(1, "denial", "check")], globals_(), coder_id="C1")
    con.execute("UPDATE coding SET is_current = false WHERE coding_id = ?", [old])
    for s in range(1, N_SESSIONS + 1):
        c1 = [(seg, "denial", "check") for seg in range(1, s + 1)] + [(9, "complaint_therapist", "check")]
        c2 = [(seg, "denial", "check") for seg in range(1, s + (s % 2))] + [(9, "complaint_therapist", "check"),
                                                                          (10, "denial", "check_minus")]
        add_session(con, "D1", s, c1, globals_(w=1 + s % 5, c=2, r=1 + s % 4, tc=1 + s % 3, denial=1 + s % 5),
                    coder_id="C1")
        add_session(con, "D1", s, c2, None if s == 6 else globals_(w=1 + s % 5, c=2, r=2 + s % 3, tc=1 + s % 3),
                    coder_id="C2")
    add_session(con, "D1", 3, [(1, "deferential", "check")], globals_(w=5), coder_id="C5")
    add_session(con, "D1", 4, [(1, "deferential", "check")], globals_(w=5), coder_id="C4", status="draft")


@pytest.fixture
def rel_con(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    double_coded_clinic(con)
    return con


def test_routine_design_takes_the_two_earliest_final_current_non_consensus_codings(rel_con):
    values = extract.session_values(rel_con, Design())
    assert len(values) == 2 * N_SESSIONS
    assert set(values.coder_id) == {"C1", "C2"}  # not CX (consensus), C4 (draft), C5 (third on session 3)
    assert (values.groupby("session_number").slot.apply(sorted) == pd.Series([[1, 2]] * N_SESSIONS,
            index=range(1, N_SESSIONS + 1))).all()
    assert set(values[values.slot == 1].coder_id) == {"C1"}  # C1 reached the database first everywhere
    crossed = extract.session_values(rel_con, Design(coders=("C5", "C1")))
    assert list(crossed.sort_values("slot").coder_id) == ["C5", "C1"] and set(crossed.session_number) == {3}


def test_session_values_are_the_summary_exports(rel_con):
    values = extract.session_values(rel_con, Design())
    summary = export.summary(rel_con)
    merged = values.merge(summary, on=["dyad_id", "session_number", "coder_id"], suffixes=("", "_export"))
    assert len(merged) == len(values)
    shared = [c for c in extract.session_items() if c in summary.columns]
    assert len(shared) == 4 + 4 + 24  # family frequencies, global ratings, seg_<key>
    for col in shared:
        pd.testing.assert_series_equal(merged[col].astype(float), merged[f"{col}_export"].astype(float),
                                       check_names=False)
    s3 = merged[(merged.session_number == 3) & (merged.coder_id == "C2")].iloc[0]
    assert s3.seg_denial == 3 and s3.withdrawal_segments == 3  # the check-minus in segment 10 is not counted


def test_significance_defaults_to_1_and_is_missing_while_ratings_are_pending(rel_con):
    values = extract.session_values(rel_con, Design()).set_index(["session_number", "coder_id"])
    assert values.loc[(2, "C1"), "sig_denial"] == 3  # rated 1 + 2 % 5
    assert values.loc[(2, "C2"), "sig_denial"] == 1  # never rated: the scoresheet default
    assert math.isnan(values.loc[(6, "C2"), "sig_denial"])  # ratings pending
    table, n_coders = extract.wide(values.reset_index(), "sig_denial", 2)
    assert table.shape == (N_SESSIONS - 1, 2) and n_coders == 2  # session 6 dropped for ratings items


def test_presence_patterns_count_segments_check_minus_absent(rel_con):
    patterns, n_sessions, n_coders = extract.presence_patterns(rel_con, Design())
    assert (n_sessions, n_coders) == (N_SESSIONS, 2)
    # denial: C1 marks segments 1..s; C2 marks 1..s on odd s, 1..s-1 on even s (s = 2, 4, 6: C1 alone once).
    assert patterns["denial"].counts == {0b11: 1 + 1 + 3 + 3 + 5 + 5, 0b01: 3, 0: 60 - 21}
    assert patterns["complaint_therapist"].counts == {0b11: N_SESSIONS, 0: 60 - N_SESSIONS}
    assert patterns["withdrawal"].counts == patterns["denial"].counts  # denial is its only withdrawal code here
    assert patterns["rupture"].n_units == 60
    assert patterns["resolution"].counts == {0: 60}


def test_reliability_table_routine(rel_con):
    frame = reliability(rel_con, Design())
    assert list(frame.columns) == COLUMNS
    icc = frame[frame.unit == "sessions"]
    assert set(icc.statistic) == {"ICC1", "ICC1k"}
    row = icc[(icc.item == "seg_denial") & (icc.statistic == "ICC1")].iloc[0]
    ref = extract.wide(extract.session_values(rel_con, Design()), "seg_denial", 2)[0]
    assert ref.tolist() == [[1, 1], [2, 1], [3, 3], [4, 3], [5, 5], [6, 5]]
    assert row.lead and 0.9 < row.value < 1 and row.ci_low < row.value < row.ci_high
    assert (row.n_units, row.n_coders) == (N_SESSIONS, 2)
    # Ratings items lose session 6 (C2's ratings pending): 5 sessions remain, just enough.
    assert icc[icc.item == "therapist_contribution"].n_units.tolist() == [5, 5]
    flat = icc[icc.item == "overall_confrontation"]  # everyone rated 2 everywhere
    assert flat.value.isna().all() and set(flat.reason) == {"no variance"}
    kappa = frame[(frame.item == "denial") & (frame.statistic == "kappa")].iloc[0]
    assert kappa.method == "Fleiss' kappa" and kappa.n_units == 60
    assert not frame.value.map(lambda v: isinstance(v, float) and math.isinf(v)).any()


def test_reliability_table_crossed_has_all_six_forms(rel_con):
    frame = reliability(rel_con, Design(coders=("C1", "C2")))
    forms = frame[frame.item == "rupture_segments"]
    assert forms.statistic.tolist() == ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
    assert forms[forms.lead].statistic.tolist() == ["ICC2"]
    kappa = frame[(frame.item == "denial") & (frame.statistic == "kappa")].iloc[0]
    assert kappa.method == "Cohen's kappa"
    assert np.isfinite(kappa.value)


def test_too_few_sessions_and_unknown_coders(rel_con):
    with pytest.raises(ReliabilityInputError, match="1 session coded by each of C1, C5"):
        require_data(rel_con, Design(coders=("C1", "C5")))
    rows = reliability(rel_con, Design(coders=("C1", "C5")))
    assert set(rows.reason) == {FEW_SESSIONS} and rows.value.isna().all()
    with pytest.raises(ReliabilityInputError, match="Unknown coder C9"):
        check(rel_con, Design(coders=("C1", "C9")))
    with pytest.raises(ReliabilityInputError, match="Unknown coder CX"):  # consensus only: never a coder
        check(rel_con, Design(coders=("C1", "CX")))
    with pytest.raises(ReliabilityInputError, match="at least 2 coders"):
        check(rel_con, Design(coders=("C1",)))
    assert require_data(rel_con, Design()) == (N_SESSIONS, 2)


def test_period_restricts_sessions(rel_con):
    first = rel_con.execute("SELECT min(session_date) FROM session").fetchall()[0][0]
    design = Design(since=first, until=first)
    assert extract.design_size(rel_con, design)[0] == 1
    with pytest.raises(ReliabilityInputError, match="Too few data"):
        require_data(rel_con, design)
