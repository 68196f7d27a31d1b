"""Supervision notes widget: lists the notes on a dyad (or one of its sessions) and adds one.

    notes_panel("D1")                # every note on the dyad, including per-session ones
    notes_panel("D1", 3, author=me)  # the notes on session 3; new notes attach to session 3

Reading and adding go through the signed-in principal's permit (the core refuses a dyad outside it), and
every note added is audited.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rrrs_core import notes
from rrrs_core.errors import RrrsError
from rrrs_ui import auth, glue
from rrrs_ui.permit import permit as current_permit
from rrrs_ui.text import md


def _when(value: object) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M") if value is not None and not pd.isna(value) else ""


def notes_panel(dyad_id: str, session_number: int | None = None, author: str = "demo user") -> None:
    """Notes newest first, then a small form to add one (stored with `author` and the time)."""
    scope = f"session {session_number}" if session_number is not None else f"dyad {md(dyad_id)}"
    permit = current_permit()
    glue.query(notes.for_dyad, dyad_id, session_number, permit=permit)  # NotFoundError before any form is drawn
    listing = st.container()
    suffix = f"{dyad_id}_{session_number if session_number is not None else 'all'}"
    with st.form(key=f"notes_form_{suffix}", clear_on_submit=True):
        body = st.text_area(f"Add a note on {scope}", max_chars=notes.MAX_LENGTH, key=f"notes_body_{suffix}",
                            placeholder="What to take to supervision, what to watch for next session…")
        submitted = st.form_submit_button("Add note")
    if submitted:
        try:
            note_id = notes.add(glue.connection(), dyad_id, author, body, session_number=session_number,
                                permit=permit)
        except RrrsError as exc:
            st.error(md(exc))
        else:
            auth.audit_now("add note", dyad_id if session_number is None else f"{dyad_id}/{session_number}",
                           f"note {note_id}")
            glue.data_changed()
            st.success(f"Note added by {md(author)}.")
    with listing:
        shown = glue.query(notes.for_dyad, dyad_id, session_number, permit=permit)
        if shown.empty:
            st.caption(f"No supervision notes on {scope} yet.")
            return
        st.caption(f"{len(shown)} note{'s' if len(shown) != 1 else ''} on {scope}, newest first")
        for note in shown.itertuples(index=False):
            where = "" if session_number is not None or pd.isna(note.session_number) else \
                f" · session {int(note.session_number)}"
            with st.container(border=True):
                st.text(note.body)  # a note is plain text, never Markdown (`rrrs_ui.text`)
                st.caption(f"{md(note.author)} · {_when(note.created_at)}{where}")
