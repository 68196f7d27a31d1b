"""The scoresheet's transcript pane (AppTest): the segment's words and suggestions beside the grid, Accept puts a
mark in the grid (stored only when the coder saves), Reject dismisses, both recorded; counts on Reliability."""

from __future__ import annotations

from rrrs_core import coding_edit as ce
from rrrs_core import store, transcripts
from rrrs_core.transcripts import Turn, rules
from tests.apptest import all_text, open_page
from tests.test_page_scoresheet import cell, click, open_sheet

TURNS = [Turn(1, 10.0, 20.0, "therapist", "T", "How was the homework?"),
         Turn(2, 30.0, 40.0, "patient", "P", "I think I want to quit."),
         Turn(3, 400.0, 410.0, "patient", "P", "I really don't see the point of these thought records at all.")]


def with_transcript(db):
    con = store.connect(db)
    try:
        transcripts.attach(con, rules.cli(), "D1", 3, TURNS, "t.csv")
    finally:
        con.close()
    return db


def decisions(db) -> list[tuple]:
    con = store.connect(db)
    try:
        return con.execute("SELECT segment, turn, code, accepted FROM suggestion_decision ORDER BY decided_at").fetchall()
    finally:
        con.close()


def test_pane_shows_the_segment_and_accept_marks_the_grid(monkeypatch, clinic_db):
    db = with_transcript(clinic_db)
    at = open_sheet(monkeypatch, db, dyad="D1", session="3", coder="C1")
    text = all_text(at)
    assert "Transcript and code suggestions" in text and "Suggestions, not codes" in text
    assert "held-out examples from the 3RS manual" in text  # the measured figures beside the feature
    assert "I think I want to quit." in text and "thought records" not in text  # segment 1 only
    assert "Manual: Complaints or doubts about the progress" in text  # the codebook's definition
    assert cell(at, "confrontation", 1, "complaint_progress") is None
    at.button(key="sc_w_acc_1_2_complaint_progress").click().run()
    assert not at.exception
    assert cell(at, "confrontation", 1, "complaint_progress") == "✓"
    assert "Unsaved changes: + seg 1 complaint_progress ✓" in all_text(at)
    assert decisions(db) == [(1, 2, "complaint_progress", True)]
    assert not [b for b in at.button if b.key == "sc_w_acc_1_2_complaint_progress"]  # decided: gone
    con = store.connect(db)
    assert (1, "complaint_progress") not in ce.load_coding(con, "D1", 3, "C1")[0].marks  # not saved yet
    con.close()
    click(at, "Save final")
    con = store.connect(db)
    assert ce.load_coding(con, "D1", 3, "C1")[0].marks[(1, "complaint_progress")] == "check"
    con.close()


def test_reject_dismisses_and_other_segments(monkeypatch, clinic_db):
    db = with_transcript(clinic_db)
    at = open_sheet(monkeypatch, db, dyad="D1", session="3", coder="C1")
    reject = next(b for b in at.button if b.key and b.key.startswith("sc_w_rej_1_2_"))
    code = reject.key.split("sc_w_rej_1_2_")[1]
    reject.click().run()
    assert decisions(db) == [(1, 2, code, False)]
    assert not [b for b in at.button if b.key == reject.key]
    assert "you accepted 0 and rejected 1" in all_text(at)
    at.selectbox(key="sc_w_tx_segment").set_value(2).run()
    text = all_text(at)
    assert "thought records" in text and "I think I want to quit." not in text
    assert any(b.key and b.key.startswith("sc_w_acc_2_3_") for b in at.button)


def test_no_transcript_no_pane(monkeypatch, clinic_db):
    at = open_sheet(monkeypatch, clinic_db, dyad="D2", session="1", coder="C1")
    assert "Transcript and code suggestions" not in all_text(at)
    assert not [b for b in at.button if b.label == "Accept"]


def test_reliability_without_decisions(monkeypatch, clinic_db):
    at = open_page(monkeypatch, clinic_db, "reliability")
    assert not at.exception
    assert "No suggestions have been accepted or rejected yet" in all_text(at)


def test_reliability_counts_decisions(monkeypatch, clinic_db):
    from rrrs_core.suggest import record_decision

    con = store.connect(clinic_db)
    record_decision(con, rules.cli(), "D1", 3, 1, 2, "complaint_progress", True)
    record_decision(con, rules.cli(), "D1", 3, 1, 1, "change_task", False)
    con.close()
    at = open_page(monkeypatch, clinic_db, "reliability")
    assert not at.exception
    assert "1 of 2 suggestions accepted (50%)" in all_text(at)
    table = next(df.value for df in at.dataframe if "accepted_share" in df.value.columns)
    assert table.label.tolist() == ["Complaint/concern about progress", "Changes tasks or goals", "All codes"]
