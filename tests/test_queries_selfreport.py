"""Self-reports beside the coding (issue 18): a dyad's session axis, the discordance rules, one session's forms,
and a session known only from its self-reports."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from rrrs_core.errors import NotFoundError
from rrrs_core.queries import dyad as dq
from rrrs_core.queries import selfreport as q
from rrrs_core.queries import session as sq
from rrrs_core.scope import CLINIC, Scope
from tests.builders import add_dyad, add_selfreport, rupture_items, srs, wai

pytestmark = pytest.mark.both_backends  # the queries run on the embedded file and on the shared store



def both(con: duckdb.DuckDBPyConnection, dyad: str):
    return q.beside(q.dyad_axis(con, CLINIC, dyad), dq.trajectory(con, CLINIC, dyad))


def test_axis_is_the_union_of_coded_and_self_reported_sessions(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D2", 2, "srs", srs(37))
    add_selfreport(clinic_con, "D2", 5, "srs", srs(31), completed_on=dt.date(2026, 2, 3))  # sessions 4, 5 uncoded
    add_selfreport(clinic_con, "D2", 5, "wai_sr", wai(4, 3.5, 2.75), completed_on=dt.date(2026, 2, 3))
    axis = q.dyad_axis(clinic_con, CLINIC, "D2")
    assert axis.session_number.tolist() == [1, 2, 3, 5]
    assert axis.coded.tolist() == [True, True, True, False]
    s5 = axis.set_index("session_number").loc[5]
    assert s5.srs_total == pytest.approx(31) and s5.below_cutoff and s5.srs_drop  # 37 -> 31
    assert (s5.wai_task, s5.wai_bond, s5.wai_goal) == pytest.approx((4, 3.5, 2.75))
    assert s5.session_date.date() == dt.date(2026, 2, 3)  # no session row: the form's date
    assert s5.patient_forms == ("srs", "wai_sr") and s5.therapist_forms == ()
    assert axis.set_index("session_number").loc[1].patient_forms == ()


def test_dyad_with_self_reports_only(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_dyad(clinic_con, "D9", "T2")
    add_selfreport(clinic_con, "D9", 1, "srs", srs(38))
    add_selfreport(clinic_con, "D9", 2, "rupture_items", rupture_items(True, 4, 2))
    b = both(clinic_con, "D9")
    assert b.session_number.tolist() == [1, 2] and not b.coded.any()
    assert b.rupture_share.isna().all()
    assert q.discordance(b).empty  # nothing coded to disagree with
    last = q.latest(b)
    assert (last["srs_session"], last["srs_total"], last["below_cutoff"]) == (1, 38, False)
    assert (last["rupture_session"], last["rupture_unresolved"], last["resolution"]) == (2, True, 2)
    assert last["n_reported"] == 2


def test_dyad_with_codings_only(clinic_con: duckdb.DuckDBPyConnection) -> None:
    b = both(clinic_con, "D1")
    assert b.session_number.tolist() == [1, 2, 3, 4] and b.coded.all()
    assert b.srs_total.isna().all() and q.discordance(b).empty
    assert q.latest(b)["n_reported"] == 0


def test_discordance_in_both_directions(clinic_con: duckdb.DuckDBPyConnection) -> None:
    # D1 sessions: 1 (1 withdrawal segment: minimal_response),
    # 2 (confrontation 2), 3 (confrontation 5), 4 (confrontation 1, withdrawal 1). D3 session 1 has no marks.
    add_selfreport(clinic_con, "D1", 1, "rupture_items", rupture_items(False))   # coders saw withdrawal
    add_selfreport(clinic_con, "D1", 2, "rupture_items", rupture_items(True))    # agree
    add_selfreport(clinic_con, "D1", 3, "rupture_items", rupture_items(False))   # coders saw confrontation
    add_selfreport(clinic_con, "D3", 1, "rupture_items", rupture_items(True))    # coders saw nothing
    found = q.discordance(both(clinic_con, "D1"))
    assert found.session_number.tolist() == [3, 1]  # newest first
    assert set(found.kind) == {q.UNREPORTED}
    s1 = found.set_index("session_number").loc[1]
    assert s1.coded == "1 withdrawal" and s1.patient == "no" and s1.withdrawal_only
    assert not found.set_index("session_number").loc[3].withdrawal_only
    d3 = q.discordance(both(clinic_con, "D3"))
    assert d3.kind.tolist() == [q.UNSEEN] and d3.coded.tolist() == ["none"]
    assert d3.finding.tolist() == ["reported, not seen"]


def test_an_uncoded_session_is_never_discordant(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D1", 7, "rupture_items", rupture_items(True))
    assert q.discordance(both(clinic_con, "D1")).empty


def test_definitions_say_what_the_issue_asks() -> None:
    assert q.DISCORDANCE[q.UNSEEN].startswith("Patient reported a rupture the coders did not see")
    assert q.DISCORDANCE[q.UNREPORTED].startswith("Coders saw a confrontation or withdrawal rupture the patient "
                                                   "did not report")
    assert "Withdrawal ruptures are by nature often unreported" in q.DISCORDANCE[q.UNREPORTED]


def test_session_reports_patient_and_therapist(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D1", 3, "srs", srs(30))
    add_selfreport(clinic_con, "D1", 3, "rupture_items", rupture_items(True, 5, 1))
    add_selfreport(clinic_con, "D1", 3, "rupture_items", rupture_items(True, 4, 3), respondent="therapist")
    rep = q.session_reports(clinic_con, CLINIC, "D1", 3)
    assert list(dict.fromkeys(rep.respondent)) == ["patient", "therapist"]
    srs_total = rep[(rep.instrument == "srs") & (rep.kind == "scale")]
    assert srs_total.name.tolist() == ["total"] and srs_total.value.tolist() == pytest.approx([30])
    assert srs_total.alerts.iloc[0] == "below_cutoff"
    patient_rupture = rep[(rep.respondent == "patient") & (rep.instrument == "rupture_items")]
    assert set(patient_rupture.alerts) == {"rupture_unresolved"}
    therapist = rep[rep.respondent == "therapist"]
    assert set(therapist.alerts) == {""}
    assert q.session_reports(clinic_con, CLINIC, "D1", 2).empty


def test_out_of_scope_reads_nothing(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D1", 3, "srs", srs(30))
    other = Scope.therapists(["T2"], "T2")
    for read in (lambda: q.session_reports(clinic_con, other, "D1", 3), lambda: q.dyad_axis(clinic_con, other, "D1"),
                 lambda: q.session_reports(clinic_con, Scope.therapists([], "nobody"), "D1", 3)):
        with pytest.raises(NotFoundError):
            read()


def test_a_session_known_only_from_self_reports_opens(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_selfreport(clinic_con, "D2", 5, "srs", srs(36), completed_on=dt.date(2026, 2, 9))
    head = sq.session_header(clinic_con, CLINIC, "D2", 5)
    assert head["session_date"] == dt.date(2026, 2, 9) and head["n_segments"] is None
    assert (head["prev_session"], head["next_session"]) == (3, None)
    assert sq.session_header(clinic_con, CLINIC, "D2", 3)["next_session"] == 5
    picker = sq.sessions(clinic_con, CLINIC, "D2")
    assert picker.session_number.tolist() == [1, 2, 3, 5] and picker.coded.tolist() == [True, True, True, False]
    with pytest.raises(NotFoundError):
        sq.session_header(clinic_con, CLINIC, "D2", 4)  # neither recorded nor self-reported
