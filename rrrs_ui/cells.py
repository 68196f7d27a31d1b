"""Long cells made readable: lists shown as one label per item, long text wrapped over lines.

Streamlit cuts a cell's content at the column's edge and has one row height per table, so these helpers
size the column for the content the 3RS produces (flag names, marker labels of up to 40 characters) and
pick a row height that wraps the fullest cell, or fit a list into the lines available and say how many
items did not fit ("+2 more") instead of cutting a label in half.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rrrs_core import codebook as cb
from rrrs_core import palette
from rrrs_core.queries.caseload import FLAGS

CC = st.column_config

# Sizes of Streamlit's table (14 px Source Sans), measured in Chromium; a little generous, so an estimate
# never promises more than fits.
CHAR_PX = 6.2       # average width of a character
LABEL_PAD_PX = 22   # a list item's label: padding around its text plus the gap to the next label
CELL_PAD_PX = 17    # padding inside a cell
LINE_PX = {"text": 21, "list": 28}  # one line of wrapped text / of labels
WRAP_MIN_PX = 66    # Streamlit wraps a cell only in rows taller than 4rem (64 px)
HEADER_PX = 35


def _lines(pieces: list[float], width: float) -> int:
    """Lines that pieces of these widths fill when packed in order into lines `width` px wide."""
    lines, used = 1, 0.0
    for piece in pieces:
        if used and used + piece > width:
            lines, used = lines + 1, 0.0
        used += piece
    return lines


def _label_lines(labels: list[str], width: int) -> int:
    return _lines([len(label) * CHAR_PX + LABEL_PAD_PX for label in labels], width - CELL_PAD_PX)


def _cell_height(value: object, width: int) -> int:
    if isinstance(value, list | tuple):
        return _label_lines(list(value), width) * LINE_PX["list"]
    return _lines([(len(w) + 1) * CHAR_PX for w in str(value).split()], width - CELL_PAD_PX) * LINE_PX["text"]


def row_height(frame: pd.DataFrame, widths: dict[str, int], max_px: int = 140) -> int | None:
    """A row height that shows the fullest cell of the `widths` columns whole (text wrapped over lines, list
    items over lines of labels), at most `max_px`; None, the one-line default, when every cell fits a line."""
    tallest = max((_cell_height(v, px) for col, px in widths.items() for v in frame[col]), default=0)
    if tallest <= LINE_PX["list"]:
        return None
    return min(max(WRAP_MIN_PX, tallest + 10), max_px)


def height(n_rows: int, row_px: int | None, max_rows: int = 10) -> int | str:
    """Table height showing up to `max_rows` rows: Streamlit's automatic height assumes one-line rows."""
    return "auto" if row_px is None else HEADER_PX + row_px * min(n_rows, max_rows) + 3


def fit(labels: list[str], width: int, max_lines: int) -> list[str]:
    """The labels that fit in `max_lines` lines of a cell `width` px wide, the rest counted as '+n more'."""
    if _label_lines(labels, width) <= max_lines:
        return labels
    for k in range(len(labels) - 1, 0, -1):
        shown = [*labels[:k], f"+{len(labels) - k} more"]
        if _label_lines(shown, width) <= max_lines:
            return shown
    return [f"+{len(labels)} more"]


# --- caseload: concern flags ------------------------------------------------------------------------------

FLAG_LABELS = [f.label for f in FLAGS]
FLAGS_PX = 500  # any two flags and a '+n more' on one line (three of the coded ones); the lightest are counted
_MORE = [f"+{n} more" for n in range(1, len(FLAGS) + 1)]


def flag_lists(caseload: pd.DataFrame) -> pd.Series:
    """Each dyad's concern flags as a list, heaviest first (from the caseload's boolean flag columns)."""
    on = caseload[[f.key for f in FLAGS]].fillna(False).to_numpy(dtype=bool)
    return pd.Series([fit([label for label, flagged in zip(FLAG_LABELS, row, strict=True) if flagged], FLAGS_PX, 1)
                      for row in on], index=caseload.index, dtype="object")


def flags_column() -> object:
    """One grey label per flag, darker the heavier the flag."""
    heaviest = max(f.weight for f in FLAGS)
    return CC.MultiselectColumn(
        "Concern flags", options=FLAG_LABELS + _MORE, width=FLAGS_PX,
        color=[palette.tint(palette.NEUTRAL, 0.15 + 0.3 * f.weight / heaviest) for f in FLAGS]
        + [palette.tint(palette.NEUTRAL, 0.1)] * len(_MORE),
        help="; ".join(f"{f.label} (weight {f.weight})" for f in FLAGS) + ". Definitions below the table.")


# --- contribution page: rupture markers -------------------------------------------------------------------

MARKER_SEPARATOR = "; "  # how `queries.contribution.high_contribution_sessions` joins `rupture_codes`
MARKERS_PX = 540         # two lines of labels hold every marker of nine listed sessions in ten
MARKER_LINES = 2
CONTRIBUTION_MARKERS_PX = 320  # what is left of the contribution table's ~930 px at 1400 once the other
                               # columns (severity, ratings, links) are in view


def _segments(marker: str) -> int:
    _, sep, n = marker.rpartition(" ×")
    return int(n) if sep and n.isdigit() else 1


def marker_lists(text: pd.Series, width: int = MARKERS_PX, max_lines: int = MARKER_LINES) -> pd.Series:
    """'Denial; Minimal response ×3' -> ['Minimal response ×3', 'Denial']: one label per marker, most-marked
    first (ties in codebook order), so what does not fit in `max_lines` is the least marked ('+n more')."""
    return text.fillna("").map(lambda s: fit(
        sorted((m for m in s.split(MARKER_SEPARATOR) if m), key=_segments, reverse=True), width, max_lines))


def markers_column(lists: pd.Series, label: str = "Rupture markers", width: int = MARKERS_PX) -> object:
    """Markers as labels in their family's colour (withdrawal blue, confrontation vermillion), as on the
    charts."""
    family = {c.label: c.family for c in cb.DEFAULT.codes}
    options = sorted({m for items in lists for m in items})
    colours = [palette.tint(palette.FAMILY_COLOURS.get(family.get(m.split(" ×")[0], ""), palette.NEUTRAL), 0.22)
               for m in options]
    return CC.MultiselectColumn(label, options=options, color=colours or None, width=width,
                                help="Withdrawal (blue) and confrontation (vermillion) markers marked check, "
                                     "most-marked first. ×n: marked in n segments; +n more: open the session "
                                     "for the rest.")


# --- session page: rupture-to-resolution episodes ---------------------------------------------------------

EPISODE_WIDTHS = {"Rupture markers": 215, "Strategies within window": 215, "Unclear strategies": 160}


def show_episodes(table: pd.DataFrame) -> None:
    """The session's rupture episodes (`episodes.episodes_table`) with every marker and strategy readable:
    long cells wrap instead of running off the table."""
    row_px = row_height(table, EPISODE_WIDTHS)
    st.dataframe(table, hide_index=True, width="stretch", placeholder="", row_height=row_px,
                 height=height(len(table), row_px),
                 column_order=["Episode", "Minutes", "Window", "Status", *EPISODE_WIDTHS],
                 column_config={
                     "Episode": CC.NumberColumn("#", format="%d", width=40),
                     "Minutes": CC.TextColumn("Minutes", width=80, help="Where the rupture segments are"),
                     "Window": CC.TextColumn("Window", width=80,
                                             help="The rupture segments and the segments searched for a repair"),
                     "Status": CC.TextColumn(
                         "Status", width=145, help="addressed; unaddressed; unaddressed in session: the session "
                         "ended within the window, before a repair could be coded"),
                     "Rupture markers": CC.TextColumn("Rupture markers", width=EPISODE_WIDTHS["Rupture markers"]),
                     "Strategies within window": CC.TextColumn(
                         "Strategies within window", width=EPISODE_WIDTHS["Strategies within window"],
                         help="Resolution strategies marked check in the window, with their minutes"),
                     "Unclear strategies": CC.TextColumn(
                         "Unclear strategies", width=EPISODE_WIDTHS["Unclear strategies"],
                         help="Strategies marked check-minus in the window: listed, not counted"),
                 })
