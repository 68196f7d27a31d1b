"""Page layout shared by every report: fonts, paragraph styles, colours, the footer and the build step.

Fonts: a TrueType family is registered with ReportLab so names and notes print in any language the font
covers (the PDF standard fonts only know Latin-1). Only fonts that ship inside installed packages are
used, never system paths, so a fresh CI machine renders the same PDF: Noto Sans (fontpkg-noto-sans) or DejaVu Sans when a package provides
it (rrrs_core/reports/fonts/, matplotlib or rinoh-typeface-dejavusans), otherwise Bitstream Vera, DejaVu's
parent, which ReportLab itself ships (Latin-1, Latin Extended-A in part, common punctuation; no Greek,
Cyrillic or CJK).

Every page carries the footer: the confidentiality line (or, for demo data, that it is synthetic), who the
report was generated for and when, and "Page x of y" (a canvas that holds its pages until the total is
known). Builds run in ReportLab's invariant mode, so the same data and `now` give byte-identical PDFs.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from rrrs_core import palette

# Binary (Flate-only) streams instead of ASCII85-wrapped ones: ReportLab's ASCII85 encoder is pure
# Python and took ~0.2 s per chart image; the PDFs also get 20% smaller. Process-wide, harmless elsewhere.
rl_config.useA85 = 0

CONFIDENTIAL = "Confidential - contains clinical information"
SYNTHETIC = "Synthetic demo data - every therapist, patient and session here is invented"
PAGE_SIZE = A4
MARGIN_X = 16 * mm
MARGIN_TOP = 16 * mm
MARGIN_BOTTOM = 22 * mm
FRAME_WIDTH = PAGE_SIZE[0] - 2 * MARGIN_X
FRAME_HEIGHT = PAGE_SIZE[1] - MARGIN_TOP - MARGIN_BOTTOM

FONT = "RrrsSans"
FONT_BOLD = "RrrsSans-Bold"
FONT_ITALIC = "RrrsSans-Italic"
FONT_BOLD_ITALIC = "RrrsSans-BoldItalic"

# (package, folder inside it, regular, bold, italic, bold italic), first found wins. The first entry is
# a place for DejaVu files should the project ever ship them itself (package data).
_DEJAVU = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf")
_NOTO = ("NotoSans[wdth,wght].ttf", "NotoSans-Italic[wdth,wght].ttf")
_FONT_SOURCES: tuple[tuple[str, str, str, str, str, str], ...] = (
    # Noto Sans from its PyPI package (a pinned dependency): Latin, Greek and Cyrillic names. Its variable
    # files render their default (regular) instance in ReportLab, so "bold" is the regular face, larger.
    ("fontpkg_noto_sans", "files", _NOTO[0], _NOTO[0], _NOTO[1], _NOTO[1]),
    ("rrrs_core.reports", "fonts", *_DEJAVU),
    ("matplotlib", "mpl-data/fonts/ttf", *_DEJAVU),
    ("rinoh_typeface_dejavusans", "", *_DEJAVU),
    ("reportlab", "fonts", "Vera.ttf", "VeraBd.ttf", "VeraIt.ttf", "VeraBI.ttf"),
)
_font_lock = threading.Lock()
_font_files: tuple[Path, ...] | None = None


def _package_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it (rinoh's __init__ needs rinohtype)."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def font_files() -> tuple[Path, ...]:
    """The four TTF files of the report font family (regular, bold, italic, bold italic)."""
    for package, folder, *names in _FONT_SOURCES:
        base = _package_dir(package)
        if base is None:
            continue
        paths = tuple(base / folder / name for name in names)
        if all(p.is_file() for p in paths):
            return paths
    raise RuntimeError("No TrueType font found: ReportLab's bundled Vera fonts are missing from the install.")


def register_fonts() -> tuple[Path, ...]:
    """Register the report font family once per process; returns the files used."""
    global _font_files
    with _font_lock:
        if _font_files is None:
            files = font_files()
            for name, path in zip((FONT, FONT_BOLD, FONT_ITALIC, FONT_BOLD_ITALIC), files, strict=True):
                pdfmetrics.registerFont(TTFont(name, str(path)))
            pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC,
                                          boldItalic=FONT_BOLD_ITALIC)
            _font_files = files
        return _font_files


def hex_colour(value: str) -> colors.Color:
    return colors.HexColor(value)


def tint(value: str, amount: float) -> colors.Color:
    """`value` mixed with white: amount 1 is the colour itself, 0 is white."""
    c = colors.HexColor(value)
    return colors.Color(1 - (1 - c.red) * amount, 1 - (1 - c.green) * amount, 1 - (1 - c.blue) * amount)


HIGHLIGHT_ROW = tint(palette.HIGHLIGHT, 0.28)   # table rows at or above the contribution threshold
HEADER_FILL = colors.HexColor("#EDEDED")
RULE = colors.HexColor("#BDBDBD")
MUTED = colors.HexColor("#595959")


@functools.cache
def styles() -> dict[str, ParagraphStyle]:
    """Paragraph styles by name (fonts registered first)."""
    register_fonts()
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12, alignment=TA_LEFT, spaceAfter=4)
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontName=FONT_BOLD, fontSize=19, leading=23,
                                spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=body, fontSize=11, leading=14, textColor=MUTED,
                                   spaceAfter=10),
        "h1": ParagraphStyle("h1", parent=body, fontName=FONT_BOLD, fontSize=13.5, leading=17, spaceBefore=8,
                             spaceAfter=5, keepWithNext=1),
        "h2": ParagraphStyle("h2", parent=body, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=6,
                             spaceAfter=3, keepWithNext=1),
        "h3": ParagraphStyle("h3", parent=body, fontName=FONT_BOLD, fontSize=9.5, leading=12, spaceBefore=4,
                             spaceAfter=2, keepWithNext=1),
        "small": ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5, textColor=MUTED),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9.2, spaceAfter=0),
        "cell_bold": ParagraphStyle("cell_bold", parent=body, fontName=FONT_BOLD, fontSize=7.5, leading=9.2,
                                    spaceAfter=0),
        "head": ParagraphStyle("head", parent=body, fontName=FONT_BOLD, fontSize=7.5, leading=9.2,
                               spaceAfter=0),
        "figure": ParagraphStyle("figure", parent=body, fontName=FONT_BOLD, fontSize=15, leading=18,
                                 spaceAfter=0),
        "figure_label": ParagraphStyle("figure_label", parent=body, fontSize=7.5, leading=9.5,
                                       textColor=MUTED, spaceAfter=0),
        "bullet": ParagraphStyle("bullet", parent=body, leftIndent=12, bulletIndent=2, spaceAfter=2),
        "bullet_small": ParagraphStyle("bullet_small", parent=body, fontSize=7.5, leading=9.5, textColor=MUTED,
                                       leftIndent=12, bulletIndent=2, spaceAfter=1.5),
        "note": ParagraphStyle("note", parent=body, leftIndent=8, borderPadding=(3, 4, 3, 6),
                               spaceAfter=6),
    }


@dataclass(frozen=True)
class Meta:
    """What the footer and the PDF info dictionary say about a report."""

    title: str         # PDF title and the footer's right-hand label
    generated_by: str
    now: datetime
    synthetic: bool = False  # demo data says so on every page, in place of the confidentiality line

    @property
    def notice(self) -> str:
        return SYNTHETIC if self.synthetic else CONFIDENTIAL

    @property
    def generated_line(self) -> str:
        return f"Generated for {self.generated_by} on {self.now:%Y-%m-%d %H:%M}"


class _FooterCanvas(canvas.Canvas):
    """Keeps every page until `save`, then draws each footer knowing the page count."""

    def __init__(self, *args: object, meta: Meta, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._meta = meta
        self._pages: list[dict[str, object]] = []

    def showPage(self) -> None:  # noqa: N802 - ReportLab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._footer(number, total)
            super().showPage()
        super().save()

    def _footer(self, number: int, total: int) -> None:
        width = PAGE_SIZE[0]
        y = MARGIN_BOTTOM - 9 * mm
        self.saveState()
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        self.line(MARGIN_X, y + 10.5, width - MARGIN_X, y + 10.5)
        self.setFillColor(colors.black)
        self.setFont(FONT_BOLD, 7.5)
        self.drawString(MARGIN_X, y, self._meta.notice)
        self.setFont(FONT, 7.5)
        self.drawRightString(width - MARGIN_X, y, f"Page {number} of {total}")
        self.setFillColor(MUTED)
        self.drawString(MARGIN_X, y - 10, self._meta.generated_line)
        self.drawRightString(width - MARGIN_X, y - 10, self._meta.title)
        self.restoreState()


def build(story: list[Flowable], meta: Meta) -> bytes:
    """Lay the story out on A4 pages with the footer; invariant, so equal inputs give equal bytes."""
    register_fonts()
    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf, pagesize=PAGE_SIZE, leftMargin=MARGIN_X, rightMargin=MARGIN_X, topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM, title=meta.title, author="rrrs", creator="rrrs",
        subject=f"{meta.title}. {meta.notice}. {meta.generated_line}.", invariant=1,
        initialFontName=FONT,
    )
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, FRAME_WIDTH, FRAME_HEIGHT, id="body",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    doc.build(story, canvasmaker=functools.partial(_FooterCanvas, meta=meta))
    return buf.getvalue()


def resolve_now(now: datetime | None) -> datetime:
    """The report's timestamp: the caller's `now` (tests, batches) or the local time, to the minute."""
    return (now or datetime.now()).replace(second=0, microsecond=0)
