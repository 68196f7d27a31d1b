"""The line beside the figures: a coder's ICC(1,1) on rupture frequency over their routine double-coded
sessions, and their calibration status."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from rrrs_core.permits import OPEN
from rrrs_core.reliability import calibration, extract
from rrrs_core.reliability import coder_line as cl
from rrrs_core.reliability.design import Design
from rrrs_core.reliability.icc import icc_forms
from rrrs_core.reports import dyad_report
from tests.builders import add_dyad, add_session, add_therapist, globals_
from tests.test_reliability_store import double_coded_clinic
from tests.test_reports import NOW, pdf_text

N = 6
RUPTURE_FAMILIES = ("denial", "complaint_therapist")  # withdrawal, confrontation


def marks_a(s: int) -> list[tuple[int, str, str]]:
    """A's coding of D1 session s: every family varies across sessions."""
    return ([(seg, "denial", "check") for seg in range(1, s + 1)]
            + [(seg, "complaint_therapist", "check") for seg in range(10 - s % 3, 11)]
            + [(seg, "invite_feelings", "check") for seg in range(1, 1 + s % 4)])


def marks_b(s: int) -> list[tuple[int, str, str]]:
    """B's: A's, one withdrawal segment fewer on odd sessions (a close copy that meets the criterion)."""
    return [m for m in marks_a(s) if not (s % 2 and m == (s, "denial", "check"))] + [(2, "denial", "check_minus")]


def marks_h(s: int) -> list[tuple[int, str, str]]:
    """H's: unrelated to A's (a trainee short of the criterion)."""
    return [(seg, "complaint_therapist", "check") for seg in range(1, 8 - s)] + [(9, "denial", "check")]


def rupture_segments(marks: list[tuple[int, str, str]]) -> int:
    """By hand: segments with a withdrawal or confrontation marker, check (check-minus does not count)."""
    return len({seg for seg, code, clarity in marks if code in RUPTURE_FAMILIES and clarity == "check"})


def coder_line_clinic(con: duckdb.DuckDBPyConnection) -> None:
    """D1 1-6: A then B (both double-coded), then H (third: never compared in the routine design).
    D2 1-3: E then C (three double-coded sessions each). D3 1: N alone. D4 1: a consensus coding by X."""
    add_therapist(con, "T1")
    for d in ("D1", "D2", "D3", "D4"):
        add_dyad(con, d, "T1")
    for s in range(1, N + 1):
        add_session(con, "D1", s, marks_a(s), globals_(w=1 + s % 5, r=1 + s % 4), coder_id="A")
        add_session(con, "D1", s, marks_b(s), globals_(w=1 + s % 5, r=1 + s % 4), coder_id="B")
        add_session(con, "D1", s, marks_h(s), globals_(), coder_id="H")
    for s in range(1, 4):
        add_session(con, "D2", s, [(s, "denial", "check")], globals_(), coder_id="E")
        add_session(con, "D2", s, [(1, "denial", "check")], globals_(), coder_id="C")
    add_session(con, "D3", 1, [(1, "denial", "check")], globals_(), coder_id="N")
    add_session(con, "D4", 1, [(1, "denial", "check")], globals_(), coder_id="X", consensus=True)


@pytest.fixture
def lines_con(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    coder_line_clinic(con)
    return con


def mark_references(con: duckdb.DuckDBPyConnection) -> None:
    for s in range(1, N + 1):
        calibration.mark(con, "D1", s, "A", user="boss", role="admin", permit=OPEN)


def test_icc_is_the_one_way_icc_of_the_coders_double_coded_sessions(lines_con):
    table = np.array([[rupture_segments(marks_a(s)), rupture_segments(marks_b(s))] for s in range(1, N + 1)],
                     dtype=float)
    assert table[:, 0].tolist() == [3, 5, 4, 6, 8, 7] and table[:, 1].tolist() == [2, 5, 3, 6, 7, 7]
    want = next(i for i in icc_forms(table) if i.form == "ICC1")
    # by hand: one-way ANOVA, ICC(1,1) = (MSB - MSW) / (MSB + MSW) for two coders
    msb = 2 * ((table.mean(axis=1) - table.mean()) ** 2).sum() / (N - 1)
    msw = ((table - table.mean(axis=1, keepdims=True)) ** 2).sum() / N
    assert want.value == pytest.approx((msb - msw) / (msb + msw))
    for coder in ("A", "B"):
        line = cl.coder_line(lines_con, coder)
        assert line.sessions == N and line.reason == ""
        assert (line.icc, line.ci_low, line.ci_high) == pytest.approx((want.value, want.ci_low, want.ci_high))
    text = cl.coder_line(lines_con, "A").text()
    assert text.startswith(f"A: ICC .{round(want.value * 100)} [.") and "on rupture frequency, 6 double-coded " \
        "sessions" in text


def test_coder_design_is_the_routine_selection_narrowed_to_the_coder(con):
    double_coded_clinic(con)
    routine = extract.session_values(con, Design())
    for coder in ("C1", "C2", "C5", "CX", "C4"):
        mine = extract.session_values(con, Design(coder=coder))
        keys = routine.groupby(["dyad_id", "session_number"]).coder_id.transform(lambda c, k=coder: (c == k).any())
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), routine[keys].reset_index(drop=True),
                                      check_dtype=False)
    assert len(extract.session_values(con, Design(coder="C5"))) == 0  # third coder of session 3 only


def test_no_and_too_few_double_coded_sessions_give_no_number(lines_con):
    none = cl.coder_line(lines_con, "N")
    assert none.sessions == 0 and none.icc is None
    assert none.text(warn=lambda s: f"<{s}>") == ("N: <no double-coded sessions>; "
                                                  "<not yet calibrated (no calibration sessions)>")
    third = cl.coder_line(lines_con, "H")  # always the third coding: never compared
    assert third.sessions == 0 and "no double-coded sessions" in third.text()
    few = cl.coder_line(lines_con, "C")
    assert few.sessions == 3 and few.icc is None
    assert "<only 3 double-coded sessions (fewer than 5: no ICC yet)>" in few.text(warn=lambda s: f"<{s}>")
    assert "ICC ." not in few.text()
    assert cl.coder_line(lines_con, "X").text() == ("X: consensus coding (derived from the coders' codings: no "
                                                    "agreement of its own)")


def test_calibration_status_against_the_reference_codings(lines_con):
    assert cl.coder_line(lines_con, "B").calibration is None  # no references yet
    mark_references(lines_con)
    b, h, a = (cl.coder_line(lines_con, c) for c in ("B", "H", "A"))
    assert b.calibration == calibration.MEETS and b.calibrated
    assert b.text().endswith("; calibration: meets criterion")
    assert (b.calibration, []) == (calibration.status(calibration.trainee_table(lines_con, "B"))[0], list(b.short_of))
    assert h.calibration == calibration.NOT_YET and not h.calibrated and h.short_of
    assert h.text(warn=lambda s: f":orange[{s}]").endswith(":orange[not yet calibrated (criterion not met)]")
    assert a.calibration == cl.REFERENCE and a.text().endswith("; calibration: reference coder")


def test_lines_keep_the_order_given_and_drop_repeats(lines_con):
    assert [line.coder_id for line in cl.coder_lines(lines_con, ("B", "A", "B"))] == ["B", "A"]


def test_dyad_report_cover_carries_the_lines(lines_con):
    mark_references(lines_con)
    add_session(lines_con, "D1", 7, marks_a(1), globals_(), coder_id="B")  # B's primary coding of session 7
    pages = pdf_text(dyad_report(lines_con, "D1", generated_by="alice", now=NOW))
    want = cl.coder_line(lines_con, "A").text()
    assert want.startswith("A: ICC .") and want.endswith("calibration: reference coder")
    cover = pages[0]
    assert "Coder reliability " + want in cover                  # most sessions first: A (6), then B (1)
    assert cl.coder_line(lines_con, "B").text() in cover and cover.index("B: ICC") > cover.index("A: ICC")
    assert "How coder reliability is computed" in " ".join(pages)
    few = pdf_text(dyad_report(lines_con, "D2", generated_by="alice", now=NOW))[0]
    assert ("E: only 3 double-coded sessions (fewer than 5: no ICC yet); not yet calibrated (no calibration "
            "sessions)") in few
