"""Streamlit glue for the line beside the figures: who coded what a page shows, and how far to trust them
(`rrrs_core.reliability.coder_line`). Coder ids and agreement statistics only, so every role that may open
the page sees it."""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from rrrs_core.reliability import coder_line
from rrrs_ui.glue import query
from rrrs_ui.text import md


def _warn(text: str) -> str:
    return f":orange[**{text}**]"


def show_coder_reliability(coder_ids: Iterable[str], *, what: str = "the sessions shown") -> None:
    """One line per coder (in the order given, repeats dropped). Cached per coder, not per set of coders: a
    clinic has a handful of coders, so after a few dyads every line is warm."""
    ids = list(dict.fromkeys(str(c) for c in coder_ids))
    if not ids:
        return
    found = [query(coder_line.coder_line, c) for c in ids]
    lines = [f.text(esc=md, warn=_warn) for f in found]
    label = f"**Coder reliability** ({what}):"
    if len(lines) == 1:
        st.markdown(f"{label} {lines[0]}", help=coder_line.RULE)
        return
    # Several coders: a one-line summary that stays out of the way of the dyad's own figures, the lines on
    # demand (open at once when a coder's figures should not be trusted yet).
    doubtful = [f.coder_id for f in found if not f.calibrated or f.icc is None]
    summary = (f"Coder reliability: {len(found)} coders; " + (
        f"not yet trusted: {', '.join(doubtful)}" if doubtful else "all calibrated, ICC available"))
    with st.expander(f":orange[{md(summary)}]" if doubtful else md(summary), expanded=False):
        st.markdown(f"({md(what)})\n" + "\n".join(f"- {line}" for line in lines), help=coder_line.RULE)
