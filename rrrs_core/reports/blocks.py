"""Building blocks of the report story: text, tables, key figures, value formatting (charts: images.py).

Everything that comes from the database goes through `esc` before it reaches a Paragraph, so a note or
an id with '<' or '&' prints as typed instead of breaking the layout.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from rrrs_core.reports import layout as lay

PENDING = "pending"
MISSING = "-"


# ---------------------------------------------------------------- text

def esc(value: object) -> str:
    """Text safe for a ReportLab Paragraph (which parses a small XML dialect)."""
    return escape("" if value is None else str(value))


def para(markup: str, style: str = "body") -> Paragraph:
    """A paragraph from markup the caller built (data inside already escaped with `esc`)."""
    return Paragraph(markup, lay.styles()[style])


def text(value: object, style: str = "body") -> Paragraph:
    """A paragraph of plain text; newlines are kept."""
    return Paragraph(esc(value).replace("\n", "<br/>"), lay.styles()[style])


def bullets(items: Iterable[str], style: str = "bullet") -> list[Flowable]:
    """Bulleted paragraphs from markup strings."""
    return [Paragraph(item, lay.styles()[style], bulletText="\u2022") for item in items]


def gap(height: float = 6) -> Spacer:
    return Spacer(1, height)


# ---------------------------------------------------------------- values

def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_int(value: Any, missing: str = MISSING) -> str:
    return missing if is_missing(value) else str(int(value))


def fmt_rating(value: Any, pending: bool) -> str:
    """A 1-5 rating, 'pending' while the coder has not rated the session."""
    if pending:
        return PENDING
    return fmt_int(value)


def fmt_share(value: Any) -> str:
    return MISSING if is_missing(value) else f"{float(value):.0%}"


def fmt_mean(value: Any, digits: int = 2) -> str:
    return MISSING if is_missing(value) else f"{float(value):.{digits}f}"


def fmt_date(value: Any) -> str:
    if is_missing(value):
        return "no date"
    if isinstance(value, datetime | pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)[:10]


def fmt_list(values: Sequence[Any], empty: str = "none") -> str:
    return ", ".join(str(v) for v in values) if len(values) else empty


# ---------------------------------------------------------------- tables

def _longest_word(text: object, size: float, font: str = lay.FONT_BOLD) -> float:
    return max((stringWidth(w, font, size) for w in str("" if text is None else text).split()), default=0.0)


def fit_widths(widths: Sequence[float], needs: Sequence[float]) -> list[float]:
    """Column widths with each at least its `needs` (a header's longest word), the extra taken from the
    columns with room to spare, so headers wrap between words instead of inside them."""
    total = sum(widths)
    if sum(needs) >= total:
        return [n / sum(needs) * total for n in needs]
    out = [max(w, n) for w, n in zip(widths, needs, strict=True)]
    excess = sum(out) - total
    slack = [max(o - n, 0.0) for o, n in zip(out, needs, strict=True)]
    room = sum(slack)
    return [o - excess * sl / room if room else o for o, sl in zip(out, slack, strict=True)]


def table(header: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float], *,
          highlight: Iterable[int] = (), right: Iterable[int] = (), bold_first: bool = False,
          bold_rows: Iterable[int] = (), font_size: float = 7.5) -> Table:
    """A table that repeats its header on every page; `highlight` row indexes get the HIGHLIGHT tint.

    Cells may be strings or ready flowables. A string that fits its column is drawn as is; longer ones
    (or with newlines) become wrapping paragraphs, which are much slower to lay out, so only those pay.
    `widths` are fractions of the frame width (scaled to sum to 1), or points when they sum to over 1.5.
    """
    st = lay.styles()
    total = float(sum(widths))
    col_widths = [w / total * lay.FRAME_WIDTH for w in widths] if total <= 1.5 else list(widths)
    pad = 6.0
    needs = [_longest_word(h, font_size) + pad for h in header]
    for r in rows:
        for i, v in enumerate(r):
            if not isinstance(v, Flowable):
                needs[i] = max(needs[i], _longest_word(v, font_size, lay.FONT) + pad)
    col_widths = fit_widths(col_widths, needs)
    right = set(right)
    leading = font_size * 1.22
    cell = ParagraphStyle("cell_x", parent=st["cell"], fontSize=font_size, leading=leading)
    cell_bold = ParagraphStyle("cell_bx", parent=st["cell_bold"], fontSize=font_size, leading=leading)
    head = ParagraphStyle("head_x", parent=st["head"], fontSize=font_size, leading=leading)
    aligned = {s.name: ParagraphStyle(f"{s.name}_r", parent=s, alignment=TA_RIGHT) for s in (cell, cell_bold, head)}

    def wrap(value: Any, style: ParagraphStyle, col: int) -> Any:
        if isinstance(value, Flowable):
            return value
        s = "" if value is None else str(value)
        if "\n" not in s and stringWidth(s, style.fontName, font_size) <= col_widths[col] - pad:
            return s
        return Paragraph(esc(s).replace("\n", "<br/>"), aligned[style.name] if col in right else style)

    bold_rows = set(bold_rows)
    data = [[wrap(h, head, i) for i, h in enumerate(header)]]
    for n, r in enumerate(rows):
        data.append([wrap(v, cell_bold if (bold_first and i == 0) or n in bold_rows else cell, i)
                     for i, v in enumerate(r)])
    style: list[tuple] = [
        ("FONTNAME", (0, 0), (-1, -1), lay.FONT),
        ("FONTNAME", (0, 0), (-1, 0), lay.FONT_BOLD),
        ("FONTSIZE", (0, 0), (-1, -1), font_size),
        ("LEADING", (0, 0), (-1, -1), leading),
        ("BACKGROUND", (0, 0), (-1, 0), lay.HEADER_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, lay.RULE),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, lay.RULE),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), pad / 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), pad / 2),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if bold_first:
        style.append(("FONTNAME", (0, 1), (0, -1), lay.FONT_BOLD))
    for c in right:
        style.append(("ALIGN", (c, 0), (c, -1), "RIGHT"))
    for n in bold_rows:
        style.append(("FONTNAME", (0, n + 1), (-1, n + 1), lay.FONT_BOLD))
    for i in highlight:
        style.append(("BACKGROUND", (0, i + 1), (-1, i + 1), lay.HIGHLIGHT_ROW))
    t = Table(data, colWidths=col_widths, repeatRows=1, hAlign="LEFT")
    t.setStyle(TableStyle(style))
    return t


def facts(pairs: Sequence[tuple[str, str]], label_width: float = 0.26) -> Table:
    """A two-column label/value list (cover pages); values are markup."""
    st = lay.styles()
    data = [[Paragraph(esc(k), st["cell_bold"]), Paragraph(v, st["body"])] for k, v in pairs]
    t = Table(data, colWidths=[label_width * lay.FRAME_WIDTH, (1 - label_width) * lay.FRAME_WIDTH],
              hAlign="LEFT")
    t.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, lay.RULE),
    ]))
    return t


def key_figures(items: Sequence[tuple[str, str, bool]], columns: int = 4) -> Table:
    """Boxes of (value, label, emphasised); emphasised boxes get the HIGHLIGHT tint."""
    st = lay.styles()
    cells = [[Paragraph(esc(value), st["figure"]), Paragraph(esc(label), st["figure_label"])]
             for value, label, _ in items]
    n_rows = math.ceil(len(cells) / columns) if cells else 0
    grid: list[list[Any]] = []
    for r in range(n_rows):
        row = cells[r * columns:(r + 1) * columns]
        grid.append(row + [""] * (columns - len(row)))
    width = lay.FRAME_WIDTH / columns
    t = Table(grid, colWidths=[width] * columns, hAlign="LEFT")
    style = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 6),
             ("TOPPADDING", (0, 0), (-1, -1), 5), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]
    for i, (_, _, emphasised) in enumerate(items):
        r, c = divmod(i, columns)
        style.append(("BOX", (c, r), (c, r), 0.5, lay.RULE))
        if emphasised:
            style.append(("BACKGROUND", (c, r), (c, r), lay.HIGHLIGHT_ROW))
    t.setStyle(TableStyle(style))
    return t


def boxed(flowables: list[Flowable], fill: colors.Color | None = None) -> Table:
    """Flowables in a light box (reflection prompts, notes)."""
    t = Table([[flowables]], colWidths=[lay.FRAME_WIDTH], hAlign="LEFT")
    style = [("BOX", (0, 0), (-1, -1), 0.5, lay.RULE), ("LEFTPADDING", (0, 0), (-1, -1), 8),
             ("RIGHTPADDING", (0, 0), (-1, -1), 8), ("TOPPADDING", (0, 0), (-1, -1), 5),
             ("BOTTOMPADDING", (0, 0), (-1, -1), 5)]
    if fill is not None:
        style.append(("BACKGROUND", (0, 0), (-1, -1), fill))
    t.setStyle(TableStyle(style))
    return t
