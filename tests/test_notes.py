"""Supervision notes attach to existing dyads and sessions, with author and time."""

from __future__ import annotations

import pytest

from rrrs_core import notes
from rrrs_core.errors import RrrsError

pytestmark = pytest.mark.both_backends  # the embedded file and the shared store (tests/conftest.py)


def test_add_and_list(clinic_con):
    notes.add(clinic_con, "D1", "S1", "Discuss the complaint in session 3.", session_number=3)
    notes.add(clinic_con, "D1", "S1", "Overall: rising confrontation.")
    all_notes = notes.for_dyad(clinic_con, "D1")
    assert all_notes.body.tolist()[0] == "Overall: rising confrontation."
    assert len(all_notes) == 2 and set(all_notes.author) == {"S1"}
    assert notes.for_dyad(clinic_con, "D1", 3).body.tolist() == ["Discuss the complaint in session 3."]
    assert notes.for_dyad(clinic_con, "D2").empty


@pytest.mark.parametrize(("dyad", "session", "body", "msg"), [
    ("D1", None, "   ", "needs some text"),
    ("ZZ", None, "x", "No dyad ZZ"),
    ("D1", 99, "x", "no session 99"),
    ("D1", None, "x" * 5001, "at most 5000"),
])
def test_bad_notes_are_refused(clinic_con, dyad, session, body, msg):
    with pytest.raises(RrrsError, match=msg):
        notes.add(clinic_con, dyad, "S1", body, session_number=session)
    assert notes.for_dyad(clinic_con, "D1").empty
