"""Session queries: header and navigation, codings, marks, anchored ratings and the coder diff."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from rrrs_core import codebook as cb
from rrrs_core.errors import NotFoundError
from rrrs_core.queries import directory
from rrrs_core.queries import session as q
from rrrs_core.scope import CLINIC
from tests.builders import add_session, globals_


def test_header_and_neighbours(clinic_con: duckdb.DuckDBPyConnection) -> None:
    h = q.session_header(clinic_con, CLINIC, "D1", 3)
    assert (h["prev_session"], h["next_session"], h["n_segments"], h["segment_minutes"]) == (2, 4, 10, 5)
    assert h["therapist_id"] == "T1" and h["n_drafts"] == 0
    first = q.session_header(clinic_con, CLINIC, "D4", 1)
    assert (first["prev_session"], first["next_session"], first["n_segments"]) == (None, None, 9)


def test_not_found_and_out_of_scope(clinic_con: duckdb.DuckDBPyConnection) -> None:
    t2 = directory.therapist_scope("T2")
    with pytest.raises(NotFoundError):
        q.session_header(clinic_con, CLINIC, "D1", 99)
    with pytest.raises(NotFoundError):
        q.session_header(clinic_con, CLINIC, "ZZ", 1)
    for fn, args in ((q.session_header, ()), (q.codings, ()), (q.marks, ("C1",)), (q.ratings, ("C1",)),
                     (q.coder_diff, ("C1", "C2"))):
        with pytest.raises(NotFoundError):
            fn(clinic_con, t2, "D1", 3, *args)
    with pytest.raises(NotFoundError):
        q.marks(clinic_con, CLINIC, "D1", 3, "C9")
    with pytest.raises(NotFoundError):
        q.sessions(clinic_con, t2, "D1")


def test_codings_primary_first(clinic_con: duckdb.DuckDBPyConnection) -> None:
    c = q.codings(clinic_con, CLINIC, "D1", 3)
    assert list(c.coder_id) == ["C1", "C2"]
    assert list(c.is_primary) == [True, False]
    assert list(c.n_marks) == [6, 3]
    assert list(c.ratings_pending) == [False, False]
    assert q.codings(clinic_con, CLINIC, "D3", 2).ratings_pending.tolist() == [True]


def test_consensus_coding_becomes_primary(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_session(clinic_con, "D1", 3, [(1, "complaint_therapist", "check")], globals_(c=4, tc=4),
                coder_id="CONS", consensus=True)
    assert q.codings(clinic_con, CLINIC, "D1", 3).coder_id.tolist()[0] == "CONS"


def test_drafts_are_counted_not_shown(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_session(clinic_con, "D4", 2, [(1, "denial", "check")], None, status="draft")
    assert q.session_header(clinic_con, CLINIC, "D4", 2)["n_drafts"] == 1
    assert q.codings(clinic_con, CLINIC, "D4", 2).empty
    assert q.sessions(clinic_con, CLINIC, "D4").coded.tolist() == [True, False]


def test_marks_with_minutes_and_codebook_text(clinic_con: duckdb.DuckDBPyConnection) -> None:
    m = q.marks(clinic_con, CLINIC, "D1", 3, "C1")
    assert list(zip(m.code, m.segment, strict=True)) == [
        ("complaint_therapist", 1), ("complaint_therapist", 2), ("complaint_therapist", 3),
        ("complaint_therapist", 6), ("control_pressure", 7), ("invite_feelings", 8)]
    last = m.iloc[-1]
    assert (last.minute_start, last.minute_end, last.clarity, last.family) == (35, 40, "check_minus", "resolution")
    assert last.definition == cb.DEFAULT.code("invite_feelings").definition
    assert last.check_minus_guidance == cb.DEFAULT.code("invite_feelings").check_minus
    assert last.label == "Invites thoughts/feelings about therapist or therapy"


def test_ratings_with_anchor_text(clinic_con: duckdb.DuckDBPyConnection) -> None:
    r = q.ratings(clinic_con, CLINIC, "D1", 3, "C1").set_index("item")
    assert r.loc["therapist_contribution", "rating"] == 5
    assert r.loc["therapist_contribution", "anchor"] == "The therapist clearly caused or exacerbated the ruptures"
    assert r.loc["overall_resolution", "anchor"].startswith("Poor resolution")
    assert list(r.index) == list(cb.DEFAULT.global_keys)
    pending = q.ratings(clinic_con, CLINIC, "D3", 2, "C1")
    assert pending.rating.isna().all() and set(pending.anchor) == {"Ratings pending"}


def test_coder_diff_d1_session3(clinic_con: duckdb.DuckDBPyConnection) -> None:
    # C1: complaint 1,2,3,6, control 7, invite_feelings (check-minus) 8; C2: complaint 1,2,3.
    d = q.coder_diff(clinic_con, CLINIC, "D1", 3, "C1", "C2")
    by_code = d.marks.set_index("code")
    assert by_code.loc["complaint_therapist", "only_a"] == [6]
    assert by_code.loc["complaint_therapist", "agree"] == [1, 2, 3]
    assert by_code.loc["control_pressure", "only_a"] == [7]
    assert by_code.loc["invite_feelings", "only_a"] == [8]
    assert all(v == [] for v in d.marks.only_b)
    assert all(v == [] for v in d.marks.clarity_differs)
    assert (d.n_agree, d.n_union) == (3, 6)
    r = d.ratings.set_index("item")
    assert r.loc["overall_confrontation", ["a", "b", "difference"]].tolist() == [5, 4, -1]
    assert r.loc["overall_resolution", ["a", "b", "difference"]].tolist() == [1, 2, 1]
    assert r.loc["therapist_contribution", ["a", "b", "difference"]].tolist() == [5, 4, -1]
    assert r.loc["overall_withdrawal", "difference"] == 0
    assert r.loc["complaint_therapist", "a"] == 5 and pd.isna(r.loc["complaint_therapist", "b"])
    table = q.diff_table(d)
    assert table.set_index("Code").loc["Complaint/concern about the therapist", "Only C1 (min)"] == "25-30"
    assert table.set_index("Code").loc["Complaint/concern about the therapist", "Both (min)"] == "0-5, 5-10, 10-15"


def test_coder_diff_clarity_difference(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_session(clinic_con, "D2", 1, [(1, "avoidant_storytelling", "check_minus"), (5, "denial", "check")],
                globals_(w=3, r=3), coder_id="C9")
    d = q.coder_diff(clinic_con, CLINIC, "D2", 1, "C1", "C9").marks.set_index("code")
    assert d.loc["avoidant_storytelling", "clarity_differs"] == [1]
    assert d.loc["denial", "only_b"] == [5]
    assert d.loc["invite_feelings", "only_a"] == [2]
