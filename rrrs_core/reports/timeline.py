"""A session's segment timeline drawn as ReportLab vector graphics, in the look of `charts.session`.

Same encoding as the app's `timeline_chart`: one row per code that occurs (codebook order), x = minutes,
check marks filled in the family colour, check-minus marks in the family's LIGHT tint with a dashed
outline, and a top "Rupture episodes" row (solid: the rupture segments, faint: the window in which a
strategy still counts; green when addressed, grey when not, light grey when the session ended within
the window).

Why not render `charts.session.timeline_chart` with vl-convert: each Vega render costs 0.15-0.25 s,
and a 30-session dyad has 7-16 flagged sessions, which alone would take 2-4 s. Drawing natively takes
milliseconds, prints as crisp vectors and keeps the dyad report near one second.
"""

from __future__ import annotations

from collections.abc import Sequence

from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from rrrs_core import codebook as cb
from rrrs_core.charts.session import EPISODE_ROW
from rrrs_core.episodes import EPISODE_WINDOW, Episode, Mark
from rrrs_core.palette import FAMILY_COLOURS, LIGHT, NEUTRAL, SESSION_END
from rrrs_core.reports import layout as lay
from rrrs_core.reports.sketch import Sketch

ROW = 12.0          # points per row
BAR = 8.5           # bar height within a row
LABEL_WIDTH = 165.0
FONT_SIZE = 7.0
GRID = colors.HexColor("#E0E0E0")


def _fit(text: str, width: float, font: str = lay.FONT, size: float = FONT_SIZE) -> str:
    """`text` shortened with an ellipsis to fit `width` points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "\u2026", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "\u2026"


def _tick_step(n_segments: int) -> int:
    """Label every segment boundary, or every other one on long sessions."""
    return 1 if n_segments <= 14 else 2


def timeline(marks: Sequence[Mark], n_segments: int, segment_minutes: int = 5,
             episodes: Sequence[Episode] = (), width: float = lay.FRAME_WIDTH,
             book: cb.Codebook = cb.DEFAULT) -> Sketch:
    """The drawing for one coding's marks (episodes.Mark tuples) and its episodes."""
    lay.register_fonts()
    order = sorted({m.code for m in marks}, key=lambda k: book.keys.index(k) if book.has_code(k) else 999)
    labels = {m.code: m.label or m.code for m in marks}
    rows = ([EPISODE_ROW] if episodes else []) + [labels[k] for k in order]
    n_rows = max(len(rows), 1)
    legend_h, axis_h = 24.0, 24.0
    height = axis_h + n_rows * ROW + 4 + legend_h
    d = Sketch(width, height)
    x0, x1 = LABEL_WIDTH + 6, width - 6
    end = max(n_segments, 1) * segment_minutes
    top = height - 2

    def x(minute: float) -> float:
        return x0 + (x1 - x0) * minute / end

    def row_y(i: int) -> float:  # bottom of row i (0 = top row)
        return top - (i + 1) * ROW

    plot_bottom = row_y(n_rows - 1)
    for seg in range(n_segments + 1):
        minute = seg * segment_minutes
        d.rule(x(minute), plot_bottom, x(minute), top, GRID, 0.5)
        if seg % _tick_step(n_segments) == 0 or seg == n_segments:
            d.label(x(minute), plot_bottom - 9, str(minute), lay.FONT, FONT_SIZE, anchor="middle")
    d.label((x0 + x1) / 2, plot_bottom - 19, "Minutes into the session", lay.FONT, FONT_SIZE, lay.MUTED,
            anchor="middle")
    if not rows:
        d.label(x0 + 4, row_y(0) + 3, "No marks in this coding", lay.FONT_ITALIC, FONT_SIZE, lay.MUTED)

    for i, label in enumerate(rows):
        y = row_y(i)
        bold = label == EPISODE_ROW
        font = lay.FONT_BOLD if bold else lay.FONT
        d.label(LABEL_WIDTH, y + 3, _fit(label, LABEL_WIDTH - 8, font), font, FONT_SIZE, anchor="end")
    index = {label: i for i, label in enumerate(rows)}
    pad = (ROW - BAR) / 2
    for m in marks:
        y = row_y(index[labels[m.code]]) + pad
        x_a, x_b = x((m.segment - 1) * segment_minutes) + 0.6, x(m.segment * segment_minutes) - 0.6
        colour = colors.HexColor(FAMILY_COLOURS.get(m.family, NEUTRAL))
        if m.clarity == "check_minus":
            d.box(x_a, y, x_b - x_a, BAR, fill=colors.HexColor(LIGHT.get(m.family, "#DDDDDD")), stroke=colour,
                  stroke_width=0.8, dash=[2, 1.5])
        else:
            d.box(x_a, y, x_b - x_a, BAR, fill=colour)
    for n, e in enumerate(episodes, start=1):
        y = row_y(0) + pad
        colour = FAMILY_COLOURS["resolution"] if e.addressed else SESSION_END if e.window_cut else NEUTRAL
        start = x((e.first_segment - 1) * e.segment_minutes) + 0.6
        window_end = x(e.window_end * e.segment_minutes) - 0.6
        rupture_end = x(e.last_segment * e.segment_minutes) - 0.6
        d.box(start, y, window_end - start, BAR, fill=lay.tint(colour, 0.3))
        d.box(start, y, rupture_end - start, BAR, fill=colors.HexColor(colour))
        if rupture_end - start >= 8:
            d.label((start + rupture_end) / 2, y + 2, str(n), lay.FONT_BOLD, 6.5, colors.white, anchor="middle")
    _legend(d, 0, 4, bool(episodes), EPISODE_WINDOW * segment_minutes)
    return d


def _swatch(d: Sketch, x: float, y: float, fill: str, stroke: str | None, dashed: bool,
            label: str = "") -> float:
    stroke_colour = colors.HexColor(stroke) if stroke else None
    d.box(x, y, 10, 7, fill=colors.HexColor(fill), stroke=stroke_colour, stroke_width=0.8,
          dash=[2, 1.5] if dashed else None)
    if not label:
        return x + 12
    d.label(x + 13, y + 1, label, lay.FONT, 6.5, lay.MUTED)
    return x + 13 + stringWidth(label, lay.FONT, 6.5) + 10


def _legend(d: Sketch, x: float, y: float, with_episodes: bool, window_minutes: int) -> None:
    top = y + 11
    for fam in cb.FAMILIES:
        x = _swatch(d, x, top, FAMILY_COLOURS[fam], None, False, fam.capitalize())
    for fam in cb.FAMILIES:
        x = _swatch(d, x, top, LIGHT[fam], FAMILY_COLOURS[fam], True)
    d.label(x + 1, top + 1, "light, dashed: check-minus (unclear)", lay.FONT, 6.5, lay.MUTED)
    if with_episodes:
        x = 0.0
        x = _swatch(d, x, y, FAMILY_COLOURS["resolution"], None, False, "Episode addressed")
        x = _swatch(d, x, y, NEUTRAL, None, False, "unaddressed")
        x = _swatch(d, x, y, SESSION_END, None, False, "unaddressed in session (ended within the window)")
        d.label(x, y + 1, f"Faint: the {window_minutes} min after the rupture in which a strategy counts",
                lay.FONT, 6.5, lay.MUTED)
