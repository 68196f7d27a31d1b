"""Who reads, attaches and deletes transcripts: the session's scope; QI never; every access audited, with no
words of the transcript in the trail."""

from __future__ import annotations

import pytest

from rrrs_core import access, audit
from rrrs_core.access import Principal
from rrrs_core.errors import NotFoundError, PermissionDeniedError
from rrrs_core.transcripts import attach, delete, export_csv, parse, search, segment_turns, turns

pytestmark = pytest.mark.both_backends

ADMIN = Principal("admin@clinic", "admin")
SUPERVISOR = Principal("s1@clinic", "supervisor", therapist_id="S1")  # S1 supervises T1 (D1), treats D3
THERAPIST = Principal("t2@clinic", "therapist", therapist_id="T2")    # D2 and D4
CODER = Principal("c9@clinic", "coder", coder_id="C9")
QI = Principal("qi@clinic", "qi")
SECRET = "zanzibar"
CSV = f"start,end,speaker,text\n0,20,T,Tell me about {SECRET}.\n30,50,P,I would rather not.\n".encode()


@pytest.fixture
def tx(clinic_con):
    for dyad, session in (("D1", 3), ("D2", 1), ("D3", 1)):
        attach(clinic_con, ADMIN, dyad, session, parse(CSV, "s.csv"), "s.csv")
    access.assign(clinic_con, "C9", "D2", 1)
    return clinic_con


def _trail(con) -> list[tuple]:
    return [tuple(r) for r in audit.listing(con)[["actor", "role", "action", "target"]].itertuples(index=False)]


@pytest.mark.parametrize(("who", "allowed", "refused"), [
    (SUPERVISOR, [("D1", 3), ("D3", 1)], [("D2", 1)]),
    (THERAPIST, [("D2", 1)], [("D1", 3), ("D3", 1)]),
    (CODER, [("D2", 1)], [("D1", 3), ("D3", 1)]),      # assigned sessions only
    (ADMIN, [("D1", 3), ("D2", 1), ("D3", 1)], []),
])
def test_reads_follow_the_sessions_scope(tx, who, allowed, refused):
    for dyad, session in allowed:
        assert turns(tx, who, dyad, session).text.str.contains(SECRET).any()
    for dyad, session in refused:
        with pytest.raises(NotFoundError, match="not found or not permitted"):
            turns(tx, who, dyad, session)
        with pytest.raises(NotFoundError, match="not found or not permitted"):
            segment_turns(tx, who, dyad, session, 1)


def test_out_of_scope_and_missing_look_the_same(tx):
    with pytest.raises(NotFoundError) as theirs:
        turns(tx, THERAPIST, "D1", 3)
    with pytest.raises(NotFoundError) as missing:
        turns(tx, THERAPIST, "D9", 3)
    assert str(theirs.value).replace("D1", "X") == str(missing.value).replace("D9", "X")


def test_qi_never_sees_a_transcript(tx):
    for call in (lambda: turns(tx, QI, "D1", 3), lambda: segment_turns(tx, QI, "D1", 3, 1),
                 lambda: search(tx, QI, "D1", SECRET), lambda: export_csv(tx, QI, "D1", 3),
                 lambda: attach(tx, QI, "D1", 3, parse(CSV, "s.csv"), "s.csv")):
        with pytest.raises(PermissionDeniedError, match="QI role"):
            call()


def test_search_is_scoped_to_the_principal(tx):
    access.assign(tx, "C9", "D2", 2)  # assigned, no transcript
    attach(tx, ADMIN, "D2", 3, parse(CSV, "s.csv"), "s.csv")  # not assigned to C9
    assert search(tx, CODER, "D2", SECRET).session_number.tolist() == [1]
    assert search(tx, THERAPIST, "D2", SECRET).session_number.tolist() == [1, 3]
    with pytest.raises(NotFoundError):
        search(tx, THERAPIST, "D1", SECRET)


def test_who_may_attach_and_delete(tx):
    data = parse(CSV, "s.csv")
    attach(tx, THERAPIST, "D2", 2, data, "s.csv")      # their own dyad
    attach(tx, SUPERVISOR, "D1", 2, data, "s.csv")     # their trainee's
    with pytest.raises(PermissionDeniedError, match="therapist, their supervisor or an admin"):
        attach(tx, CODER, "D2", 1, data, "s.csv")
    with pytest.raises(NotFoundError):
        attach(tx, THERAPIST, "D1", 2, data, "s.csv")
    for who in (SUPERVISOR, THERAPIST, CODER, QI):
        with pytest.raises(PermissionDeniedError, match="administrator"):
            delete(tx, who, "D2", 1)
    delete(tx, ADMIN, "D2", 1)


def test_every_access_is_audited_without_the_words(tx):
    before = len(_trail(tx))
    turns(tx, SUPERVISOR, "D1", 3)
    segment_turns(tx, CODER, "D2", 1, 1)
    search(tx, THERAPIST, "D2", SECRET)
    export_csv(tx, ADMIN, "D3", 1)
    delete(tx, ADMIN, "D3", 1)
    trail = list(reversed(_trail(tx)))[before:]
    assert trail == [("s1@clinic", "supervisor", "view transcript", "D1/3"),
                     ("c9@clinic", "coder", "view transcript", "D2/1"),
                     ("t2@clinic", "therapist", "search transcripts", "D2"),
                     ("admin@clinic", "admin", "export transcript", "D3/1"),
                     ("admin@clinic", "admin", "delete transcript", "D3/1")]
    details = " ".join(audit.listing(tx).detail.fillna(""))
    assert SECRET not in details and "rather" not in details
    assert audit.check(tx).ok


def test_a_refused_read_writes_no_audit_row_and_returns_nothing(tx):
    before = len(_trail(tx))
    with pytest.raises(NotFoundError):
        turns(tx, THERAPIST, "D1", 3)
    assert len(_trail(tx)) == before
