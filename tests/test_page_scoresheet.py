"""The scoresheet page under AppTest: mark cells, rate, save, edit, restore, and refuse a concurrent save."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from rrrs_core import codebook as cb
from rrrs_core import coding_edit as ce
from rrrs_core import store
from tests.apptest import all_text

# Marked tests (saving, editing, restoring, the concurrent-save refusal, an Excel import) run on the embedded
# file and on the shared store (tests/conftest.py); the rest of the page's behaviour does not depend on it.

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "scoresheet.py")
NO_EDITS = {"edited_rows": {}, "added_rows": [], "deleted_rows": []}


def open_sheet(monkeypatch: pytest.MonkeyPatch, db: Path, **params: str) -> AppTest:
    monkeypatch.setenv("RRRS_DB", str(db))
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def row_of(family: str, code: str) -> int:
    return [c.key for c in cb.DEFAULT.family(family)].index(code)


def mark(at: AppTest, family: str, segment: int, code: str, sign: str | None) -> None:
    """Edit one grid cell (codes are rows, segments columns) the way the browser reports it."""
    key = f"sc_w_grid_{family}"
    state = at.session_state[key] if key in at.session_state else NO_EDITS  # noqa: SIM401 - no .get()
    edited = {int(k): dict(v) for k, v in state["edited_rows"].items()}
    edited.setdefault(row_of(family, code), {})[f"s{segment}"] = sign
    at.session_state[key] = {"edited_rows": edited, "added_rows": [], "deleted_rows": []}


def cell(at: AppTest, family: str, segment: int, code: str) -> str | None:
    """A grid cell as shown (the table the editor was given, before unsaved edits)."""
    value = at.data_editor(key=f"sc_w_grid_{family}").value.loc[row_of(family, code), f"s{segment}"]
    return None if pd.isna(value) or value == "" else value


def click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception
    return at


def current(db: Path, dyad: str, session: int, coder: str) -> tuple[ce.CodingDraft, int | None]:
    con = store.connect(db)
    return ce.load_coding(con, dyad, session, coder)


@pytest.mark.both_backends
def test_existing_coding_is_shown_in_the_grid(monkeypatch, clinic_db):
    at = open_sheet(monkeypatch, clinic_db, dyad="D1", session="3", coder="C1")
    assert cell(at, "confrontation", 1, "complaint_therapist") == "✓"
    assert cell(at, "confrontation", 4, "complaint_therapist") is None
    assert cell(at, "resolution", 8, "invite_feelings") == "✓-"
    grid = at.data_editor(key="sc_w_grid_withdrawal").value
    assert grid.code.tolist() == [c.label for c in cb.DEFAULT.family("withdrawal")]
    assert len(grid.columns) == 1 + 10
    assert at.selectbox(key="sc_w_sig_complaint_therapist").value == 5
    assert at.selectbox(key="sc_w_sig_denial").value == 1  # never marked: significance 1
    text = all_text(at)
    assert "Opened version 1 (final)" in text
    assert "**Complaint/concern about the therapist**: Negative feelings" in text  # codebook at hand
    contribution = at.selectbox(key="sc_w_glob_therapist_contribution")
    assert contribution.value == 5 and contribution.format_func(5) == "5 · Clearly caused"
    assert "The therapist clearly caused or exacerbated the ruptures" in text  # the full anchor, beside it


@pytest.mark.both_backends
def test_mark_rate_save_then_edit_keeps_versions(monkeypatch, clinic_db):
    at = open_sheet(monkeypatch, clinic_db, dyad="D1", session="3", coder="C1")
    mark(at, "withdrawal", 5, "denial", "✓")
    at.run()
    at.selectbox(key="sc_w_glob_therapist_contribution").set_value(4).run()
    at.text_input(key="sc_user").set_value("bob").run()
    assert "Unsaved changes: + seg 5 denial ✓; rating denial unrated→1; rating therapist_contribution 5→4" \
        in all_text(at)  # denial's default significance 1 is stored once it is marked
    click(at, "Save final")
    assert "Saved version 2 as final" in all_text(at)
    draft, version = current(clinic_db, "D1", 3, "C1")
    assert version == 2 and draft.marks[(5, "denial")] == "check" and draft.ratings["therapist_contribution"] == 4
    # the page reopened version 2: a second edit saves version 3 without a conflict
    assert "Opened version 2 (final), saved by bob" in all_text(at)
    mark(at, "withdrawal", 5, "denial", None)
    at.run()
    click(at, "Save draft")
    draft, version = current(clinic_db, "D1", 3, "C1")
    assert version == 3 and (5, "denial") not in draft.marks and draft.status == "draft"
    table = next(df.value for df in at.dataframe if "changes" in df.value.columns)
    assert table.version.tolist() == [3, 2, 1]
    assert table.changes[0] == "status final→draft; - seg 5 denial ✓"
    assert table.changes[1] == "+ seg 5 denial ✓; rating denial unrated→1; rating therapist_contribution 5→4"
    assert table.saved_by.tolist()[:2] == ["bob", "bob"]


@pytest.mark.both_backends
def test_concurrent_save_is_refused_naming_who_saved_first(monkeypatch, clinic_db):
    at = open_sheet(monkeypatch, clinic_db, dyad="D1", session="3", coder="C1")
    mark(at, "withdrawal", 2, "denial", "✓")
    at.run()
    # someone else saves between our load and our save
    con = store.connect(clinic_db)
    theirs, opened = ce.load_coding(con, "D1", 3, "C1")
    theirs.marks[(9, "control_pressure")] = "check"
    assert ce.save_coding(con, theirs, user="alice", expected_version=opened, status="final") == 2
    click(at, "Save final")
    errors = " ".join(e.value for e in at.error)
    assert "Not saved" in errors and "saved by alice at" in errors and "reload to see their changes" in errors
    draft, version = ce.load_coding(con, "D1", 3, "C1")
    assert version == 2 and (2, "denial") not in draft.marks and (9, "control_pressure") in draft.marks
    # our edit is still on screen; Reload shows their version
    assert cell(at, "withdrawal", 2, "denial") is None
    click(at, "Reload")
    assert "Opened version 2 (final), saved by alice" in all_text(at)
    assert cell(at, "confrontation", 9, "control_pressure") == "✓"


@pytest.mark.both_backends
def test_restore_an_old_version(monkeypatch, clinic_db):
    con = store.connect(clinic_db)
    draft, _ = ce.load_coding(con, "D2", 1, "C1")
    draft.marks = {(9, "denial"): "check_minus"}
    ce.save_coding(con, draft, user="eve", expected_version=1, status="draft")
    at = open_sheet(monkeypatch, clinic_db, dyad="D2", session="1", coder="C1")
    assert cell(at, "withdrawal", 1, "avoidant_storytelling") is None
    assert cell(at, "withdrawal", 9, "denial") == "✓-"
    at.selectbox(key="sc_restore_version").set_value(1).run()
    click(at, "Restore version 1")
    assert "Restored version 1 as new version 3" in all_text(at)
    restored, version = ce.load_coding(con, "D2", 1, "C1")
    v1, _ = ce.load_coding(con, "D2", 1, "C1", version=1)
    assert version == 3 and restored.marks == v1.marks and restored.status == "final"
    assert cell(at, "withdrawal", 1, "avoidant_storytelling") == "✓" and cell(at, "withdrawal", 9, "denial") is None


def test_consistency_warnings_shown_before_saving_final(monkeypatch, clinic_db):
    at = open_sheet(monkeypatch, clinic_db, dyad="D2", session="2", coder="C1")
    text = all_text(at)
    assert "Before saving as final: 2 points from the manual's consistency rules" in text
    assert "deferential is marked but has no significance rating (read as 1)" in text
    assert at.selectbox(key="sc_w_sig_deferential").value is None  # marked, not rated yet
    at.selectbox(key="sc_w_sig_deferential").set_value(2).run()
    at.selectbox(key="sc_w_sig_acknowledge_contribution").set_value(3).run()
    assert "Before saving as final" not in all_text(at)
    at.selectbox(key="sc_w_sig_change_task").set_value(3).run()
    text = all_text(at)
    assert "Before saving as final: 1 point from the manual's consistency rules" in text
    assert "significance 3 for change_task, but that code is never marked in any segment" in text
    assert "rating: Changes tasks or goals significance" in text
    click(at, "Save final")  # warnings never block
    assert "Saved version 2 as final with 1 consistency warning" in all_text(at)
    draft, _ = current(clinic_db, "D2", 2, "C1")
    assert {k: draft.ratings[k] for k in ("deferential", "acknowledge_contribution", "change_task")} == \
        {"deferential": 2, "acknowledge_contribution": 3, "change_task": 3}


@pytest.mark.both_backends
def test_create_a_new_dyad_session_and_coder_saved_as_draft(monkeypatch, clinic_db):
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")  # demo mode proper creates nothing (tests/security)
    at = open_sheet(monkeypatch, clinic_db, dyad="D9", session="1", coder="C9")
    assert at.text_input(key="sc_pick_new_dyad").value == "D9"
    assert "**New dyad:** enter its **id**" in at.info[0].value  # until its therapist is chosen
    at.selectbox(key="sc_pick_therapist").set_value("T1").run()
    at.number_input(key="sc_pick_nseg").set_value(6).run()
    assert len(at.data_editor(key="sc_w_grid_withdrawal").value.columns) == 1 + 6
    assert any("one column per segment" in c.value for c in at.caption)  # under the new session's fields
    hint = at.info[0].value
    assert "**New coding**: coder C9 has not coded this session yet" in hint
    assert "creates dyad D9 (therapist T1) and session 1 (6 segments of 5 min)" in hint
    mark(at, "confrontation", 6, "complaint_progress", "✓-")
    at.run()
    click(at, "Save draft")
    assert "Saved version 1 as draft" in all_text(at)
    con = store.connect(clinic_db)
    draft, version = ce.load_coding(con, "D9", 1, "C9")
    assert version == 1 and draft.status == "draft" and draft.n_segments == 6 and draft.therapist_id == "T1"
    assert draft.marks == {(6, "complaint_progress"): "check_minus"}
    assert store.scalar(con, "SELECT count(*) FROM v_session_metrics WHERE dyad_id = 'D9'") == 0
    assert store.scalar(con, "SELECT count(*) FROM v_coding_metrics WHERE dyad_id = 'D9'") == 1


def test_a_new_dyad_id_that_exists_is_refused(monkeypatch, clinic_db):
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")  # demo mode proper creates nothing (tests/security)
    at = open_sheet(monkeypatch, clinic_db, dyad="NEWONE", session="1", coder="C1")
    at.selectbox(key="sc_pick_therapist").set_value("T2").run()
    at.text_input(key="sc_pick_new_dyad").set_value("D1").run()
    assert "Dyad D1 already exists under therapist T1" in all_text(at)
    assert not [b for b in at.button if b.label == "Save final"]


def test_segment_notes_are_saved(monkeypatch, clinic_db):
    at = open_sheet(monkeypatch, clinic_db, dyad="D1", session="1", coder="C1")
    at.session_state["sc_w_notes"] = {"edited_rows": {2: {"note": "12:40 long pause"}}, "added_rows": [],
                                      "deleted_rows": []}
    at.run()
    assert "Unsaved changes: note seg 3 none→'12:40 long pause'" in all_text(at)
    click(at, "Save final")
    draft, version = current(clinic_db, "D1", 1, "C1")
    assert version == 2 and draft.segment_notes == {3: "12:40 long pause"}
    assert at.data_editor(key="sc_w_notes").value.note.tolist()[2] == "12:40 long pause"


def test_a_session_without_ruptures_can_be_coded(monkeypatch, clinic_db):
    at = open_sheet(monkeypatch, clinic_db, dyad="D4", session="1", coder="C1")
    assert "Something went wrong" not in all_text(at)
    at.selectbox(key="sc_w_glob_therapist_contribution").set_value(2).run()
    click(at, "Save final")
    draft, version = current(clinic_db, "D4", 1, "C1")
    assert version == 2 and draft.marks == {} and draft.ratings["therapist_contribution"] == 2


def test_ratings_pending_coding_opens_and_saves(monkeypatch, clinic_db):
    at = open_sheet(monkeypatch, clinic_db, dyad="D3", session="2", coder="C1")
    assert at.selectbox(key="sc_w_glob_overall_resolution").value is None
    assert "no ratings for this coding: stored as ratings pending" in all_text(at)
    at.selectbox(key="sc_w_glob_overall_resolution").set_value(3).run()
    assert "global item overall_withdrawal is not rated" in all_text(at)
    click(at, "Save draft")
    draft, version = current(clinic_db, "D3", 2, "C1")
    assert version == 2 and draft.ratings == {"overall_resolution": 3} and draft.status == "draft"


def test_the_start_hint_says_how_to_create(monkeypatch, clinic_db):
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")  # demo mode proper creates nothing (tests/security)
    at = open_sheet(monkeypatch, clinic_db)
    hint = at.info[0].value
    assert "choose its **Dyad** here, then its **Session**, then the **Coder**" in hint
    assert "**+ New…**" in hint and "the first save creates" in hint
    at.selectbox(key="sc_pick_dyad").set_value("D1").run()
    assert "or **+ New…** to add one: you give its number, date" in at.info[0].value
    at.selectbox(key="sc_pick_session_D1").set_value(2).run()
    assert "Choose the **Coder** whose coding this is" in at.info[0].value
    at.selectbox(key="sc_pick_coder").set_value("C1").run()
    assert not at.info, "an existing coding opens without the new-coding hint"


@pytest.mark.both_backends
def test_excel_scoresheet_import_is_audited_and_empties_the_uploader(monkeypatch, clinic_db):
    from tests.test_scoresheet_xlsx import filled_sheet

    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")  # the scoresheet is not demo data: demo mode would stop after it
    at = open_sheet(monkeypatch, clinic_db, dyad="D1", session="3", coder="C1")
    upload = next(u for u in at.get("file_uploader") if u.proto.label == "Filled scoresheets")
    upload.set_value([("s1.xlsx", filled_sheet().bytes(),
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]).run()
    at.checkbox(key="sc_replace").check().run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    assert any("1 new codings" in s.value for s in at.success)
    upload = next(u for u in at.get("file_uploader") if u.proto.label == "Filled scoresheets")
    assert not upload.value                              # nothing left to import twice by mistake
    assert not at.checkbox(key="sc_replace").value       # replacing is asked for each time
    con = store.connect(clinic_db)
    try:
        actions = con.execute("SELECT action, target FROM audit ORDER BY audit_id").fetchall()
    finally:
        con.close()
    assert ("import", "s1.xlsx") in actions


def test_demo_mode_takes_a_scoresheet_for_a_demo_session_and_keeps_running(monkeypatch, clinic_db):
    """Without RRRS_FORCE_DEMO: a scoresheet coding a session the demo clinic has imports as demo data, one for
    a new session is refused; neither locks the app ('holds non-demo data')."""
    from tests.test_scoresheet_xlsx import filled_sheet

    monkeypatch.delenv("RRRS_FORCE_DEMO", raising=False)
    at = open_sheet(monkeypatch, clinic_db, dyad="D1", session="3", coder="C1")
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    demo = filled_sheet(dyad_id="D1", therapist_id="T1", session_date=dt.date(2026, 1, 19), coder_id="C9",
                        patient_id="P-ALPHA", treatment="CBT")
    new = filled_sheet(dyad_id="D1", therapist_id="T1", session_number=9, coder_id="C9")
    for name, sheet, expected in (("new.xlsx", new, "not marked as synthetic demo data"),
                                  ("demo.xlsx", demo, "1 new codings")):
        upload = next(u for u in at.get("file_uploader") if u.proto.label == "Filled scoresheets")
        upload.set_value([(name, sheet.bytes(), xlsx)]).run()
        next(b for b in at.button if b.label == "Import").click().run()
        assert not at.exception
        assert expected in all_text(at) + " ".join(str(df.value.to_string()) for df in at.dataframe), name
    at.run()
    assert "holds non-demo data" not in all_text(at)


def test_imported_coding_names_its_import_not_the_importing_account(monkeypatch, tmp_path):
    """An import's codings were stored by the CLI account ("cli"), which coded nothing: the scoresheet says
    "imported from <source>" and the version history "import of <source>"."""
    from rrrs_core.importing import import_path
    from tests.tables import write_folder

    db = tmp_path / "imported.duckdb"
    con = store.connect(db)
    import_path(con, write_folder(tmp_path / "march-batch"))
    dyad, session, coder = con.execute("SELECT dyad_id, session_number, coder_id FROM coding LIMIT 1").fetchone()
    con.close()
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")  # real (not synthetic) data in demo mode
    at = open_sheet(monkeypatch, db, dyad=dyad, session=str(session), coder=coder)
    text = all_text(at)
    assert "Opened version 1 (final), imported from march-batch at" in text
    assert "saved by cli" not in text
    history = next(df.value for df in at.dataframe if "saved_by" in df.value.columns)
    assert "import of march-batch" in history.to_string() and "cli" not in history.to_string()


def test_minute_headers_and_rating_options_are_not_cut(monkeypatch, clinic_db):
    """Segment columns are wide enough for "10-15" beside Streamlit's edit icon (58 px read "10-1…"); the
    rating drop-downs show the value's short name, the full anchor sentences stand next to them."""
    at = open_sheet(monkeypatch, clinic_db, dyad="D1", session="3", coder="C1")
    columns = json.loads(at.data_editor(key="sc_w_grid_withdrawal").proto.columns)
    assert [columns[f"s{s}"]["label"] for s in (1, 3)] == ["0-5", "10-15"]
    assert min(columns[f"s{s}"]["width"] for s in range(1, 11)) >= 68
    significance = at.selectbox(key="sc_w_sig_complaint_therapist")
    assert [significance.format_func(v) for v in range(1, 6)] == [
        "1 · None", "2 · Minor", "3 · Some", "4 · Moderate", "5 · High"]
    resolution = at.selectbox(key="sc_w_glob_overall_resolution")
    assert max(len(resolution.format_func(v)) for v in range(1, 6)) <= 20
    text = all_text(at)
    assert "**4** Moderate significance: more than some, not enough to be rated 5" in text
    assert cb.RESOLUTION.anchor(resolution.value) in text
