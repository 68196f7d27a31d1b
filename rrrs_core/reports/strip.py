"""A dyad's segment strip as vector graphics (`sketch.Sketch`) in the look of `charts.dyad.segment_strip_chart`.

Same encoding as the dyad page's strip: a row per session (labelled as on the page, "Session 4 - TC 5",
"Session 2 - pending"), three lanes per row (withdrawal, confrontation, resolution), x = minutes into the
session, each cell in its family colour when a code of that family meets criteria (check), the family's
LIGHT tint when only unclear ones do (check-minus), pale grey when nothing of the family is marked, and
sessions at or above the contribution threshold framed in HIGHLIGHT.

Why not render `segment_strip_chart` with vl-convert, as the PDF does the other dyad charts: the strip has
hundreds of cells, and its Vega render was the slowest step of the dyad report (0.3-0.5 s per 15 sessions,
two charts for a 30-session dyad). Drawing it natively takes milliseconds and prints as crisp vectors.
"""

from __future__ import annotations

import math

import pandas as pd
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from rrrs_core import codebook as cb
from rrrs_core.charts.dyad import NONE_COLOUR, row_labels, strip_kind
from rrrs_core.palette import FAMILY_COLOURS, HIGHLIGHT, LIGHT
from rrrs_core.reports import layout as lay
from rrrs_core.reports.sketch import Sketch

LANE = 8.0          # points per family lane
ROW_GAP = 5.0       # points between session rows
FONT_SIZE = 7.0
TITLE = "Where ruptures and resolution strategies fell"
GRID = colors.HexColor("#E0E0E0")
LEGEND_COLUMNS = 4


_FILLS = {**{(fam, "check"): colors.HexColor(c) for fam, c in FAMILY_COLOURS.items()},
          **{(fam, "check_minus"): colors.HexColor(c) for fam, c in LIGHT.items()}}
_NONE = colors.HexColor(NONE_COLOUR)


def _fill(family: str, clarity: object) -> colors.Color:
    """Family colour for check, its LIGHT tint for check-minus, pale grey for nothing marked (NaN/None)."""
    return _FILLS.get((family, clarity), _NONE)


def _tick_step(end: float) -> int:
    """Minutes between axis ticks: 5 for ordinary sessions, more for long ones (about 12 ticks at most)."""
    step = 5
    while end / step > 12:
        step *= 2
    return step


def segment_strip(strip: pd.DataFrame, traj: pd.DataFrame, threshold: int = 4,
                  width: float = lay.FRAME_WIDTH) -> Sketch:
    """The drawing for `queries.dyad.segment_strip` rows of the sessions in `traj` (one run of sessions)."""
    lay.register_fonts()
    labels = row_labels(traj)
    sessions = [int(s) for s in traj.session_number]
    lanes = list(cb.FAMILIES)
    row_h = LANE * len(lanes)
    pitch = row_h + ROW_GAP
    label_w = max([stringWidth(v, lay.FONT, FONT_SIZE) for v in labels.values()] + [40.0]) + 6
    title_h, axis_h = 30.0, 24.0
    legend_rows = math.ceil((2 * len(lanes) + 1) / LEGEND_COLUMNS)
    legend_h = 14.0 + legend_rows * 11.0
    plot_h = max(len(sessions), 1) * pitch
    height = title_h + plot_h + axis_h + legend_h
    d = Sketch(width, height)

    ends = (traj.n_segments * traj.segment_minutes).astype(float)
    end = max(float(ends.max()) if len(ends) else 0.0,
              float(strip.minute_end.max()) if len(strip) else 0.0, 1.0)
    x0, x1 = label_w + 4, width - 6
    top = height - title_h

    def x(minute: float) -> float:
        return x0 + (x1 - x0) * minute / end

    def row_top(i: int) -> float:
        return top - i * pitch

    # Title and subtitle, as in the app's chart.
    d.label(0, height - 11, TITLE, lay.FONT_BOLD, 10.5)
    subtitle = ("Each session row has three lanes: withdrawal, confrontation, resolution. "
                f"Framed: therapist contribution {threshold} or more.")
    d.label(0, height - 23, subtitle, lay.FONT, 7.5, lay.MUTED)

    # Grid and axis.
    plot_bottom = top - plot_h + ROW_GAP
    step = _tick_step(end)
    for minute in range(0, int(end) + 1, step):
        d.rule(x(minute), plot_bottom - 2, x(minute), top, GRID, 0.5)
        d.label(x(minute), plot_bottom - 10, str(minute), lay.FONT, FONT_SIZE, anchor="middle")
    d.label((x0 + x1) / 2, plot_bottom - 20, "Minutes into the session", lay.FONT_BOLD, FONT_SIZE,
            anchor="middle")

    # Cells: one per (session, segment, family); a white gap separates segments and lanes.
    index = {s: i for i, s in enumerate(sessions)}
    lane_of = {fam: k for k, fam in enumerate(lanes)}
    for s, start, stop, fam, clarity in zip(strip.session_number, strip.minute_start, strip.minute_end,
                                            strip.family, strip.clarity, strict=True):
        i = index.get(int(s))
        if i is None:
            continue
        y = row_top(i) - (lane_of[fam] + 1) * LANE
        x_a, x_b = x(start), x(stop)
        d.box(x_a + 0.4, y + 0.4, x_b - x_a - 0.8, LANE - 0.8, fill=_fill(fam, clarity))

    # Row labels and the HIGHLIGHT frame of high-contribution sessions.
    for r in traj.itertuples():
        i = index[int(r.session_number)]
        y = row_top(i) - row_h
        d.label(label_w, y + row_h / 2 - FONT_SIZE / 3, labels[int(r.session_number)], lay.FONT, FONT_SIZE,
                anchor="end")
        if r.high_contribution:
            d.box(x(0), y - 0.8, x(r.n_segments * r.segment_minutes) - x(0), row_h + 1.6,
                  stroke=colors.HexColor(HIGHLIGHT), stroke_width=2)

    _legend(d, lanes)
    return d


def _legend(d: Sketch, lanes: list[str]) -> None:
    """'Marked in segment', then the seven cell colours in columns, like the app chart's legend."""
    entries = []
    for fam in lanes:
        entries += [(strip_kind(fam, "check"), _fill(fam, "check")),
                    (strip_kind(fam, "check_minus"), _fill(fam, "check_minus"))]
    entries.append(("none", _fill(lanes[0], None)))
    rows = math.ceil(len(entries) / LEGEND_COLUMNS)
    top = rows * 11.0 + 2
    d.label(0, top + 2, "Marked in segment", lay.FONT_BOLD, FONT_SIZE)
    col_w = max(stringWidth(label, lay.FONT, FONT_SIZE) for label, _ in entries) + 24
    for n, (label, fill) in enumerate(entries):
        row, col = divmod(n, LEGEND_COLUMNS)
        x, y = col * col_w, top - (row + 1) * 11.0
        d.box(x, y, 9, 7, fill=fill)
        d.label(x + 12, y + 1, label, lay.FONT, FONT_SIZE)

