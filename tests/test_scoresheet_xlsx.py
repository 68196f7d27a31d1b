"""The Excel scoresheet: template layout and validations, exact round trips, and bad sheets reported by
file, sheet, cell and value with nothing imported."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from rrrs_core import codebook as cb
from rrrs_core import coding_edit as ce
from rrrs_core import palette
from rrrs_core import scoresheet_xlsx as sx
from rrrs_core.errors import NotFoundError, ValidationError
from rrrs_core.store import scalar

BOOK = cb.DEFAULT
HEADER = dict(dyad_id="D9", therapist_id="T9", session_number=3, session_date=dt.date(2026, 3, 2), coder_id="C7",
              segment_minutes=5, n_segments=10)
MARKS = {(1, "minimal_response"): "✓", (2, "minimal_response"): "✓-", (2, "complaint_therapist"): "✓",
         (4, "invite_feelings"): "✓", (10, "redirect_refocus"): "✓−"}
RATINGS = {"minimal_response": 2, "complaint_therapist": 3, "invite_feelings": 3, "redirect_refocus": 2,
           "overall_withdrawal": 2, "overall_confrontation": 3, "overall_resolution": 4, "therapist_contribution": 2}


class Sheet:
    """Finds scoresheet cells the way a person would: by the labels in column A and the code key row."""

    def __init__(self, data: bytes):
        self.wb = load_workbook(io.BytesIO(data))
        self.ws = self.wb["Scoresheet"]
        self.rows = {str(self.ws.cell(r, 1).value).rstrip(" *"): r for r in range(1, self.ws.max_row + 1)}
        key_row = self.rows["code key"]
        self.cols = {self.ws.cell(key_row, c).value: c for c in range(3, self.ws.max_column + 1)}
        self.first = key_row + 1

    def mark(self, seg: int, code: str, value: object) -> str:
        cell = self.ws.cell(self.first + seg - 1, self.cols[code])
        cell.value = value
        return cell.coordinate

    def rate(self, item: str, value: object) -> str:
        if BOOK.has_code(item):
            cell = self.ws.cell(self.rows["Significance"], self.cols[item])
        else:
            cell = self.ws.cell(self.rows[BOOK.global_item(item).label], 2)
        cell.value = value
        return cell.coordinate

    def head(self, label: str, value: object) -> str:
        cell = self.ws.cell(self.rows[label], 2)
        cell.value = value
        return cell.coordinate

    def note(self, seg: int, text: str) -> None:
        self.ws.cell(self.first + seg - 1, self.cols["note"]).value = text

    def bytes(self) -> bytes:
        buf = io.BytesIO()
        self.wb.save(buf)
        return buf.getvalue()


def filled_sheet(marks=MARKS, ratings=RATINGS, **header) -> Sheet:
    sheet = Sheet(sx.template(**{**HEADER, **header}))
    for (seg, code), sign in marks.items():
        sheet.mark(seg, code, sign)
    for item, value in ratings.items():
        sheet.rate(item, value)
    return sheet


def stored(con, dyad="D9", session=3, coder="C7") -> ce.CodingDraft:
    draft, version = ce.load_coding(con, dyad, session, coder)
    assert version is not None
    return draft


def test_template_layout_and_validations():
    wb = load_workbook(io.BytesIO(sx.template(**HEADER)))
    assert wb.sheetnames == ["Scoresheet", "Codebook"]
    ws = wb["Scoresheet"]
    sheet = Sheet(sx.template(**HEADER))
    assert [ws.cell(sheet.rows[label], 2).value for label in ("Dyad", "Therapist", "Session number", "Coder",
                                                              "Number of segments")] == ["D9", "T9", 3, "C7", 10]
    assert set(BOOK.keys) <= set(sheet.cols)
    # segments labelled by minutes
    assert [ws.cell(sheet.first + i, 2).value for i in (0, 1, 9)] == ["0-5", "5-10", "45-50"]
    # family header row: palette fills over each family's columns
    fam_row = sheet.first - 3
    for family in cb.FAMILIES:
        col = sheet.cols[BOOK.family(family)[0].key]
        assert ws.cell(fam_row, col).fill.fgColor.rgb.endswith(palette.FAMILY_COLOURS[family].lstrip("#"))
    validations = ws.data_validations.dataValidation
    signs = [v for v in validations if v.type == "list"]
    assert len(signs) == 1 and signs[0].formula1 == '"✓,✓-"' and signs[0].allowBlank
    grid_cell = ws.cell(sheet.first + 4, sheet.cols["denial"]).coordinate
    assert grid_cell in signs[0].sqref
    ratings = [v for v in validations if v.type == "whole" and v.formula2 == "5"]
    rated = [ws.cell(sheet.rows["Significance"], sheet.cols["denial"]).coordinate,
             ws.cell(sheet.rows["Therapist contribution"], 2).coordinate]
    assert all(any(cell in v.sqref for v in ratings) for cell in rated)
    assert all(v.formula1 == "1" and v.operator == "between" for v in ratings)
    definitions = {row[1]: row[3] for row in wb["Codebook"].iter_rows(values_only=True) if row and len(row) > 3}
    assert all(definitions[c.key] == c.definition for c in BOOK.codes)


def test_filled_template_round_trips_exactly(con):
    sheet = filled_sheet()
    sheet.note(2, "12:40 'you never listen'")
    frames = sx.read_scoresheets([("s3.xlsx", sheet.bytes())])
    assert frames["sessions"].loc[0, "dyad_id"] == "D9" and frames["sessions"].loc[0, "session_date"] == "2026-03-02"
    report = sx.import_scoresheets(con, [("s3.xlsx", sheet.bytes())], user="ann")
    assert report.counts.codings_new == 1
    draft = stored(con)
    assert draft.marks == {k: cb.CLARITY_ALIASES[v] for k, v in MARKS.items()}
    assert draft.ratings == RATINGS and draft.segment_notes == {2: "12:40 'you never listen'"}
    assert (draft.therapist_id, draft.session_date, draft.n_segments) == ("T9", dt.date(2026, 3, 2), 10)
    assert scalar(con, "SELECT status FROM coding") == "final"


def test_stored_coding_exports_and_reimports_unchanged(clinic_con):
    data = sx.filled(clinic_con, "D1", 3, "C1")
    before = scalar(clinic_con, "SELECT count(*) FROM coding")
    report = sx.import_scoresheets(clinic_con, [("d1s3.xlsx", data)])
    assert (report.counts.codings_unchanged, report.counts.codings_new) == (1, 0)
    assert scalar(clinic_con, "SELECT count(*) FROM coding") == before
    sheet = Sheet(data)
    assert sheet.ws.cell(sheet.first + 7, sheet.cols["invite_feelings"]).value == "✓-"
    assert sheet.ws.cell(sheet.rows["Significance"], sheet.cols["complaint_therapist"]).value == 5
    with pytest.raises(NotFoundError):
        sx.filled(clinic_con, "D1", 3, "nobody")


def test_app_saved_coding_with_notes_round_trips(con):
    draft = ce.CodingDraft("D9", 3, "C7", "T9", n_segments=6, marks={(2, "denial"): "check"},
                           ratings={"denial": 2, "overall_withdrawal": 2}, segment_notes={2: "03:10"})
    ce.save_coding(con, draft, user="ann", expected_version=None, status="final")
    report = sx.import_scoresheets(con, [("x.xlsx", sx.filled(con, "D9", 3, "C7"))])
    assert report.counts.codings_unchanged == 1 and not [w for w in report.warnings if w.column == "Note"]


def test_replacing_through_a_scoresheet_keeps_history_and_notes(con):
    sx.import_scoresheets(con, [("s3.xlsx", filled_sheet().bytes())])
    sheet = Sheet(sx.filled(con, "D9", 3, "C7"))
    sheet.mark(5, "denial", "✓")
    sheet.note(5, "21:00")
    with pytest.raises(ValidationError, match="1 error") as err:
        sx.import_scoresheets(con, [("s3.xlsx", sheet.bytes())])
    assert "use --replace" in err.value.problems[0].message and err.value.problems[0].column == "B9"
    sx.import_scoresheets(con, [("s3.xlsx", sheet.bytes())], replace=True)
    assert stored(con).marks[(5, "denial")] == "check" and stored(con).segment_notes == {5: "21:00"}
    assert scalar(con, "SELECT count(*) FROM coding") == 2


def test_signs_and_words_accepted():
    marks = {(1, "denial"): "✓", (2, "denial"): "✓-", (3, "denial"): "✓−", (4, "denial"): "check",
             (5, "denial"): "check_minus", (6, "denial"): " ✓ "}
    frames = sx.read_scoresheets([("a.xlsx", filled_sheet(marks=marks, ratings={}).bytes())])
    assert frames["marks"].clarity.tolist() == ["check", "check_minus", "check_minus", "check", "check_minus", "check"]


def test_bad_scoresheets_name_file_sheet_cell_and_value(con):
    bad_sign = filled_sheet()
    sign_cell = bad_sign.mark(3, "denial", "x")
    bad_rating = filled_sheet()
    rating_cell = bad_rating.rate("overall_resolution", 7)
    sig_cell = bad_rating.rate("denial", 7)
    no_dyad = filled_sheet()
    dyad_cell = no_dyad.head("Dyad", None)
    beyond = filled_sheet(n_segments=10)
    beyond_cell = beyond.mark(12, "denial", "✓")
    good = filled_sheet(dyad_id="D8")
    files = [("good.xlsx", good.bytes()), ("s1.xlsx", bad_sign.bytes()), ("s2.xlsx", bad_rating.bytes()),
             ("s3.xlsx", no_dyad.bytes()), ("s4.xlsx", beyond.bytes())]
    with pytest.raises(ValidationError) as err:
        sx.import_scoresheets(con, files)
    found = {(p.file, p.column): p for p in err.value.problems}
    p = found[("s1.xlsx [Scoresheet]", sign_cell)]
    assert p.value == "x" and "Denial, segment 3: not a 3RS sign" in p.message and p.row == int(sign_cell[1:])
    p = found[("s2.xlsx [Scoresheet]", rating_cell)]
    assert p.value == "7" and "Overall resolution: must be a whole number from 1 to 5" in p.message
    assert found[("s2.xlsx [Scoresheet]", sig_cell)].message == "Denial significance: must be a whole number from 1 to 5"
    assert dyad_cell == "B3" and "Dyad is required" in found[("s3.xlsx [Scoresheet]", "B3")].message
    p = found[("s4.xlsx [Scoresheet]", beyond_cell)]
    assert "beyond the session's 10 segments" in p.message and p.value == "✓"
    assert len(err.value.problems) == 5
    assert scalar(con, "SELECT count(*) FROM coding") == 0 and scalar(con, "SELECT count(*) FROM dyad") == 0
    with pytest.raises(ValidationError):
        sx.read_scoresheets(files[1:2])


@pytest.mark.parametrize("marks", [MARKS, {}], ids=["marks", "no-marks"])
def test_importer_problems_point_at_scoresheet_cells(clinic_con, marks):
    """Rules the importer checks (dyad stored under another therapist) come back as file/cell problems."""
    sheet = filled_sheet(dyad_id="D1", therapist_id="T2", session_number=12, marks=marks)
    with pytest.raises(ValidationError) as err:
        sx.import_scoresheets(clinic_con, [("d1.xlsx", sheet.bytes())])
    (p,) = err.value.problems
    assert (p.file, p.row, p.column, p.value) == ("d1.xlsx [Scoresheet]", 4, "B4", "T2 (stored: T1)")
    assert "already stored with another therapist" in p.message


def test_consistency_warnings_point_at_cells(con):
    sheet = filled_sheet(ratings={**RATINGS, "denial": 4})
    report = sx.import_scoresheets(con, [("w.xlsx", sheet.bytes())], dry_run=True)
    cell = sheet.rate("denial", 4)
    (w,) = [w for w in report.warnings if w.column == cell]
    assert w.file == "w.xlsx [Scoresheet]" and "Denial significance: significance 4 for denial" in w.message
    assert scalar(con, "SELECT count(*) FROM coding") == 0  # dry run


def test_not_a_scoresheet():
    tables = io.BytesIO()
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "sessions"
    wb.save(tables)
    assert sx.is_scoresheet(sx.template()) and not sx.is_scoresheet(tables.getvalue())
    assert not sx.is_scoresheet(b"not a workbook")
    with pytest.raises(ValidationError) as err:
        sx.read_scoresheets([("t.xlsx", tables.getvalue()), ("junk.xlsx", b"junk")])
    messages = [p.message for p in err.value.problems]
    assert "no sheet named 'Scoresheet'" in messages[0] and "not a readable .xlsx" in messages[1]


def test_changed_notes_alone_are_reported_not_silently_dropped(con):
    sx.import_scoresheets(con, [("s3.xlsx", filled_sheet().bytes())])
    sheet = Sheet(sx.filled(con, "D9", 3, "C7"))
    sheet.note(4, "new note only")
    report = sx.import_scoresheets(con, [("s3.xlsx", sheet.bytes())])
    assert report.counts.codings_unchanged == 1
    (w,) = [w for w in report.warnings if w.column == "Note"]
    assert "segment notes were not stored" in w.message and "scoresheet page" in w.message
    assert stored(con).segment_notes == {}


def test_session_without_marks_or_ratings_imports(con):
    report = sx.import_scoresheets(con, [("quiet.xlsx", filled_sheet(marks={}, ratings={}).bytes())], user="ann")
    assert report.counts.codings_new == 1 and report.source == "quiet.xlsx"
    assert [w.message for w in report.warnings] == ["Coder: no ratings for this coding: stored as ratings pending"]
    assert report.warnings[0].column == "B9" and report.warnings[0].file == "quiet.xlsx [Scoresheet]"
    assert stored(con).marks == {} and scalar(con, "SELECT source FROM import_batch") == "quiet.xlsx"


def test_demo_mode_takes_scoresheets_for_stored_sessions_only(con):
    """synthetic_only (demo mode): a scoresheet for a new session is refused; one for a stored session (the demo
    clinic's own, as the in-app editor codes) imports as demo data."""
    sheet = [("s3.xlsx", filled_sheet().bytes())]
    with pytest.raises(ValidationError) as info:
        sx.import_scoresheets(con, sheet, synthetic_only=True)
    assert any("not marked as synthetic demo data" in p.message for p in info.value.problems)
    assert scalar(con, "SELECT count(*) FROM coding") == 0
    sx.import_scoresheets(con, sheet)  # D9 session 3 now exists (as a sign-in instance would have stored it)
    again = sx.import_scoresheets(con, [("s4.xlsx", filled_sheet(coder_id="C8").bytes())], synthetic_only=True)
    assert again.synthetic and again.counts.codings_new == 1
