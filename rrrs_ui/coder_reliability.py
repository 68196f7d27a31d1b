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
    """One line per coder (in the order given, repeats dropped), cached per rerun and set of coders."""
    ids = tuple(dict.fromkeys(str(c) for c in coder_ids))
    if not ids:
        return
    lines = [line.text(esc=md, warn=_warn) for line in query(coder_line.coder_lines, ids)]
    label = f"**Coder reliability** ({what}):"
    if len(lines) == 1:
        st.markdown(f"{label} {lines[0]}", help=coder_line.RULE)
    else:
        st.markdown(label + "\n" + "\n".join(f"- {line}" for line in lines), help=coder_line.RULE)
