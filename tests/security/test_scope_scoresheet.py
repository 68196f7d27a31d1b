"""Issue 14, "Scope is enforced on reads but not on writes and side doors", item 1 (the scoresheet and
supervision notes on other supervisors' dyads), and "Defaults and secrets" item 4, first bullet (demo mode
storing a new dyad typed by hand).

The small clinic: S1 supervises T1 (dyads D1 of T1, D3 of S1); S2 supervises T2 (D2 with patient P-BRAVO, D4).
Signed in as supervisor S1, D2 must behave exactly like a dyad that does not exist.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rrrs_core import access, notes, permits, store
from rrrs_core import coding_edit as ce
from rrrs_core import coding_history as ch
from rrrs_core import scoresheet_xlsx as sx
from rrrs_core.errors import NotFoundError, PermissionDeniedError
from tests.apptest import all_text, open_page
from tests.test_roles import run_as

# On both backends: the tests that write through the core or audit (below, marked). The page-level scope
# checks run on the embedded file only: on DuckLake they test the same permission code at several times
# the cost (about 5 ms of catalog reads per query); tests/test_page_*.py cover the pages on the lake.

NEW = "+ New…"
D2_SECRETS = ("P-BRAVO", "Psychodynamic")  # D2's patient id and treatment: never shown to S1
NOT_FOUND = "not found or not permitted"


@pytest.fixture
def db(clinic_db: Path) -> Path:
    con = store.connect(clinic_db)
    access.upsert(con, "sup1", "supervisor", therapist_id="S1")
    access.upsert(con, "t2", "therapist", therapist_id="T2")
    access.upsert(con, "c1", "coder", coder_id="C1")
    access.assign(con, "C1", "D2", 2)
    con.close()
    return clinic_db


def permit_of(con, subject: str, synthetic_only: bool = False) -> permits.Permit:
    who = access.resolve(con, subject)
    assert who is not None
    return permits.for_principal(con, who, synthetic_only=synthetic_only)


def labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button] + [b.label for b in at.get("download_button")]


def assert_shows_nothing_of_d2(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    text = all_text(at)
    for secret in D2_SECRETS:
        assert secret not in text
    assert "Opened version" not in text, "D2's coding was opened"
    shown = labels(at)
    for label in ("Save final", "Save draft", "Add note", "This coding (stored version 1)"):
        assert label not in shown, f"'{label}' offered on D2"
    with pytest.raises(KeyError):
        at.data_editor(key="sc_w_grid_withdrawal")  # no grid of D2's marks


def try_to_save(at: AppTest) -> None:
    """The attacker presses Save final if the page offers it at all."""
    button = next((b for b in at.button if b.label == "Save final"), None)
    if button is not None:
        button.click().run()


def d2_session1_untouched(db: Path) -> None:
    con = store.connect(db)
    try:
        versions = con.execute("SELECT version, created_by FROM coding WHERE dyad_id = 'D2' AND session_number = 1 "
                               "AND coder_id = 'C1' ORDER BY version").fetchall()
        assert versions == [(1, "tests")], f"S1 stored a version of D2: {versions}"
        assert not con.execute("SELECT * FROM note WHERE dyad_id = 'D2'").fetchall()
        assert not con.execute("SELECT * FROM therapist WHERE therapist_id = 'T9'").fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- item 1, through the page


def test_1_supervisor_url_to_another_supervisors_dyad_is_not_found_and_not_offered_as_new(monkeypatch, db):
    """`/scoresheet?dyad=D2&session=1&coder=C1` as S1: the Dyad box must not offer "+ New…" with D2 prefilled."""
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "scoresheet", {"dyad": "D2", "session": "1", "coder": "C1"})
    assert not at.exception
    box = at.selectbox(key="sc_pick_dyad")
    assert box.value is None, f"the Dyad box preselected {box.value!r} for an out-of-scope dyad"
    assert "D2 · therapist T2" not in box.options
    assert "Not found or not permitted." in all_text(at)
    assert "sc_pick_new_dyad" not in [t.key for t in at.text_input]
    assert_shows_nothing_of_d2(at)
    d2_session1_untouched(db)


def test_1_supervisor_typing_another_supervisors_dyad_as_new_sees_and_saves_nothing(monkeypatch, db):
    """"+ New…" with D2 typed in, under S1's own trainee T1, then under a new therapist T9: D2's coding,
    history, notes and Excel download stay hidden, and "Save final" stores no version 2 as S1."""
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "scoresheet", {"dyad": "D2", "session": "1", "coder": "C1"})
    at.selectbox(key="sc_pick_dyad").set_value(NEW).run()
    at.text_input(key="sc_pick_new_dyad").set_value("D2").run()
    at.selectbox(key="sc_pick_therapist").set_value("T1").run()
    assert NOT_FOUND in all_text(at)
    assert_shows_nothing_of_d2(at)
    try_to_save(at)
    at.selectbox(key="sc_pick_therapist").set_value(NEW).run()
    at.text_input(key="sc_pick_new_therapist").set_value("T9").run()
    assert_shows_nothing_of_d2(at)
    try_to_save(at)
    assert not at.exception
    d2_session1_untouched(db)


@pytest.mark.both_backends
def test_1_supervisor_in_scope_dyad_still_opens_saves_and_takes_notes(monkeypatch, db):
    """The fix must not lock S1 out of their own trainee's dyad."""
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "scoresheet", {"dyad": "D1", "session": "3", "coder": "C1"})
    assert not at.exception and "Opened version 1 (final)" in all_text(at)
    next(b for b in at.button if b.label == "Save final").click().run()
    assert "Nothing changed since version 1" in all_text(at)
    assert "Add note" in labels(at)


def test_1_new_therapist_must_be_supervised_by_the_supervisor_who_adds_it(monkeypatch, db):
    """A supervisor's new therapist lands in their own scope: the Supervisor box offers only them, and the
    core refuses any other supervisor."""
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "scoresheet", {"dyad": "D7", "session": "1", "coder": "C1"})
    assert at.text_input(key="sc_pick_new_dyad").value == "D7"
    at.selectbox(key="sc_pick_therapist").set_value(NEW).run()
    assert at.selectbox(key="sc_pick_sup").options == ["S1"]
    con = store.connect(db)
    try:
        sup = permit_of(con, "sup1")
        with pytest.raises(PermissionDeniedError, match="supervised by you"):
            ce.save_coding(con, ce.CodingDraft("D7", 1, "C1", "T9", supervisor_id="S2"), user="sup1",
                           expected_version=None, permit=sup)
        with pytest.raises(NotFoundError, match=NOT_FOUND):  # a dyad under another supervisor's trainee
            ce.save_coding(con, ce.CodingDraft("D7", 1, "C1", "T2"), user="sup1", expected_version=None, permit=sup)
        assert ce.save_coding(con, ce.CodingDraft("D7", 1, "C1", "T9", supervisor_id="S1", trainee=True),
                              user="sup1", expected_version=None, permit=sup) == 1
        assert permit_of(con, "sup1").scope.allows("T9"), "the new therapist is inside the creator's scope"
    finally:
        con.close()


# ---------------------------------------------------------------- item 1, at the core


@pytest.mark.both_backends
def test_1_core_reads_of_an_out_of_scope_coding_are_refused(clinic_con):
    access.upsert(clinic_con, "sup1", "supervisor", therapist_id="S1")
    sup = permit_of(clinic_con, "sup1")
    for read in (lambda: ce.load_coding(clinic_con, "D2", 1, "C1", permit=sup),
                 lambda: ce.header(clinic_con, "D2", 1, permit=sup),
                 lambda: ch.history(clinic_con, "D2", 1, "C1", permit=sup),
                 lambda: ch.version_info(clinic_con, "D2", 1, "C1", 1, permit=sup),
                 lambda: sx.filled(clinic_con, "D2", 1, "C1", permit=sup),
                 lambda: notes.for_dyad(clinic_con, "D2", permit=sup)):
        with pytest.raises(NotFoundError, match=NOT_FOUND):
            read()
    # exactly like a dyad that does not exist
    with pytest.raises(NotFoundError) as missing:
        notes.for_dyad(clinic_con, "D404", permit=sup)
    with pytest.raises(NotFoundError) as hidden:
        notes.for_dyad(clinic_con, "D2", permit=sup)
    assert str(missing.value).replace("D404", "D?") == str(hidden.value).replace("D2", "D?")
    assert ce.load_coding(clinic_con, "D1", 3, "C1", permit=sup)[1] == 1


@pytest.mark.both_backends
def test_1_core_save_of_an_out_of_scope_coding_is_refused(clinic_con):
    access.upsert(clinic_con, "sup1", "supervisor", therapist_id="S1")
    sup = permit_of(clinic_con, "sup1")
    theirs, version = ce.load_coding(clinic_con, "D2", 1, "C1")
    theirs.marks[(9, "denial")] = "check"
    for draft in (theirs, ce.CodingDraft("D2", 1, "C1", "T1"), ce.CodingDraft("D2", 9, "C1", "T9", supervisor_id="S1")):
        with pytest.raises(NotFoundError, match=NOT_FOUND):
            ce.save_coding(clinic_con, draft, user="sup1", expected_version=version, status="final", permit=sup)
    assert ce.load_coding(clinic_con, "D2", 1, "C1")[1] == 1
    assert ce.load_coding(clinic_con, "D2", 9, "C1")[1] is None


@pytest.mark.both_backends
def test_1_restore_out_of_scope_is_refused(clinic_con):
    theirs, _ = ce.load_coding(clinic_con, "D2", 1, "C1")
    theirs.marks = {(9, "denial"): "check_minus"}
    ce.save_coding(clinic_con, theirs, user="s2", expected_version=1, status="draft")
    access.upsert(clinic_con, "sup1", "supervisor", therapist_id="S1")
    with pytest.raises(NotFoundError, match=NOT_FOUND):
        ch.restore(clinic_con, "D2", 1, "C1", 1, user="sup1", expected_version=2, permit=permit_of(clinic_con, "sup1"))
    assert ce.load_coding(clinic_con, "D2", 1, "C1")[1] == 2


@pytest.mark.both_backends
def test_1_notes_add_out_of_scope_is_refused_at_the_core(clinic_con):
    """"S1 can also add a note to D2": refused by `notes.add` itself, for the dyad and for its sessions."""
    access.upsert(clinic_con, "sup1", "supervisor", therapist_id="S1")
    access.upsert(clinic_con, "t2", "therapist", therapist_id="T2")
    sup = permit_of(clinic_con, "sup1")
    for session in (None, 1):
        with pytest.raises(NotFoundError, match=NOT_FOUND):
            notes.add(clinic_con, "D2", "sup1", "Take over this case.", session_number=session, permit=sup)
    assert notes.for_dyad(clinic_con, "D2").empty
    notes.add(clinic_con, "D1", "sup1", "In scope.", permit=sup)
    therapist = permit_of(clinic_con, "t2")
    with pytest.raises(NotFoundError, match=NOT_FOUND):
        notes.add(clinic_con, "D1", "t2", "Not my dyad.", permit=therapist)
    notes.add(clinic_con, "D2", "t2", "My own dyad.", permit=therapist)


def test_1_notes_on_dyad_and_session_pages_use_the_principals_scope(monkeypatch, db):
    """The dyad and session pages' notes panels list and add through the signed-in principal's permit: a
    therapist still reads and adds notes on their own dyad, a supervisor gets nothing of another's. (These
    pages already refused D2 before the fix; this guards the fix from locking therapists out.)"""
    con = store.connect(db)
    notes.add(con, "D2", "s2", "Supervisor two's private remark.")
    con.close()
    at = run_as(monkeypatch, db, {"sub": "t2"}, "dyad", {"dyad": "D2"})
    assert "Supervisor two's private remark." in all_text(at)
    at.text_area[0].set_value("Therapist's own note.")
    next(b for b in at.button if b.label == "Add note").click().run()
    assert not at.exception and "Note added by t2." in all_text(at)
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "session", {"dyad": "D2", "session": "1"})
    assert "Supervisor two's private remark." not in all_text(at) and "Add note" not in labels(at)


# ---------------------------------------------------------------- coders


def test_1_coder_cannot_open_an_unassigned_session(monkeypatch, db):
    """C1 is assigned D2/2 only: D1/3 (by URL) and D2/1 stay closed, at the page and at the core."""
    at = run_as(monkeypatch, db, {"sub": "c1"}, "scoresheet", {"dyad": "D1", "session": "3", "coder": "C1"})
    assert not at.exception
    assert at.selectbox(key="sc_pick_dyad").value is None and "P-ALPHA" not in all_text(at)
    assert "Opened version" not in all_text(at)
    con = store.connect(db)
    try:
        coder = permit_of(con, "c1")
        for dyad, session in (("D1", 3), ("D2", 1), ("D2", 9)):
            with pytest.raises(NotFoundError, match=NOT_FOUND):
                ce.load_coding(con, dyad, session, "C1", permit=coder)
            with pytest.raises(NotFoundError, match=NOT_FOUND):
                ce.save_coding(con, ce.CodingDraft(dyad, session, "C1", "T1"), user="c1", expected_version=None,
                               permit=coder)
        with pytest.raises(PermissionDeniedError, match="your own codings"):  # assigned, but another coder's id
            ce.load_coding(con, "D2", 2, "C2", permit=coder)
        draft, version = ce.load_coding(con, "D2", 2, "C1", permit=coder)
        draft.ratings["deferential"] = 2
        assert ce.save_coding(con, draft, user="c1", expected_version=version, permit=coder) == 2
    finally:
        con.close()


# ---------------------------------------------------------------- item 1, by role (the independent sweep)


def codings(con) -> list[tuple]:
    return con.execute("SELECT * FROM coding ORDER BY ALL").fetchall()


def test_1_therapist_permit_saves_and_restores_no_coding_even_on_own_dyad(db):
    """Sweep A03, A04: "therapist: supervision notes on their own dyads", nothing else. T2 reads D2's coding
    (own dyad) but saving, saving a new session and restoring a version are refused at the core."""
    con = store.connect(db)
    try:
        draft, version = ce.load_coding(con, "D2", 2, "C1")
        draft.marks[(9, "denial")] = "check"
        ce.save_coding(con, draft, user="boss", expected_version=version, status="final")  # version 2
        before = codings(con)
        therapist = permit_of(con, "t2")
        assert ce.load_coding(con, "D2", 2, "C1", permit=therapist)[1] == 2, "reading in scope still works"
        own, _ = ce.load_coding(con, "D2", 1, "C1", permit=therapist)
        own.marks[(9, "denial")] = "check"
        for attempt in (
                lambda: ce.save_coding(con, own, user="t2", expected_version=1, status="final", permit=therapist),
                lambda: ce.save_coding(con, ce.CodingDraft("D2", 9, "C1", "T2"), user="t2", expected_version=None,
                                       permit=therapist),
                lambda: ch.restore(con, "D2", 2, "C1", 1, user="t2", expected_version=2, permit=therapist)):
            with pytest.raises(PermissionDeniedError, match="does not save, restore or import"):
                attempt()
        assert codings(con) == before
        with pytest.raises(PermissionDeniedError):  # qi (and any unlinked role): nothing either
            ce.save_coding(con, own, user="qi", expected_version=1, permit=permits.NOTHING)
    finally:
        con.close()


def test_1_coder_neither_reads_nor_adds_supervision_notes(db):
    """Sweep A10, A11: coders code blind. C1 (assigned D2/2) may not add a note to D2/2 nor read D2's notes,
    dyad-wide (which included the unassigned session 1) or on the assigned session."""
    con = store.connect(db)
    try:
        notes.add(con, "D2", "sup2", "note on session 1 (not assigned)", session_number=1)
        notes.add(con, "D2", "sup2", "note on session 2", session_number=2)
        before = con.execute("SELECT * FROM note ORDER BY ALL").fetchall()
        coder = permit_of(con, "c1")
        for attempt in (lambda: notes.add(con, "D2", "c1", "coder note", session_number=2, permit=coder),
                        lambda: notes.for_dyad(con, "D2", permit=coder),
                        lambda: notes.for_dyad(con, "D2", 2, permit=coder)):
            with pytest.raises(PermissionDeniedError, match="Coders code blind"):
                attempt()
        assert con.execute("SELECT * FROM note ORDER BY ALL").fetchall() == before
        assert len(notes.for_dyad(con, "D2", permit=permit_of(con, "t2"))) == 2, "the therapist still reads them"
    finally:
        con.close()


def test_1_scoresheet_page_shows_coders_no_notes_panel(monkeypatch, db):
    """The coder's scoresheet has no 'Supervision notes' panel (and so no note of the session on screen)."""
    con = store.connect(db)
    notes.add(con, "D2", "sup2", "Supervisor's remark on session 2", session_number=2)
    con.close()
    at = run_as(monkeypatch, db, {"sub": "c1"}, "scoresheet", {"dyad": "D2", "session": "2", "coder": "C1"})
    assert not at.exception
    assert "Opened version" in all_text(at), "the assigned coding opens"
    assert "Supervision notes on this session" not in [e.label for e in at.expander]
    assert "Add note" not in labels(at)
    assert "Supervisor's remark" not in all_text(at)


# ---------------------------------------------------------------- demo mode (Defaults and secrets, item 4)


def test_demo_mode_refuses_a_new_dyad_typed_by_hand(monkeypatch, db):
    """Demo mode (no sign-in, no RRRS_FORCE_DEMO): "John Real Patient" in a new dyad is not stored."""
    monkeypatch.delenv("RRRS_FORCE_DEMO", raising=False)
    at = open_page(monkeypatch, db, "scoresheet", {"dyad": "R1", "session": "1", "coder": "C1"})
    assert not at.exception
    assert NEW not in at.selectbox(key="sc_pick_dyad").options, "demo mode offers to create a dyad"
    if "sc_pick_new_dyad" in [t.key for t in at.text_input]:  # the attack as it was: fill in and save
        at.selectbox(key="sc_pick_therapist").set_value("T1").run()
        at.text_input(key="sc_pick_patient").set_value("John Real Patient").run()
        try_to_save(at)
    con = store.connect(db)
    try:
        assert not con.execute("SELECT * FROM dyad WHERE dyad_id = 'R1' OR patient_id = 'John Real Patient'"
                               ).fetchall()
        demo = permits.for_principal(con, access.DEMO, synthetic_only=True)
        for draft in (ce.CodingDraft("R1", 1, "C1", "T1", patient_id="John Real Patient"),
                      ce.CodingDraft("R1", 1, "C1", "TNEW"),
                      ce.CodingDraft("D1", 9, "C1", "T1")):  # a new session of a demo dyad
            with pytest.raises(PermissionDeniedError, match="Demo mode takes no new"):
                ce.save_coding(con, draft, user="demo", expected_version=None, permit=demo)
        assert ce.load_coding(con, "D1", 9, "C1")[1] is None
        coding, version = ce.load_coding(con, "D1", 3, "C1", permit=demo)  # demo sessions can still be coded
        coding.ratings["denial"] = 2
        assert ce.save_coding(con, coding, user="demo", expected_version=version, permit=demo) == 2
    finally:
        con.close()
