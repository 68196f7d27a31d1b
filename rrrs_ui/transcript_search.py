"""Dyad page: search one dyad's transcripts; each result links to the session page at that turn's minutes.

The search itself (`rrrs_core.transcripts.search`) is scoped and audited; it runs when the user submits
the form, and its result is kept for this browser session, dyad, words and data version, so reruns for other
widgets do not search (and audit) again.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit import column_config as CC

from rrrs_core import transcripts
from rrrs_core.queries import transcript as tq
from rrrs_ui import auth, glue, tables
from rrrs_ui.links import carried_params, page_url

_HELD = "_tx_search"
MAX_ROWS = 200  # shown; a search that finds more asks for more specific words


def results_table(dyad_id: str, found: pd.DataFrame) -> pd.DataFrame:
    """Display form: a link to the session page (at the turn's time when the transcript is timed)."""
    links = [page_url("session", dyad=dyad_id, session=int(r.session_number),
                      at=None if pd.isna(r.start) else int(r.start), **carried_params())
             for r in found.itertuples()]
    return pd.DataFrame({"Session": links, "Time": [tq.clock(s) for s in found.start],
                         "Speaker": found.speaker.str.capitalize(), "Text": found.text})


def search_panel(dyad_id: str) -> None:
    """Nothing when none of the dyad's sessions has a transcript."""
    n = glue.query(tq.dyad_transcripts, auth.scope(), dyad_id)
    if not n:
        return
    st.subheader("Search the transcripts")
    with st.form("tx_search_form", border=False):
        words = st.text_input(f"Words to find in this dyad's {n} transcript{'s' if n != 1 else ''}",
                              key="tx_search_words", placeholder="e.g. pointless")
        st.form_submit_button("Search", icon=":material/search:")
    words = (words or "").strip()
    if not words:
        return
    key = (auth.principal().subject, dyad_id, words, glue.data_version())
    held = st.session_state.get(_HELD)
    if held is None or held[0] != key:
        held = (key, transcripts.search(glue.connection(), auth.principal(), dyad_id, words))
        st.session_state[_HELD] = held
    found = held[1]
    if found.empty:
        st.markdown("No turn of this dyad's transcripts contains these words.")
        return
    shown = found.head(MAX_ROWS)
    more = f" (the first {MAX_ROWS} shown: add words to narrow it)" if len(found) > MAX_ROWS else ""
    st.caption(f"{len(found)} turn{'s' if len(found) != 1 else ''} found{more}. Open a session at that "
               "turn's minutes from the first column.")
    st.dataframe(results_table(dyad_id, shown), hide_index=True, height=tables.rows_height(len(shown)),
                 column_config={"Session": CC.LinkColumn("Session", display_text=r"session=(\d+)", width=80),
                                "Time": CC.TextColumn("Time", width=70),
                                "Speaker": CC.TextColumn("Speaker", width=90),
                                "Text": CC.TextColumn("Text", width="large")})
