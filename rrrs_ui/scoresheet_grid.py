"""Widgets of the scoresheet page: the segment-by-code grid, the ratings with their anchor text and the codebook
at hand (its problem tables are `rrrs_ui.tables`). Everything reads the codebook; no code list is written down
here.

Widget keys start with `PREFIX`; `reset()` drops them so a freshly opened (or reloaded) coding shows its own
values instead of edits left over from the previous one.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import streamlit as st

from rrrs_core import codebook as cb
from rrrs_core import palette
from rrrs_core.coding_edit import SIGNS, CodingDraft

PREFIX = "sc_w_"
SIGN_OPTIONS = ["", SIGNS["check"], SIGNS["check_minus"]]
FAMILY_TITLES = {"withdrawal": "Withdrawal markers", "confrontation": "Confrontation markers",
                 "resolution": "Resolution strategies"}
NOT_RATED = "Not rated yet"
CODE_WIDTH = 340  # px: the longest code label ("Invites thoughts/feelings about therapist or therapy") in full
# px per segment column: its minutes label ("10-15", "45-50") plus the editable-column icon Streamlit draws
# before it; at 58 px the header read "10-1…". Wider sessions scroll sideways under the pinned code column.
SEG_WIDTH = 68


def reset() -> None:
    """Forget every scoresheet widget's state (call before the widgets are drawn in this run)."""
    for key in [k for k in st.session_state if str(k).startswith(PREFIX)]:
        del st.session_state[key]


def family_title(family: str, suffix: str = "") -> None:
    colour = palette.FAMILY_COLOURS[family]
    st.markdown(f"<span style='color:{colour};font-size:1.2em'>■</span> **{FAMILY_TITLES[family]}**{suffix}",
                unsafe_allow_html=True)


def code_help(code: cb.Code) -> str:
    return f"**{code.label}**: {code.definition}\n\n✓- (unclear): {code.check_minus}"


def seg_col(segment: int) -> str:
    return f"s{segment}"


def grid_frame(draft: CodingDraft, family: str) -> pd.DataFrame:
    """The family's codes as rows (full labels), segments as columns labelled by minutes; cells None, ✓ or ✓-."""
    codes = draft.book.family(family)
    data: dict[str, list] = {"code": [c.label for c in codes]}
    for seg in range(1, int(draft.n_segments) + 1):
        data[seg_col(seg)] = [SIGNS.get(draft.marks.get((seg, c.key), ""), None) for c in codes]
    return pd.DataFrame(data, dtype="object")


def mark_grid(draft: CodingDraft) -> tuple[dict[tuple[int, str], str], dict[int, str]]:
    """One editor per family (codes as rows, segments as columns) plus one for segment notes; returns the
    marks and notes as edited."""
    book = draft.book
    marks: dict[tuple[int, str], str] = {}
    n = int(draft.n_segments)
    for family in cb.FAMILIES:
        codes = book.family(family)
        n_marked = sum(1 for (_, c) in draft.marks if book.code(c).family == family)
        family_title(family, f" · {n_marked} mark{'s' if n_marked != 1 else ''} when opened" if n_marked else "")
        config = {"code": st.column_config.TextColumn("Code", disabled=True, pinned=True, width=CODE_WIDTH)}
        config.update({seg_col(s): st.column_config.SelectboxColumn(
            draft.segment_label(s), options=SIGN_OPTIONS, width=SEG_WIDTH,
            help=f"Segment {s}: minutes {draft.segment_label(s)}") for s in range(1, n + 1)})
        edited = st.data_editor(grid_frame(draft, family), key=f"{PREFIX}grid_{family}", hide_index=True,
                                column_config=config, num_rows="fixed", width="stretch", placeholder="")
        for code, row in zip(codes, edited.itertuples(index=False), strict=True):
            for seg in range(1, n + 1):
                clarity = cb.CLARITY_ALIASES.get(str(getattr(row, seg_col(seg)) or "").strip())
                if clarity:
                    marks[(seg, code.key)] = clarity
    minutes = st.column_config.TextColumn("Minutes", disabled=True, pinned=True, width=70)
    st.markdown("**Segment notes** · a time stamp or short quote to find the moment on the video")
    segs = range(1, int(draft.n_segments) + 1)
    notes_in = pd.DataFrame({"minutes": [draft.segment_label(s) for s in segs],
                             "note": [draft.segment_notes.get(s, "") for s in segs]}, dtype="object")
    notes_out = st.data_editor(notes_in, key=f"{PREFIX}notes", hide_index=True, num_rows="fixed", width="stretch",
                               placeholder="",
                               column_config={"minutes": minutes, "note": st.column_config.TextColumn(
                                   "Note", max_chars=300, help="e.g. 12:40 'you never listen'")})
    notes = {seg: str(text).strip() for seg, text in zip(segs, notes_out["note"], strict=True)
             if text is not None and not pd.isna(text) and str(text).strip()}
    return marks, notes


def _anchor_format(scale: cb.Scale):
    """"4 · Moderate": the value and its short name, which a drop-down shows whole even at 1024 px (the full
    anchor sentence was cut mid-word); the full anchors are printed beside the drop-downs."""
    return lambda v: NOT_RATED if v is None else f"{v} · {scale.name(v)}"


def anchors_caption(scale: cb.Scale) -> str:
    return " · ".join(f"**{v}** {scale.anchor(v)}" for v in range(1, 6))


def ratings_inputs(draft: CodingDraft, marks: dict[tuple[int, str], str]) -> dict[str, int]:
    """Significance of each code and the four global items, each showing the manual's anchor text for the
    chosen value. A code never marked defaults to 1; a code marked but not yet rated shows 'not rated' (read as
    1, and the consistency check says so). Returns the ratings to store: a code's significance once it is
    marked, rated above 1, or was stored before; global items once chosen."""
    book = draft.book
    counts = Counter(code for (_, code) in marks)
    opened = {code for (_, code) in draft.marks}
    ratings: dict[str, int] = {}
    st.markdown("**Significance of each code** · rate significance, not frequency; a code never marked is 1")
    st.caption(anchors_caption(book.significance))
    for family, col in zip(cb.FAMILIES, st.columns(len(cb.FAMILIES)), strict=True):
        with col:
            family_title(family)
            for code in book.family(family):
                n = counts.get(code.key, 0)
                label = code.label + (f" · marked in {n} segment{'s' if n != 1 else ''}" if n else "")
                stored = draft.ratings.get(code.key)
                index = int(stored) - 1 if stored is not None else (None if code.key in opened else 0)
                value = st.selectbox(label, [1, 2, 3, 4, 5], index=index, placeholder=f"{NOT_RATED} (read as 1)",
                                     format_func=_anchor_format(book.significance), key=f"{PREFIX}sig_{code.key}",
                                     help=code_help(code))
                if value is not None and (n or value != 1 or code.key in draft.ratings):
                    ratings[code.key] = int(value)
    st.markdown("**Global ratings** · made after watching the whole session")
    for item, col in zip(book.global_items, st.columns(len(book.global_items)), strict=True):
        with col:
            stored = draft.ratings.get(item.key)
            value = st.selectbox(item.label, [1, 2, 3, 4, 5], index=None if stored is None else int(stored) - 1,
                                 placeholder=NOT_RATED, format_func=_anchor_format(item.scale),
                                 key=f"{PREFIX}glob_{item.key}", help=item.help)
            st.caption(item.scale.anchor(value) if value is not None else f"{NOT_RATED}. {item.help}")
            if value is not None:
                ratings[item.key] = int(value)
    return ratings


def codebook_panel(book: cb.Codebook) -> None:
    """The codebook beside the grid: each code's definition and when to use ✓-, and the rating anchors."""
    st.sidebar.markdown(f"### Codebook\n{book.title}")
    st.sidebar.caption("✓ meets criteria · ✓- unclear whether it meets criteria · blank: not seen")
    for family in cb.FAMILIES:
        with st.sidebar.expander(FAMILY_TITLES[family]):
            for code in book.family(family):
                st.markdown(f"**{code.label}**: {code.definition}  \n*✓- when:* {code.check_minus}")
    with st.sidebar.expander("Rating anchors"):
        for name, scale in [("Significance (each code, overall withdrawal/confrontation)", book.significance)] + [
                (g.label, g.scale) for g in book.global_items if g.scale is not book.significance]:
            st.markdown(f"**{name}**  \n" + "  \n".join(f"{v}: {scale.anchor(v)}" for v in range(1, 6)))
