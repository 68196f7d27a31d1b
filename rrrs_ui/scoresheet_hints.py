"""What the scoresheet page tells a coder to do next: which box to fill in, and what saving will store.

Plain text (Markdown), no widgets, so the wording is tested on its own. The page shows one hint at a time,
at the step the coder is at: choosing the dyad, creating one, the session, the coder, then a new coding.
"""

from __future__ import annotations

from rrrs_core.coding_edit import SIGNS, CodingDraft
from rrrs_ui.text import md

NEW = "+ New…"


DEMO_LOCKED = ("Demo mode: code the demo clinic's sessions. New dyads, therapists, sessions and patients cannot be "
               "added here, because there is no sign-in to guard real data.")


def start(may_create: bool, demo: bool = False) -> str:
    """Nothing chosen yet (`demo`: demo mode, where nothing clinical may be created)."""
    if demo:
        return f"Choose a **Dyad**, then its **Session**, then the **Coder**. {DEMO_LOCKED}"
    if not may_create:
        return ("Choose a **Dyad**, then its **Session**: you see only the sessions assigned to you. "
                "Ask your supervisor if one is missing.")
    return (f"**To code a session**, choose its **Dyad** here, then its **Session**, then the **Coder** (each box "
            f"appears once the one before it is chosen). Not in a list yet? Choose **{NEW}** in that box and fill "
            "in the fields that appear. Nothing is stored until you save the coding: the first save creates a new "
            "dyad or session with it.")


def new_dyad() -> str:
    """A new dyad without its id or therapist yet."""
    return (f"**New dyad:** enter its **id** (as your clinic numbers dyads, e.g. D0042) and choose its "
            f"**therapist**, or **{NEW}** to add a therapist with their supervisor and trainee status. **Patient id** "
            "(a pseudonym, never a name) and **treatment** are optional. Then choose the session.")


def session(dyad_id: str, may_create: bool, demo: bool = False) -> str:
    """A dyad chosen, no session yet."""
    if demo:
        return f"Choose the **Session** of dyad {dyad_id} to code. {DEMO_LOCKED}"
    if not may_create:
        return f"Choose the **Session** of dyad {md(dyad_id)} to code (you see the sessions assigned to you)."
    return (f"Choose the **Session** of dyad {md(dyad_id)} to code, or **{NEW}** to add one: you give its number, "
            "date, segment length and number of segments.")


def new_session() -> str:
    """Under the fields of a new session."""
    return ("The grid gets one column per segment (a 50-minute session in 5-minute segments has 10). Check these "
            "four fields now: the session is stored with the first save and cannot be changed here afterwards.")


def coder(may_create: bool) -> str:
    """Dyad and session chosen, no coder yet."""
    if not may_create:
        return "Choose yourself as the **Coder**."
    return (f"Choose the **Coder** whose coding this is, or **{NEW}** to enter a new coder id (as in your clinic's "
            "coding records, e.g. C3).")


def new_coding(draft: CodingDraft, stored: dict[str, object]) -> str:
    """A coding not saved yet; `stored` is `coding_edit.header()` of its dyad and session (empty: new)."""
    created = []
    if "therapist_id" not in stored:
        created.append(f"dyad {md(draft.dyad_id)} (therapist {md(draft.therapist_id)})")
    if "n_segments" not in stored:
        created.append(f"session {draft.session_number} ({draft.n_segments} segments of {draft.segment_minutes} min)")
    also = f", and creates {' and '.join(created)}" if created else ""
    return (f"**New coding**: coder {md(draft.coder_id)} has not coded this session yet.\n\n"
            f"1. In the grids below, mark each code in the segments where you saw it: **{SIGNS['check']}** meets "
            f"criteria, **{SIGNS['check_minus']}** unclear; leave the rest blank.\n"
            "2. Rate the significance of each code you marked, then the four global ratings.\n"
            "3. **Save draft** to go on later (drafts never reach the dashboards), or **Save final** when done.\n\n"
            f"The first save stores version 1{also}. Nothing is stored before.")
