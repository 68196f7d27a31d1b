"""Session page: the transcript pane beside the timeline, and the recording played from the chosen minutes.

What is shown: a span of minutes (a segment, or a rupture episode's segments) picked in the "Minutes shown"
box, which a click on a mark or an episode in the timeline sets; without a click, the URL's `at` (seconds,
from a dyad search result) or the first rupture segment. For each segment of the span, its turns on the left
and the codes marked in it on the right.

Audit: the transcript is read once per browser session, session and data version (`transcripts.turns`
audits that view), not on every widget rerun, as `auth.record` does for page views. A *play* is the player
shown at a start point the user chose: a click in the timeline, a change of the picker, or the "Play"
button. Each such choice is audited once (`transcripts.log_play`) and only then is the player shown, set to
start there and autoplay; reruns for other widgets neither log again nor hide it.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from rrrs_core import transcripts
from rrrs_core.episodes import Episode
from rrrs_core.errors import NotFoundError, RrrsError
from rrrs_core.queries import transcript as tq
from rrrs_ui import auth, glue
from rrrs_ui import widgets as w
from rrrs_ui.text import md

PICK = "tx_span"          # the picker's widget key
_FOR = "_tx_for"          # (dyad, session) the picker state belongs to
_CLICKED = "_tx_clicked"  # the last chart selection seen, so a selection that persists is not a new click
_PLAY = "_tx_play"        # (dyad, session, span key, n): the play the user asked for last
_LOGGED = "_tx_logged"    # the play last audited
_TURNS = "_tx_turns"      # (key, frame): the transcript read for this browser session
PLAYER_PX = 640  # wide enough to see faces, narrow enough that the turns below stay in view
AUDIO = {".mp3", ".wav", ".m4a", ".ogg", ".oga", ".flac", ".aac"}


def clicked_span(event: Any, all_spans: list[tq.Span]) -> str | None:
    """The span a timeline click selected (Streamlit selection state of the `seg`/`episode` params)."""
    try:
        selection = event["selection"]
    except (KeyError, TypeError):
        return None
    for name in ("episode", "seg"):
        points = selection.get(name) or []
        if not points:
            continue
        p = points[0]
        try:
            first = int(p["first_segment"] if name == "episode" else p["segment"])
            last = int(p["last_segment"] if name == "episode" else p["segment"])
        except (KeyError, TypeError, ValueError):
            continue
        return tq.key_of_click(first, last, all_spans)
    return None


def _ask_play(dyad_id: str, number: int) -> None:
    n = (st.session_state.get(_PLAY) or (None, None, None, 0))[3] + 1
    st.session_state[_PLAY] = (dyad_id, number, st.session_state.get(PICK), n)


def choose_span(dyad_id: str, number: int, all_spans: list[tq.Span], default: str, event: Any) -> tq.Span:
    """The picker, reset on another session, moved by a new timeline click (which also asks to play)."""
    keys = [s.key for s in all_spans]
    if st.session_state.get(_FOR) != (dyad_id, number) or st.session_state.get(PICK) not in keys:
        st.session_state[_FOR] = (dyad_id, number)
        st.session_state[PICK] = default
        st.session_state.pop(_CLICKED, None)
    clicked = clicked_span(event, all_spans)
    if clicked is not None and clicked != st.session_state.get(_CLICKED):
        st.session_state[PICK] = clicked
        _ask_play(dyad_id, number)
    st.session_state[_CLICKED] = clicked
    labels = {s.key: s.label for s in all_spans}
    key = st.selectbox("Minutes shown", keys, key=PICK, format_func=labels.get, on_change=_ask_play,
                       args=(dyad_id, number),
                       help="Click a mark or a rupture episode in the timeline above, or pick the minutes here.")
    return tq.span_for(key, all_spans) or all_spans[0]


def session_turns(dyad_id: str, number: int) -> pd.DataFrame:
    """The whole transcript, read (and audited by rrrs_core.transcripts) once per browser session, session
    and data version; an attach or delete moves the version, so the pane never shows a stale transcript."""
    who = auth.principal()
    key = (who.subject, who.role, dyad_id, number, glue.data_version())
    held = st.session_state.get(_TURNS)
    if held is None or held[0] != key:
        held = (key, transcripts.turns(glue.connection(), who, dyad_id, number))
        st.session_state[_TURNS] = held
    return held[1]


def _turn_lines(rows: pd.DataFrame) -> str:
    def line(t: Any) -> str:
        said = f"**{str(t.Speaker).capitalize()}:** {md(t.Text)}"
        return f"`{t.Time}` {said}" if t.Time else said

    return "  \n".join(line(t) for t in rows.itertuples())


def _mark_lines(marks: pd.DataFrame) -> str:
    if marks.empty:
        return "No codes marked in these minutes."
    return "\n".join(f"- {md(m.Code)} ({m.Family}, {m.Marked})" for m in marks.itertuples())


def show_turns(turns: pd.DataFrame, marks: pd.DataFrame, span: tq.Span) -> None:
    """Per segment of the span: its turns, and beside them the codes marked in that segment."""
    if not tq.is_timed(turns):
        st.info(f"This transcript has no times, so it cannot be aligned to the segments: all {len(turns)} "
                "turns are shown in file order, without the coded marks beside them.")
        with st.container(height=420):
            st.markdown(_turn_lines(tq.all_turns(turns).assign(Time="")))
        return
    rows = tq.span_turns(turns, span)
    coded = tq.span_marks(marks, span)
    for s in span.segments:
        label = tq.minutes(s, s, span.segment_minutes)
        here = rows[rows.Segment == label]
        left, right = st.columns([5, 2])
        with left.container(height=min(420, 60 + 28 * max(1, len(here))), border=True):
            st.markdown(f"**Segment {s}, {label}**")
            st.markdown(_turn_lines(here) if len(here) else "No turns in these minutes.")
        right.markdown(f"**Coded in segment {s}**\n\n{_mark_lines(coded[coded.Segment == label])}")


def show_player(dyad_id: str, number: int, path: Path, span: tq.Span) -> None:
    """The recording from the span's start, once the user chose it (the module docstring's rule)."""
    asked = st.session_state.get(_PLAY)
    start = tq.clock(span.start)
    if not asked or asked[:3] != (dyad_id, number, span.key):
        st.button(f"Play the recording from {start}", icon=":material/play_arrow:", on_click=_ask_play,
                  args=(dyad_id, number))
        return
    if not path.is_file():
        st.warning(f"The recording {md(path.name)} is missing from the media folder. Ask your administrator.")
        return
    if st.session_state.get(_LOGGED) != asked:
        transcripts.log_play(glue.connection(), auth.principal(), dyad_id, number, span.start)
        st.session_state[_LOGGED] = asked
    st.caption(f"Recording from {start} ({md(span.label)}). Each play is recorded in the audit trail.")
    fmt = mimetypes.guess_type(path.name)[0]
    if path.suffix.lower() in AUDIO:
        st.audio(str(path), format=fmt or "audio/wav", start_time=int(span.start), autoplay=True, width=PLAYER_PX)
    else:
        st.video(str(path), format=fmt or "video/mp4", start_time=int(span.start), autoplay=True, width=PLAYER_PX)


def default_key(marks: pd.DataFrame, all_spans: list[tq.Span], segment_minutes: int) -> str:
    """The URL's `at` (seconds into the session, from a search result), else the first rupture segment."""
    raw = w.param("at")
    if raw and raw.isdigit():
        key = f"s{int(raw) // (60 * segment_minutes) + 1}"
        if tq.span_for(key, all_spans):
            return key
    return tq.default_key(marks)


def linked_media(dyad_id: str, number: int) -> tuple[bool, Path | None]:
    """Whether the session has a transcript (no text read), and its recording's path (None without one, or
    when the file cannot be served: then a warning says why and the transcript still shows)."""
    has_text = bool(glue.query(transcripts.has_transcript, dyad_id, number))
    if not glue.query(transcripts.has_recording, dyad_id, number):
        return has_text, None
    try:
        return has_text, transcripts.recording_path(glue.connection(), auth.principal(), dyad_id, number)
    except NotFoundError:
        raise
    except RrrsError as exc:
        st.warning(f"This session's recording cannot be played: {md(exc)}")
        return has_text, None


def selection_modes(episodes: list[Episode]) -> list[str]:
    """The timeline's selection parameters (rrrs_core.charts.session.timeline_chart with `selectable`)."""
    return ["seg", "episode"] if episodes else ["seg"]


def transcript_pane(head: dict[str, Any], marks: pd.DataFrame, episodes: list[Episode], event: Any,
                    has_text: bool, recording: Path | None) -> None:
    """The pane under the timeline; nothing when the session has neither a transcript nor a recording."""
    dyad_id, number = head["dyad_id"], int(head["session_number"])
    if not has_text and recording is None:
        return
    st.subheader("Transcript and recording" if has_text and recording else
                 "Transcript" if has_text else "Recording")
    st.caption("Click a mark or a rupture episode in the timeline above, or pick the minutes below: the turns "
               "of each segment are shown with the codes marked in it.")
    minutes_, n = int(head["segment_minutes"]), int(head["n_segments"])
    all_spans = tq.spans(marks, episodes, n, minutes_)
    span = choose_span(dyad_id, number, all_spans, default_key(marks, all_spans, minutes_), event)
    if recording is not None:
        show_player(dyad_id, number, recording, span)
    if has_text:
        show_turns(session_turns(dyad_id, number), marks, span)
    else:
        st.caption("No transcript is attached to this session.")
