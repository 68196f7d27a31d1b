"""The scoresheet's transcript pane: the words of the segment being coded and the code suggestions for them,
each with the turn that prompted it, the manual's definition and Accept / Reject.

Accept puts a ✓ in the grid (merged into the grid's data; the coder's own edits stay) and Reject dismisses;
both are recorded (`suggest.record_decision`). Nothing is stored as a code until the coder saves the coding.
The turns and suggestions of a segment are read once per opened coding (one audited transcript view per
segment, not one per rerun) and kept in the browser session under the grid's widget prefix, so opening
another coding forgets them.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rrrs_core import transcripts
from rrrs_core.access import Principal
from rrrs_core.codebook import DEFAULT
from rrrs_core.coding_edit import CodingDraft
from rrrs_core.errors import PermissionDeniedError, RrrsError
from rrrs_core.suggest import decisions
from rrrs_core.suggest.engine import method, suggest
from rrrs_core.suggest.figures import summary
from rrrs_ui import glue
from rrrs_ui.scoresheet_grid import PREFIX
from rrrs_ui.text import md

ACCEPTED = PREFIX + "accepted"  # {(segment, code): clarity} marks accepted this opening (grid.reset clears)
SEGMENT = PREFIX + "tx_segment"
CACHE = PREFIX + "tx_cache"  # {(dyad, session, segment): (turns frame, suggestions frame)}
HONEST = ("Suggestions, not codes: a model trained only on the 3RS manual's definitions and examples offers them "
          "to help a trained coder; it does not code. Nothing is saved until you save the coding.")
FAMILY_NAMES = {"withdrawal": "withdrawal marker", "confrontation": "confrontation marker",
                "resolution": "resolution strategy"}
SPEAKER_MARK = {"therapist": "T", "patient": "P", "other": "·"}


def _clock(seconds: float | None) -> str:
    if seconds is None or pd.isna(seconds):
        return ""
    return f"{int(seconds // 60):02d}:{int(seconds % 60):02d} "


def _segment_data(draft: CodingDraft, who: Principal, segment: int, timed: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    cache = st.session_state.setdefault(CACHE, {})
    key = (draft.dyad_id, draft.session_number, segment)  # never another session's words, reset or not
    if key not in cache:
        con = glue.connection()
        if timed:
            frame = transcripts.segment_turns(con, who, draft.dyad_id, draft.session_number, segment)
        else:  # no times: every turn, for suggestions without segment alignment
            frame = transcripts.turns(con, who, draft.dyad_id, draft.session_number)
        cache[key] = (frame, suggest(transcripts.to_turns(frame)))
    return cache[key]


def _transcript(frame: pd.DataFrame, highlight: set[int]) -> None:
    if frame.empty:
        st.caption("No turns in this segment.")
        return
    lines = []
    for r in frame.itertuples(index=False):
        mark = SPEAKER_MARK.get(str(r.speaker), "·")
        text = md(r.text)
        line = f"`{r.turn}` {_clock(r.start)}**{mark}** {text}"
        lines.append(f":orange-background[{line}]" if int(r.turn) in highlight else line)
    with st.container(height=360):
        st.markdown("  \n".join(lines))


def _decide(draft: CodingDraft, who: Principal, segment: int, turn: int, code: str, accepted: bool) -> None:
    try:
        decisions.record_decision(glue.connection(), who, draft.dyad_id, draft.session_number, segment, turn, code,
                                  accepted)
    except (PermissionDeniedError, RrrsError) as exc:
        st.session_state[PREFIX + "tx_error"] = f"Not recorded: {exc}"
        return
    if accepted:
        marks = st.session_state.setdefault(ACCEPTED, {})
        marks[(segment, code)] = draft.marks.get((segment, code), "check")


def pane(draft: CodingDraft, who: Principal) -> dict[tuple[int, str], str]:
    """Draw the pane when the session has a transcript; returns the marks accepted so far this opening."""
    accepted: dict[tuple[int, str], str] = st.session_state.get(ACCEPTED, {})
    con = glue.connection()
    if who.role == "qi" or not transcripts.has_transcript(con, draft.dyad_id, draft.session_number):
        return accepted
    info = transcripts.info(con, draft.dyad_id, draft.session_number) or {}
    timed = bool(info.get("timed", True))
    n = int(draft.n_segments)
    with st.container(border=True):
        st.markdown("**Transcript and code suggestions**")
        st.caption(HONEST + " " + summary(method()))
        segment = st.selectbox("Segment being coded", list(range(1, n + 1)), key=SEGMENT,
                               format_func=lambda s: f"Segment {s} · minutes {draft.segment_label(s)}")
        if not timed:
            st.caption("This transcript has no times, so it cannot be aligned to segments: every turn is shown, "
                       "and an accepted suggestion is marked in the segment chosen here.")
        frame, sugg = _segment_data(draft, who, int(segment), timed)
        done = decisions.decided(con, who, draft.dyad_id, draft.session_number)
        seen = {(int(r.turn), str(r.code)) for r in done.itertuples(index=False)}
        open_ = sugg[[(int(t), str(c)) not in seen for t, c in zip(sugg["turn"], sugg["code"], strict=True)]]
        open_ = open_.sort_values(["score", "turn"], ascending=[False, True], kind="stable")  # strongest first
        left, right = st.columns([1, 1])  # half each: the Accept/Reject buttons stay whole at 1024 px
        with left:
            _transcript(frame, {int(t) for t in open_["turn"]})
        with right:
            if err := st.session_state.pop(PREFIX + "tx_error", None):
                st.error(md(err))
            n_acc = int(done["accepted"].sum()) if not done.empty else 0
            st.caption(f"{len(open_)} open suggestion{'s' if len(open_) != 1 else ''} in this segment · in this "
                       f"session you accepted {n_acc} and rejected {len(done) - n_acc}.")
            _suggestions(draft, who, int(segment), frame, open_)
    return st.session_state.get(ACCEPTED, {})


def _suggestions(draft: CodingDraft, who: Principal, segment: int, frame: pd.DataFrame, open_: pd.DataFrame) -> None:
    text_of = {int(r.turn): str(r.text) for r in frame.itertuples(index=False)}
    with st.container(height=360):
        if open_.empty:
            st.caption("No open suggestions for this segment.")
        for r in open_.itertuples(index=False):
            code = DEFAULT.code(str(r.code))
            turn = int(r.turn)
            quote = text_of.get(turn, "")
            quote = quote if len(quote) <= 160 else quote[:157] + "…"
            with st.container(border=True):
                st.markdown(f"**{code.label}** · {FAMILY_NAMES[code.family]} · score {r.score:.2f}  \n"
                            f"Turn {turn} ({r.speaker}): *{md(quote)}*")
                st.caption(f"Manual: {code.definition}")
                a, b = st.columns(2)
                a.button("Accept", key=f"{PREFIX}acc_{segment}_{turn}_{code.key}", width="stretch",
                         help=f"Mark {code.label} in segment {segment} (saved only when you save the coding)",
                         on_click=_decide, args=(draft, who, segment, turn, code.key, True))
                b.button("Reject", key=f"{PREFIX}rej_{segment}_{turn}_{code.key}", width="stretch",
                         on_click=_decide, args=(draft, who, segment, turn, code.key, False))


def acceptance_section(scope) -> None:
    """Reliability page: accepted and rejected suggestions per code, so the clinic sees whether they help."""
    counts = glue.query(decisions.acceptance, scope)
    st.caption("Each coder's latest decision on each suggestion (Accept puts a mark in the grid; only a saved "
               "coding stores it). " + summary(method()))
    if counts.empty:
        st.info("No suggestions have been accepted or rejected yet. Coders see suggestions on the scoresheet "
                "for sessions with a transcript.")
        return
    total = counts.iloc[-1]
    st.markdown(f"**{int(total.accepted)} of {int(total.decided)} suggestions accepted "
                f"({total.accepted_share:.0%})** across the codes below.")
    st.dataframe(counts.drop(columns=["code"]), hide_index=True, width="stretch", column_config={
        "label": "Code", "family": "Family", "accepted": "Accepted", "rejected": "Rejected", "decided": "Decided",
        "accepted_share": st.column_config.NumberColumn("Accepted share", format="percent")})
