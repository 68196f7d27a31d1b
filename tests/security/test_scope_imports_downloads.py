"""Issue 14, "Scope is enforced on reads but not on writes and side doors", items 2 to 5.

2. Re-parenting through an import: a supervisor's upload may not reassign a therapist, change a patient id or
   write outside their scope; an administrator's (and the CLI's) may.
3. Coders' Excel uploads: a coder stores only the sessions assigned to them, under their own coder id.
4. Stale downloads: a download callable on screen re-checks the principal when clicked.
5. Grid export: the tables' toolbar CSV export is switched off.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from rrrs_core import access, store
from rrrs_core import scoresheet_xlsx as sx
from rrrs_core.errors import PermissionDeniedError, ValidationError
from rrrs_core.importing.uploads import import_uploads
from tests.apptest import all_text, open_page
from tests.test_roles import AUTH
from tests.test_scoresheet_xlsx import Sheet

# On both backends: the tests that write through the core or audit (below, marked). The page-level scope
# checks run on the embedded file only: on DuckLake they test the same permission code at several times
# the cost (about 5 ms of catalog reads per query); tests/test_page_*.py cover the pages on the lake.

SUP1 = access.Principal("sup1", "supervisor", therapist_id="S1")
CODER = access.Principal("c5", "coder", coder_id="C5")
ADMIN = access.Principal("boss", "admin")
HEAD = "dyad_id,therapist_id,session_number,coder_id,n_segments,session_date,supervisor_id"
REPARENT = "DX9,T2,1,C9,10,2026-02-01,S1"  # the attack row of the issue
MARKS_HEAD = "dyad_id,session_number,coder_id,segment,code,clarity\n"
RATINGS_HEAD = "dyad_id,session_number,coder_id,item,rating\n"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(*rows: str, head: str = HEAD) -> list[tuple[str, bytes]]:
    return [("sessions.csv", "\n".join([head, *rows]).encode()), ("marks.csv", MARKS_HEAD.encode()),
            ("ratings.csv", RATINGS_HEAD.encode())]


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Everything an import could write, to compare before and after."""
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("therapist", "dyad", "session", "coding", "mark", "rating", "import_batch", "segment_note")}


def refused(con: duckdb.DuckDBPyConnection, files: list[tuple[str, bytes]], writer: access.Principal,
            **kwargs) -> list[str]:
    """Import as `writer`, expecting a refusal that writes nothing; the problems as the user reads them."""
    before = snapshot(con)
    with pytest.raises(ValidationError) as exc:
        importer = sx.import_scoresheets if files[0][0].endswith(".xlsx") else import_uploads
        importer(con, files, writer=writer, **kwargs)
    assert snapshot(con) == before, "a refused import wrote something"
    return [str(p) for p in exc.value.problems]


# ---------------------------------------------------------------- 2. re-parenting through an import


@pytest.mark.both_backends
def test_2_supervisor_cannot_reparent_another_supervisors_trainee(clinic_con):
    problems = refused(clinic_con, upload(REPARENT), SUP1)
    assert problems == ["ERROR: sessions.csv, row 2, column 'supervisor_id' (value 'S1'): reassigns therapist T2, "
                        "who is outside your scope; only an administrator may change a therapist's supervisor"]
    assert access.scope_for(clinic_con, SUP1).therapist_ids == {"S1", "T1"}


@pytest.mark.both_backends
@pytest.mark.parametrize("writer", [ADMIN, None], ids=["admin", "cli"])
def test_2_admin_and_cli_may_reassign(clinic_con, writer):
    """The CLI passes no writer: it runs with the database file in hand."""
    import_uploads(clinic_con, upload(REPARENT), writer=writer)
    assert clinic_con.execute("SELECT supervisor_id FROM therapist WHERE therapist_id = 'T2'").fetchall() == [("S1",)]


@pytest.mark.both_backends
def test_2_supervisor_cannot_write_codings_of_other_supervisors_dyads(clinic_con):
    problems = refused(clinic_con, upload("D2,T2,9,C1,10,2026-02-01,"), SUP1)
    assert problems == ["ERROR: sessions.csv, row 2, column 'therapist_id' (value 'T2'): therapist T2 is outside "
                        "your scope; you may import codings only of your own and your trainees' dyads (only an "
                        "administrator may import others)"]


@pytest.mark.both_backends
def test_2_supervisor_cannot_change_a_patient_id_or_a_supervisor_in_scope(clinic_con):
    head = HEAD + ",patient_id"
    problems = refused(clinic_con, upload("D3,S1,9,C1,10,2026-02-01,,P-OTHER", "D9,T1,1,C1,10,2026-02-01,S2,",
                                          head=head), SUP1)
    assert problems == [
        "ERROR: sessions.csv, row 2, column 'patient_id' (value 'P-OTHER'): changes the patient id of dyad D3; "
        "only an administrator may change a patient id",
        "ERROR: sessions.csv, row 3, column 'supervisor_id' (value 'S2'): changes the supervisor of therapist T1 "
        "(stored: S1); only an administrator may change a therapist's supervisor"]


@pytest.mark.both_backends
def test_2_new_therapists_and_dyads_of_a_supervisor_land_in_their_scope(clinic_con):
    problems = refused(clinic_con, upload("D8,T8,1,C1,10,2026-02-01,", "D9,T9,1,C1,10,2026-02-01,S2"), SUP1)
    assert [p.split(": ", 2)[2] for p in problems] == [
        f"new therapist {t} would be outside your scope: give your own therapist id (S1) as supervisor_id (only "
        "an administrator may add therapists for other supervisors)" for t in ("T8", "T9")]
    report = import_uploads(clinic_con, upload("D8,T8,1,C1,10,2026-02-01,S1", "D9,T1,1,C1,10,2026-02-01,"),
                            writer=SUP1)
    assert report.counts.codings_new == 2
    assert {"T8", "T1"} <= access.scope_for(clinic_con, SUP1).therapist_ids


@pytest.mark.both_backends
def test_2_data_page_passes_the_signed_in_uploader(monkeypatch, clinic_db):
    con = store.connect(clinic_db)
    access.upsert(con, "sup1", "supervisor", therapist_id="S1")
    before = snapshot(con)
    con.close()
    at = open_page(monkeypatch, clinic_db, "data", secrets=AUTH, user={"is_logged_in": True, "sub": "sup1"})
    at.get("file_uploader")[0].set_value([(n, b, "text/csv") for n, b in upload(REPARENT)]).run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    assert "reassigns therapist T2, who is outside your scope" in all_text(at)
    con = store.connect(clinic_db)
    try:
        assert snapshot(con) == before
    finally:
        con.close()


# ---------------------------------------------------------------- 3. coders' Excel uploads


def sheet_of(con: duckdb.DuckDBPyConnection, dyad: str, session: int, coder: str, **header: str) -> bytes:
    """The stored coding as a filled scoresheet, with a mark added and header fields changed."""
    sheet = Sheet(sx.filled(con, dyad, session, coder))
    sheet.mark(9, "minimal_response", "✓")
    for label, value in header.items():
        sheet.head(label, value)
    return sheet.bytes()


@pytest.mark.both_backends
def test_3_coder_cannot_replace_an_unassigned_coding_or_its_patient_id(clinic_con):
    access.assign(clinic_con, "C5", "D2", 2)
    data = sheet_of(clinic_con, "D1", 3, "C2", Patient="P-MALLORY")
    problems = refused(clinic_con, [("d1.xlsx", data)], CODER, replace=True)
    assert any("you may store codings only under your own coder id (C5)" in p for p in problems)
    assert any("changes the patient id of dyad D1" in p for p in problems)
    data = sheet_of(clinic_con, "D1", 3, "C2", Coder="C5")
    problems = refused(clinic_con, [("d1.xlsx", data)], CODER, replace=True)
    assert problems == ["ERROR: d1.xlsx [Scoresheet], row 7, column 'B7' (value '3'): Session number: dyad D1 "
                        "session 3 is not assigned to you; ask a supervisor to assign it"]


@pytest.mark.both_backends
def test_3_coder_stores_an_assigned_session_under_their_own_id(clinic_con):
    access.assign(clinic_con, "C5", "D2", 2)
    report = sx.import_scoresheets(clinic_con, [("d2.xlsx", sheet_of(clinic_con, "D2", 2, "C1", Coder="C5"))],
                                   writer=CODER)
    assert report.counts.codings_new == 1
    assert clinic_con.execute("SELECT dyad_id, session_number, coder_id, created_by FROM coding WHERE batch_id = ?",
                              [report.batch_id]).fetchall() == [("D2", 2, "C5", "cli")]
    problems = refused(clinic_con, [("d2.xlsx", sheet_of(clinic_con, "D2", 2, "C1"))], CODER, replace=True)
    assert [p.split(": ", 2)[2] for p in problems] == ["Coder: you may store codings only under your own coder id "
                                                       "(C5)"]


@pytest.mark.both_backends
def test_3_supervisor_scoresheets_stay_in_scope(clinic_con):
    problems = refused(clinic_con, [("d2.xlsx", sheet_of(clinic_con, "D2", 2, "C1"))], SUP1, replace=True)
    assert [p.split(": ", 2)[2] for p in problems] == [
        "Therapist: therapist T2 is outside your scope; you may import codings only of your own and your "
        "trainees' dyads (only an administrator may import others)"]
    report = sx.import_scoresheets(clinic_con, [("d1.xlsx", sheet_of(clinic_con, "D1", 3, "C2"))], writer=SUP1,
                                   replace=True)
    assert report.counts.codings_replaced == 1


def test_3_scoresheet_page_passes_the_signed_in_coder(monkeypatch, clinic_db):
    """The issue's attack through the page: coder C5, assigned only D2/2, uploads D1/3 by C2 with a new patient
    id and ticks 'Store changed codings'."""
    con = store.connect(clinic_db)
    access.upsert(con, "c5", "coder", coder_id="C5")
    access.assign(con, "C5", "D2", 2)
    data = sheet_of(con, "D1", 3, "C2", Patient="P-MALLORY")
    before = snapshot(con)
    con.close()
    at = open_page(monkeypatch, clinic_db, "scoresheet", {"dyad": "D2", "session": "2", "coder": "C5"},
                   secrets=AUTH, user={"is_logged_in": True, "sub": "c5"})
    upload = next(u for u in at.get("file_uploader") if u.proto.label == "Filled scoresheets")
    upload.set_value([("d1.xlsx", data, XLSX)]).run()
    at.checkbox(key="sc_replace").check().run()
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    assert "you may store codings only under your own coder id (C5)" in all_text(at)
    con = store.connect(clinic_db)
    try:
        assert snapshot(con) == before
    finally:
        con.close()


def d2_session2(con: duckdb.DuckDBPyConnection) -> str:
    """C5's row for the assigned D2/2, as stored (n_segments and date), without header columns."""
    n, date = con.execute("SELECT n_segments, session_date FROM session WHERE dyad_id = 'D2' AND "
                          "session_number = 2").fetchall()[0]
    return f"D2,T2,2,C5,{n},{date},S2"


CODER_ONLY = "a coder stores codings only: leave the cell empty or as stored, and ask a supervisor to change it"


@pytest.mark.parametrize(("column", "value", "message"), [
    ("treatment", "CBT", "changes the treatment of dyad D2"),  # sweep B08
    ("trainee", "false", "changes the trainee flag of therapist T2"),  # sweep B09
    ("patient_id", "John Real Name", "sets the patient id of dyad D2"),  # sweep B10 (stored patient id empty)
])
@pytest.mark.both_backends
def test_3_coder_upload_changes_no_dyad_or_therapist_field(clinic_con, column, value, message):
    """A coder assigned D2/2 stores a coding of it, and nothing else: a differing header field is refused
    with file, row, column and value (it used to rewrite D2's treatment, T2's trainee flag, D2's patient id)."""
    access.assign(clinic_con, "C5", "D2", 2)
    clinic_con.execute("UPDATE dyad SET patient_id = NULL WHERE dyad_id = 'D2'")
    problems = refused(clinic_con, upload(f"{d2_session2(clinic_con)},{value}", head=f"{HEAD},{column}"), CODER)
    assert problems == [f"ERROR: sessions.csv, row 2, column '{column}' (value '{value}'): {message}; {CODER_ONLY}"]


@pytest.mark.both_backends
def test_3_coder_upload_with_the_stored_header_or_empty_cells_stores_the_coding(clinic_con):
    """Not over-blocking: the stored values (or empty cells) are "as stored", and the coding is written."""
    access.assign(clinic_con, "C5", "D2", 2)
    head = f"{HEAD},treatment,trainee,patient_id"
    report = import_uploads(clinic_con, upload(f"{d2_session2(clinic_con)},Psychodynamic,true,P-BRAVO", head=head),
                            writer=CODER)
    assert report.counts.codings_new == 1
    clinic_con.execute("DELETE FROM coding WHERE coder_id = 'C5'")
    assert import_uploads(clinic_con, upload(f"{d2_session2(clinic_con)},,,", head=head),
                          writer=CODER).counts.codings_new == 1


@pytest.mark.both_backends
def test_3_coder_upload_changes_no_session_date(clinic_con):
    access.assign(clinic_con, "C5", "D2", 2)
    row = d2_session2(clinic_con).split(",")
    row[5] = "2031-01-01"
    problems = refused(clinic_con, upload(",".join(row)), CODER)
    assert problems == ["ERROR: sessions.csv, row 2, column 'session_date' (value '2031-01-01'): changes the date "
                        f"of dyad D2 session 2; {CODER_ONLY}"]


@pytest.mark.both_backends
def test_3_coder_scoresheet_changing_the_treatment_is_refused(clinic_con):
    """Sweep B19: the same through the Excel scoresheet of the assigned session."""
    access.assign(clinic_con, "C5", "D2", 2)
    problems = refused(clinic_con, [("d2.xlsx", sheet_of(clinic_con, "D2", 2, "C1", Coder="C5", Treatment="CBT"))],
                       CODER)
    assert [p.split(": ", 2)[2] for p in problems] == [f"Treatment: changes the treatment of dyad D2; {CODER_ONLY}"]
    assert clinic_con.execute("SELECT treatment FROM dyad WHERE dyad_id = 'D2'").fetchall() == [("Psychodynamic",)]


@pytest.mark.parametrize("writer", [access.Principal("t2", "therapist", therapist_id="T2"),
                                    access.Principal("qi", "qi")], ids=["therapist", "qi"])
@pytest.mark.both_backends
def test_2_therapist_and_qi_import_no_coding(clinic_con, writer):
    """Sweep B15: a therapist writes supervision notes only; an import of a coding of their own dyad (D2) is
    refused row by row, like everything a qi user uploads."""
    problems = refused(clinic_con, upload("D2,T2,5,C7,10,2026-03-12,", "D9,T2,1,C7,10,2026-03-12,"), writer)
    assert problems == [f"ERROR: sessions.csv, row {r}, column 'coder_id' (value 'C7'): your role does not store "
                        "codings: only coders, supervisors and administrators import" for r in (2, 3)]


# ---------------------------------------------------------------- 4. stale downloads after revocation


@pytest.fixture
def deferred(monkeypatch) -> dict[str, object]:
    """Every deferred download callable a page registers, by file name (what a click would run)."""
    seen: dict[str, object] = {}
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        seen[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return seen


def _principals(db: Path) -> None:
    con = store.connect(db)
    access.upsert(con, "sup1", "supervisor", therapist_id="S1")
    access.upsert(con, "boss", "admin")
    con.close()


def _change(db: Path, subject: str, **changes: object) -> None:
    con = store.connect(db)
    row = con.execute("SELECT role, therapist_id FROM principal WHERE subject = ?", [subject]).fetchall()[0]
    access.upsert(con, subject, changes.get("role", row[0]), therapist_id=changes.get("therapist_id", row[1]),
                  active=bool(changes.get("active", True)))
    con.close()


@pytest.mark.parametrize(("subject", "page", "params", "file_name", "change"), [
    ("sup1", "dyad", {"dyad": "D1"}, "rrrs-dyad-D1.pdf", {"active": False}),
    ("sup1", "data", {}, "rrrs-summary.csv", {"active": False}),
    ("sup1", "data", {}, "rrrs-summary.csv", {"role": "therapist"}),
    ("boss", "audit", {}, "rrrs-audit.csv", {"active": False}),
])
def test_4_download_on_screen_delivers_nothing_after_revocation(monkeypatch, clinic_db, deferred, subject, page,
                                                                params, file_name, change):
    _principals(clinic_db)
    at = open_page(monkeypatch, clinic_db, page, params, secrets=AUTH, user={"is_logged_in": True, "sub": subject})
    assert not at.exception and file_name in deferred
    click = deferred[file_name]
    assert click(), "before the revocation the button delivers"
    _change(clinic_db, subject, **change)
    with pytest.raises(PermissionDeniedError, match="nothing was downloaded"):
        click()


@pytest.mark.both_backends
def test_4_guard_lets_the_same_principal_through_and_demo_mode(clinic_con):
    from rrrs_ui import downloads

    access.upsert(clinic_con, "sup1", "supervisor", therapist_id="S1", display_name="Sup One")
    assert downloads.fresh_principal(clinic_con, SUP1).display_name == "Sup One"
    assert downloads.fresh_principal(clinic_con, access.DEMO) is access.DEMO
    with pytest.raises(PermissionDeniedError):
        downloads.fresh_principal(clinic_con, access.Principal("sup1", "supervisor", therapist_id="S2"))


def _move_t1_to_s2(db: Path) -> None:
    """An administrator hands T1 (and so D1) to supervisor S2."""
    con = store.connect(db)
    con.execute("UPDATE therapist SET supervisor_id = 'S2' WHERE therapist_id = 'T1'")
    con.close()


@pytest.mark.parametrize(("page", "params", "file_name"), [
    ("dyad", {"dyad": "D1"}, "rrrs-dyad-D1.pdf"),  # sweep C14
    ("contribution", {}, "rrrs-therapist-T1.pdf"),
])
def test_4_report_on_screen_delivers_nothing_after_the_case_left_the_scope(monkeypatch, clinic_db, deferred, page,
                                                                           params, file_name):
    """The click computes the scope afresh: D1 (T1) moved to S2 after S1's page was drawn is not found."""
    from rrrs_core.errors import NotFoundError

    _principals(clinic_db)
    at = open_page(monkeypatch, clinic_db, page, params, secrets=AUTH, user={"is_logged_in": True, "sub": "sup1"})
    if page == "contribution":
        next(b for b in at.selectbox if b.label == "Therapist report for supervision").set_value("T1").run()
    assert not at.exception and file_name in deferred, list(deferred)
    click = deferred[file_name]
    assert click().startswith(b"%PDF"), "before the move the button delivers"
    _move_t1_to_s2(clinic_db)
    with pytest.raises(NotFoundError, match="not found or not permitted"):
        click()


def test_4_summary_csv_on_screen_leaves_out_a_case_that_left_the_scope(monkeypatch, clinic_db, deferred):
    """Sweep C15: S1's Summary CSV, drawn while D1 was in scope, exports only S1's own D3 after the move."""
    _principals(clinic_db)
    at = open_page(monkeypatch, clinic_db, "data", {}, secrets=AUTH, user={"is_logged_in": True, "sub": "sup1"})
    assert not at.exception
    click = deferred["rrrs-summary.csv"]
    assert b"D1" in click() and b"D3" in click()
    _move_t1_to_s2(clinic_db)
    after = click()
    assert b"D1" not in after and b"D3" in after


# ---------------------------------------------------------------- 5. grid export


def test_5_tables_toolbar_export_is_disabled_by_a_real_streamlit_option(monkeypatch):
    import tomllib

    from streamlit import config

    root = Path(__file__).resolve().parents[2]
    project_file = root / ".streamlit" / "config.toml"
    assert tomllib.loads(project_file.read_text())["client"]["disableDataExport"] is True
    monkeypatch.chdir(root)  # Streamlit reads the project's .streamlit/config.toml from the working directory
    config.get_config_options(force_reparse=True)
    try:
        # A real option (an unknown key would be ignored with a warning), set by the project's file.
        assert config.get_option("client.disableDataExport") is True
        assert config.get_where_defined("client.disableDataExport") == str(project_file)
    finally:
        config.get_config_options(force_reparse=True)
