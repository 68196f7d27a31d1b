"""Coders' accept/reject decisions on suggestions: stored (migration 12), audited, scoped, and counted."""

from __future__ import annotations

import pytest

from rrrs_core.access import Principal
from rrrs_core.errors import PermissionDeniedError, RrrsError
from rrrs_core.scope import Scope
from rrrs_core.suggest import acceptance, record_decision
from rrrs_core.suggest.decisions import decided

ADMIN = Principal("admin@clinic", "admin")
QI = Principal("qi@clinic", "qi")
THERAPIST = Principal("t2@clinic", "therapist", therapist_id="T2")  # D2 and D4 only


def test_decisions_are_stored_audited_and_counted(clinic_con):
    con = clinic_con
    record_decision(con, ADMIN, "D1", 3, 1, 4, "complaint_therapist", True)
    record_decision(con, ADMIN, "D1", 3, 1, 5, "denial", False)
    record_decision(con, ADMIN, "D1", 3, 2, 9, "complaint_therapist", True)
    record_decision(con, ADMIN, "D1", 3, 1, 5, "denial", True)  # changed their mind: the latest counts
    rows = con.execute("SELECT count(*) FROM suggestion_decision").fetchone()[0]
    assert rows == 4  # never updated in place
    audit = con.execute("SELECT count(*) FROM audit WHERE action = 'decide suggestion'").fetchone()[0]
    assert audit == 4
    counts = acceptance(con).set_index("code")
    assert counts.loc["complaint_therapist", "accepted"] == 2 and counts.loc["complaint_therapist", "rejected"] == 0
    assert counts.loc["denial", "accepted"] == 1 and counts.loc["denial", "rejected"] == 0
    assert counts.loc["all", "decided"] == 3 and counts.loc["all", "accepted_share"] == 1.0
    mine = decided(con, ADMIN, "D1", 3)
    assert len(mine) == 3 and mine.accepted.all()


def test_acceptance_follows_the_scope_and_an_empty_store_has_none(clinic_con):
    assert acceptance(clinic_con).empty
    record_decision(clinic_con, ADMIN, "D1", 3, 1, 4, "complaint_therapist", False)
    assert acceptance(clinic_con, Scope.therapists({"T2"}, "T2")).empty
    t1 = acceptance(clinic_con, Scope.therapists({"T1"}, "T1")).set_index("code")
    assert t1.loc["complaint_therapist", "rejected"] == 1 and t1.loc["all", "accepted_share"] == 0.0


def test_refusals(clinic_con):
    with pytest.raises(RrrsError, match="not a 3RS code"):
        record_decision(clinic_con, ADMIN, "D1", 3, 1, 4, "not_a_code", True)
    with pytest.raises(PermissionDeniedError):
        record_decision(clinic_con, QI, "D1", 3, 1, 4, "denial", True)
    with pytest.raises(Exception):  # noqa: B017 - out of scope: not found or not permitted
        record_decision(clinic_con, THERAPIST, "D1", 3, 1, 4, "denial", True)
    assert clinic_con.execute("SELECT count(*) FROM suggestion_decision").fetchone()[0] == 0
