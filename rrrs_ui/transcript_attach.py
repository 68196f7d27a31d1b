"""Session page: attach a transcript (.vtt, .srt, .csv) and, for an admin, delete it.

Shown to the roles that may attach (`rules.ATTACHERS`: the session's therapist, their supervisor, an admin;
the page itself is already scoped); the write functions in `rrrs_core.transcripts` check role and scope again,
so the hidden widget is never the only guard. A file that cannot be read shows each problem with its file, line, column and value; nothing is
stored then. Deleting asks for a confirmation first.
"""

from __future__ import annotations

import streamlit as st

from rrrs_core import transcripts
from rrrs_core.errors import PermissionDeniedError, ValidationError
from rrrs_core.queries import transcript as tq
from rrrs_core.transcripts import rules
from rrrs_ui import auth, glue
from rrrs_ui import widgets as w
from rrrs_ui.text import md

UPLOAD = "tx_upload"
_FLASH = "_tx_flash"
MAX_SHOWN = 10  # problems listed; the rest counted


def show_problems(exc: ValidationError) -> None:
    shown = [f"- {md(p)}" for p in exc.problems[:MAX_SHOWN]]
    more = len(exc.problems) - len(shown)
    tail = f"\n\n...and {more} more." if more > 0 else ""
    st.error("The transcript was not attached (nothing was stored):\n\n" + "\n".join(shown) + tail)


def _attach(dyad_id: str, number: int, upload: object, mapping: str) -> None:
    who = auth.principal()
    try:
        speaker_map = tq.speaker_map(mapping)
        turns = transcripts.parse(upload.getvalue(), upload.name, speaker_map)  # type: ignore[attr-defined]
        transcripts.attach(glue.connection(), who, dyad_id, number, turns, source=upload.name,  # type: ignore[attr-defined]
                           synthetic_only=auth.synthetic_only())
    except ValidationError as exc:
        show_problems(exc)
        return
    except PermissionDeniedError as exc:
        st.error(md(exc))
        return
    glue.data_changed()
    w.clear_uploader(UPLOAD)
    timed = "aligned to the segments" if turns and turns[0].start is not None else "without times (not aligned)"
    st.session_state[_FLASH] = f"Attached {len(turns)} turns from {md(upload.name)}, {timed}."  # type: ignore[attr-defined]
    st.rerun()


def attach_panel(dyad_id: str, number: int, has_text: bool) -> None:
    """The attach form (those who may attach) and the delete button (admins)."""
    who = auth.principal()
    if who.role not in rules.ATTACHERS:
        return
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.success(flash)
    label = "Replace the transcript" if has_text else "Attach a transcript"
    with st.expander(label, expanded=False):
        if auth.synthetic_only():  # the core refuses too (`transcripts.attach`)
            st.info(rules.DEMO_NO_TRANSCRIPTS)
        else:
            _attach_form(dyad_id, number)
    if has_text and who.role == "admin":
        delete_panel(dyad_id, number)


def _attach_form(dyad_id: str, number: int) -> None:
    st.caption("WebVTT (.vtt), SubRip (.srt) or CSV with columns `start, end, speaker, text` (times in seconds "
               "or [hh:]mm:ss) or `turn, speaker, text` without times. Speakers T, P, Therapist, Patient and "
               "Client map by themselves; map other names below. Attaching replaces any earlier transcript "
               "of this session.")
    upload = w.uploader(UPLOAD, "Transcript file", type=["vtt", "srt", "csv"])
    mapping = st.text_input("Speaker names (optional)", key="tx_speakers", placeholder="Anna=therapist, Ben=patient",
                            help="Comma-separated NAME=therapist, patient or other.")
    if st.button("Attach", disabled=upload is None, type="primary"):
        _attach(dyad_id, number, upload, mapping)


def delete_panel(dyad_id: str, number: int) -> None:
    with st.expander("Delete the transcript"):
        st.caption("Deleting removes the transcript's text from the database for good; the deletion is audited.")
        sure = st.checkbox(f"Yes, delete the transcript of session {number} of dyad {md(dyad_id)}",
                           key="tx_delete_sure")
        if st.button("Delete transcript", disabled=not sure):
            transcripts.delete(glue.connection(), auth.principal(), dyad_id, number)
            glue.data_changed()
            st.session_state.pop("tx_delete_sure", None)
            st.session_state[_FLASH] = f"The transcript of session {number} was deleted."
            st.rerun()

