"""Saving codings from the scoresheet: versions kept, change summaries, restore, optimistic concurrency,
validation through the importer, and drafts kept off the dashboards."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from rrrs_core import coding_edit as ce
from rrrs_core import coding_history as ch
from rrrs_core.errors import ConflictError, RrrsError, ValidationError
from rrrs_core.importing.api import import_tables
from rrrs_core.store import scalar
from tests.builders import globals_

pytestmark = pytest.mark.both_backends  # the embedded file and the shared store (tests/conftest.py)


def new_draft(**kw) -> ce.CodingDraft:
    base = dict(dyad_id="D9", session_number=1, coder_id="C7", therapist_id="T9", session_date=dt.date(2026, 3, 2),
                segment_minutes=5, n_segments=10, patient_id="P9", treatment="CBT",
                marks={(2, "minimal_response"): "check", (3, "denial"): "check_minus",
                       (3, "redirect_refocus"): "check"},
                ratings=globals_(w=2, r=3, minimal_response=2, denial=1, redirect_refocus=2),
                segment_notes={2: "12:40 long silence"})
    base.update(kw)
    return ce.CodingDraft(**base)


def versions(con, key=("D9", 1, "C7")) -> list[tuple]:
    return con.execute("SELECT version, is_current, status, created_by FROM coding WHERE dyad_id = ? AND "
                       "session_number = ? AND coder_id = ? ORDER BY version", list(key)).fetchall()


def in_dashboards(con, dyad: str, session: int) -> int:
    return int(scalar(con, "SELECT count(*) FROM v_session_metrics WHERE dyad_id = ? AND session_number = ?",
                      [dyad, session]))


def test_new_coding_creates_therapist_dyad_session_and_round_trips(con):
    draft = new_draft()
    assert ce.save_coding(con, draft, user="ann", expected_version=None, status="draft") == 1
    assert con.execute("SELECT therapist_id, patient_id FROM dyad WHERE dyad_id = 'D9'").fetchall() == [("T9", "P9")]
    assert con.execute("SELECT session_date, n_segments FROM session").fetchall() == [(dt.date(2026, 3, 2), 10)]
    loaded, version = ce.load_coding(con, "D9", 1, "C7")
    assert version == 1 and loaded.status == "draft"
    assert loaded.marks == draft.marks and loaded.ratings == draft.ratings
    assert loaded.segment_notes == {2: "12:40 long silence"}
    assert versions(con) == [(1, True, "draft", "ann")]


def test_drafts_stay_off_the_dashboards_until_final(con):
    ce.save_coding(con, new_draft(), user="ann", expected_version=None, status="draft")
    assert in_dashboards(con, "D9", 1) == 0
    ce.save_coding(con, new_draft(), user="ann", expected_version=1, status="final")
    assert in_dashboards(con, "D9", 1) == 1
    assert int(scalar(con, "SELECT withdrawal_segments FROM v_session_metrics WHERE dyad_id = 'D9'")) == 1


def test_edit_keeps_every_version_with_who_and_what_changed(con):
    ce.save_coding(con, new_draft(), user="ann", expected_version=None, status="final")
    edited = new_draft(marks={**new_draft().marks, (3, "denial"): "check", (5, "complaint_therapist"): "check"},
                       ratings={**new_draft().ratings, "therapist_contribution": 4, "complaint_therapist": 3})
    del edited.marks[(2, "minimal_response")]
    assert ce.save_coding(con, edited, user="bob", expected_version=1, status="final") == 2
    assert versions(con) == [(1, False, "final", "ann"), (2, True, "final", "bob")]
    old, _ = ce.load_coding(con, "D9", 1, "C7", version=1)
    assert old.marks == new_draft().marks  # version 1 untouched
    hist = ch.history(con, "D9", 1, "C7")
    assert hist.version.tolist() == [2, 1] and hist.saved_by.tolist() == ["bob", "ann"]
    assert hist.changes[0] == ("- seg 2 minimal_response ✓; seg 3 denial ✓-→✓; + seg 5 complaint_therapist ✓; "
                               "rating complaint_therapist unrated→3; rating therapist_contribution 1→4")
    assert hist.changes[1].startswith("new coding (final): 3 marks")


def test_diff_lines():
    a = new_draft()
    b = replace(a, marks={**a.marks, (3, "denial"): "check"}, ratings={**a.ratings, "therapist_contribution": 4},
                segment_notes={2: "12:41", 4: "quote"}, status="final")
    assert ch.diff(a, b) == ["status draft→final", "seg 3 denial ✓-→✓", "rating therapist_contribution 1→4",
                             "note seg 2 '12:40 long silence'→'12:41'", "note seg 4 none→'quote'"]
    assert ch.diff(a, a) == []
    c = replace(a, marks={(3, "denial"): "check_minus", (3, "redirect_refocus"): "check", (9, "denial"): "check"})
    assert ch.diff(a, c) == ["- seg 2 minimal_response ✓", "+ seg 9 denial ✓"]


def test_saving_nothing_new_writes_nothing(con):
    ce.save_coding(con, new_draft(), user="ann", expected_version=None, status="final")
    assert ce.save_coding(con, new_draft(), user="bob", expected_version=1, status="final") == 1
    assert len(versions(con)) == 1
    # a note alone, or the status alone, is a change worth a version
    assert ce.save_coding(con, new_draft(segment_notes={}), user="bob", expected_version=1, status="final") == 2
    assert ce.save_coding(con, new_draft(segment_notes={}), user="bob", expected_version=2, status="draft") == 3


@pytest.mark.parametrize("change, new_version", [
    ({}, False),
    ({"segment_notes": {2: "12:40 long silence", 5: "laughs"}}, True),
    ({"marks": {(2, "minimal_response"): "check_minus"}}, True),
    ({"ratings": globals_(w=3)}, True),
    ({"status": "draft"}, True),
    ({"consensus": True}, True),
])
def test_a_loaded_draft_is_compared_with_what_was_loaded(con, change, new_version):
    """A draft from `load_coding` remembers what it was loaded from, so the save need not read it back."""
    ce.save_coding(con, new_draft(), user="ann", expected_version=None, status="final")
    loaded, version = ce.load_coding(con, "D9", 1, "C7")
    assert loaded.opened is not None and loaded.opened[0] == scalar(con, "SELECT coding_id FROM coding")
    edited = replace(loaded, **change)
    saved = ce.save_coding(con, edited, user="bob", expected_version=version, status=edited.status)
    assert saved == (2 if new_version else 1) and len(versions(con)) == saved
    if new_version:
        again, v2 = ce.load_coding(con, "D9", 1, "C7")
        assert (again.marks, again.ratings, again.segment_notes, again.status, again.consensus) == (
            edited.marks, edited.ratings, edited.segment_notes, edited.status, edited.consensus)


def test_a_draft_loaded_from_an_older_version_is_compared_with_the_stored_one(con):
    """`opened` names another version than the current one: the save reads the current one, not the memo."""
    ce.save_coding(con, new_draft(), user="ann", expected_version=None, status="final")
    old, _ = ce.load_coding(con, "D9", 1, "C7")
    ce.save_coding(con, new_draft(segment_notes={}), user="ann", expected_version=1, status="final")
    # the old draft's content as version 3, expected as version 2: differs from version 2 (its note)
    assert ce.save_coding(con, old, user="bob", expected_version=2, status="final") == 3
    # and version 3 again from a draft opened at version 1: unchanged from version 3, nothing written
    assert ce.save_coding(con, old, user="bob", expected_version=3, status="final") == 3


def test_second_save_of_the_same_version_is_refused_naming_who_saved_first(con):
    ce.save_coding(con, new_draft(), user="ann", expected_version=None, status="final")
    mine, opened = ce.load_coding(con, "D9", 1, "C7")
    theirs, _ = ce.load_coding(con, "D9", 1, "C7")
    theirs.marks[(7, "denial")] = "check"
    assert ce.save_coding(con, theirs, user="alice", expected_version=opened) == 2
    mine.marks[(8, "denial")] = "check"
    with pytest.raises(ConflictError, match=r"saved by alice at \d{4}-\d\d-\d\d .*after you opened it; reload"):
        ce.save_coding(con, mine, user="bob", expected_version=opened)
    assert [v[0] for v in versions(con)] == [1, 2]
    current, _ = ce.load_coding(con, "D9", 1, "C7")
    assert (8, "denial") not in current.marks and (7, "denial") in current.marks


def test_creating_a_coding_someone_else_just_created_is_refused(con):
    ce.save_coding(con, new_draft(), user="alice", expected_version=None)
    with pytest.raises(ConflictError, match="saved by alice"):
        ce.save_coding(con, new_draft(marks={(1, "denial"): "check"}), user="bob", expected_version=None)
    assert len(versions(con)) == 1


def test_restore_makes_a_new_version_equal_to_the_old_one(con):
    ce.save_coding(con, new_draft(), user="ann", expected_version=None, status="final")
    ce.save_coding(con, new_draft(marks={(9, "denial"): "check"}, segment_notes={}, ratings=globals_()), user="bob",
                   expected_version=1, status="draft")
    with pytest.raises(ConflictError, match="saved by bob"):
        ch.restore(con, "D9", 1, "C7", 1, user="ann", expected_version=1)
    assert ch.restore(con, "D9", 1, "C7", 1, user="ann", expected_version=2) == 3
    v1, _ = ce.load_coding(con, "D9", 1, "C7", version=1)
    v3, current = ce.load_coding(con, "D9", 1, "C7")
    assert current == 3
    assert (v3.marks, v3.ratings, v3.segment_notes, v3.status) == (v1.marks, v1.ratings, v1.segment_notes, "final")
    hist = ch.history(con, "D9", 1, "C7")
    assert hist.note[0] == "restored version 1" and hist.current.tolist() == [True, False, False]
    assert hist.changes[0].startswith("status draft→final; + seg 2 minimal_response ✓; + seg 3 denial ✓-; ")
    assert "- seg 9 denial ✓" in hist.changes[0]


@pytest.mark.parametrize(("change", "where", "message"), [
    ({"n_segments": 61}, "Number of segments", "from 1 to 60"),
    ({"n_segments": 0}, "Number of segments", "from 1 to 60"),
    ({"dyad_id": " "}, "Dyad", "required value is empty"),
    ({"marks": {(11, "denial"): "check"}}, "segment 11 (50-55 min), Denial", "beyond this session's n_segments"),
    ({"marks": {(2, "denial"): "x"}}, "segment 2 (5-10 min), Denial", "clarity must be check or check_minus"),
    ({"marks": {(2, "no_such_code"): "check"}}, "segment 2 (5-10 min), no_such_code", "unknown code"),
    ({"ratings": {"therapist_contribution": 7}}, "rating: Therapist contribution", "from 1 to 5"),
])
def test_invalid_codings_are_refused_with_scoresheet_locations(con, change, where, message):
    with pytest.raises(ValidationError) as err:
        ce.save_coding(con, new_draft(**change), user="ann", expected_version=None)
    assert any(p.column == where and message in p.message for p in err.value.problems), err.value.problems
    assert scalar(con, "SELECT count(*) FROM coding") == 0
    assert scalar(con, "SELECT count(*) FROM dyad") == 0


def test_a_dyad_stored_under_another_therapist_is_refused(clinic_con):
    draft = new_draft(dyad_id="D1", session_number=9, therapist_id="T2")
    with pytest.raises(ValidationError) as err:
        ce.save_coding(clinic_con, draft, user="ann", expected_version=None)
    (problem,) = err.value.problems
    assert problem.column == "Therapist" and problem.value == "T2 (stored: T1)"
    assert "already stored with another therapist" in problem.message
    assert scalar(clinic_con, "SELECT count(*) FROM session WHERE dyad_id = 'D1' AND session_number = 9") == 0


def test_bad_status_and_missing_user_are_refused(con):
    with pytest.raises(RrrsError, match="Status must be one of draft, final"):
        ce.save_coding(con, new_draft(), user="ann", expected_version=None, status="done")
    with pytest.raises(RrrsError, match="who is saving"):
        ce.save_coding(con, new_draft(), user=" ", expected_version=None)


def test_consistency_warnings_are_the_importers(clinic_con):
    """check_coding reports exactly what the importer warns about, located on the scoresheet."""
    draft = new_draft(ratings={**globals_(w=1, r=4), "complaint_progress": 3},
                      marks={(2, "minimal_response"): "check"})
    warnings = ce.check_coding(clinic_con, draft)
    expected = import_tables(clinic_con, draft.normalized().to_frames(), "x", dry_run=True).warnings
    assert [w.message for w in warnings] == [w.message for w in expected] and len(warnings) == 3
    by_where = {w.column: w.message for w in warnings}
    assert "never marked" in by_where["rating: Complaint/concern about progress significance"]
    assert "no significance rating" in by_where["segment 2 (5-10 min), Minimal response"]
    assert "below the highest confrontation marker significance (3)" in by_where["rating: Overall confrontation"]


def test_a_session_without_marks_saves(con):
    """A session with no ruptures is common: no marks, ratings only (and ratings pending: no ratings)."""
    draft = new_draft(marks={}, segment_notes={}, ratings=globals_())
    assert ce.check_coding(con, draft) == []
    assert ce.save_coding(con, draft, user="ann", expected_version=None, status="final") == 1
    assert in_dashboards(con, "D9", 1) == 1
    pending = new_draft(session_number=2, marks={(1, "denial"): "check"}, segment_notes={}, ratings={})
    warnings = ce.check_coding(con, pending)
    assert [w.message for w in warnings] == ["no ratings for this coding: stored as ratings pending"]
    assert ce.save_coding(con, pending, user="ann", expected_version=None, status="draft") == 1


def test_importer_accepts_an_empty_marks_table_in_memory(con):
    """Regression: an empty frame column used to be typed as a number and break staging."""
    frames = new_draft(marks={}, ratings=globals_()).normalized().to_frames()
    assert import_tables(con, frames, "x", dry_run=True).warnings == []


def test_a_dyad_made_by_another_writer_after_the_check_is_checked_again_under_the_lock(clinic_con, monkeypatch):
    """The save checks the permit before validating, and again under the write lock when any data was written
    in between (the store's data version moved): here another writer takes the new dyad's id, for a therapist
    outside the supervisor's scope, while the coding is being validated."""
    from rrrs_core import access, permits, store
    from rrrs_core.errors import NotFoundError

    access.upsert(clinic_con, "sup1", "supervisor", therapist_id="S1")
    sup = permits.for_principal(clinic_con, access.resolve(clinic_con, "sup1"))
    real = ce.check_coding

    def check_then_someone_writes(con, draft):
        found = real(con, draft)
        other = store.cursor(clinic_con)  # another writer: its own connection and transaction
        with store.writing(other):
            other.execute("INSERT INTO dyad VALUES ('DNEW', 'T2', NULL, NULL)")
        return found

    monkeypatch.setattr(ce, "check_coding", check_then_someone_writes)
    draft = new_draft(dyad_id="DNEW", therapist_id="T1", patient_id=None)
    with pytest.raises(NotFoundError):
        ce.save_coding(clinic_con, draft, user="sup1", expected_version=None, permit=sup)
    assert versions(clinic_con, ("DNEW", 1, "C7")) == []
    assert scalar(clinic_con, "SELECT therapist_id FROM dyad WHERE dyad_id = 'DNEW'") == "T2"


@pytest.mark.parametrize("marks, ratings", [
    ({(2, "minimal_response"): "check", (3, "denial"): "check", (3, "redirect_refocus"): "check",
      (4, "complaint_therapist"): "check_minus", (5, "complaint_activities"): "check",
      (7, "invite_feelings"): "check_minus"},
     globals_(w=2, r=3, minimal_response=2, denial=1, redirect_refocus=2)),
    ({}, {}),  # nothing marked, nothing rated: ratings pending
])
def test_a_saved_codings_cached_metrics_equal_the_live_definition(con, marks, ratings):
    """The save adds its metrics from the values it wrote, not by reading them back: they must be what the
    metrics view computes from the stored rows."""
    ce.save_coding(con, new_draft(marks=marks, ratings=ratings), user="ann", expected_version=None, status="final")
    ce.save_coding(con, new_draft(marks=dict(list(marks.items())[:2]), ratings=ratings, segment_notes={1: "again"}),
                   user="ann", expected_version=1, status="final")
    cached = con.execute("SELECT * FROM coding_metrics_cache ORDER BY coding_id").fetchall()
    live = con.execute("SELECT * FROM v_coding_metrics_live ORDER BY coding_id").fetchall()
    assert len(cached) == 2 and cached == live
