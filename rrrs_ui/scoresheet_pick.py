"""Choosing the coding the scoresheet opens: its dyad, session and coder, picked from the stored ones in the
principal's reach or (when their permit may create) entered as new.

A dyad id in the URL that is out of reach shows 'not found or not permitted', exactly like a missing one, and
is never prefilled as a new dyad (rrrs_core.permits decides; the core checks again on every read and save).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from rrrs_core import coding_edit as ce
from rrrs_core import coding_history as ch
from rrrs_core import permits
from rrrs_core.errors import RrrsError
from rrrs_core.importing.idrules import MAX_ID
from rrrs_core.permits import Permit
from rrrs_core.queries import directory
from rrrs_ui import auth, glue, widgets
from rrrs_ui import scoresheet_hints as hints
from rrrs_ui.text import md

NEW = hints.NEW


def pick(col, label: str, options: list, param: str | None, key: str, fmt=str, allow_new: bool = True):
    """A selectbox over stored values plus NEW; the URL param preselects (an unknown value means NEW when
    new values are allowed, else nothing)."""
    opts = [*options, NEW] if allow_new else list(options)
    index = opts.index(param) if param in opts else (len(opts) - 1 if param and allow_new else None)
    return col.selectbox(label, opts, index=index, key=key, placeholder=f"Choose a {label.lower()}",
                         format_func=lambda v: NEW if v == NEW else fmt(v))


def _url_dyad(p_dyad: str | None, listed: dict, permit: Permit) -> str | None:
    """The URL's dyad as the Dyad box's preselection. An id that is not listed is offered as NEW only when it
    is free and the user may create; one that exists out of reach is 'not found or not permitted', exactly
    like a missing one where nothing may be created, and never prefilled."""
    if not p_dyad or p_dyad in listed:
        return p_dyad
    if permit.may_create and permits.is_free(glue.connection(), p_dyad):
        return p_dyad
    st.warning(widgets.NOT_FOUND)
    return None


def _new_dyad(permit: Permit, p_dyad: str | None, therapist_of: dict, head: dict[str, object]) -> str | None:
    """The fields of a new dyad (and perhaps a new therapist); its id once the permit may create it."""
    n1, n2, n3, n4 = st.columns(4)
    dyad = n1.text_input("New dyad id", value=p_dyad or "", key="sc_pick_new_dyad", max_chars=MAX_ID)
    people = glue.query(directory.therapists, permit.scope)
    therapist = pick(n2, "Therapist", list(people.therapist_id), None, "sc_pick_therapist")
    if therapist == NEW:
        therapist = n2.text_input("New therapist id", key="sc_pick_new_therapist", max_chars=MAX_ID)
        supervisors = [None, *people.therapist_id] if permit.scope.is_clinic else [permit.supervisor_id]
        head["supervisor_id"] = n2.selectbox("Supervisor", supervisors, key="sc_pick_sup",
                                             format_func=lambda v: "none" if v is None else v)
        head["trainee"] = n2.checkbox("Trainee", key="sc_pick_trainee")
    head.update(therapist_id=therapist or "", patient_id=n3.text_input("Patient id", key="sc_pick_patient",
                                                                    max_chars=MAX_ID),
                treatment=n4.text_input("Treatment", key="sc_pick_treatment", max_chars=MAX_ID))
    if not dyad.strip() or not therapist:
        st.info(hints.new_dyad())
        return None
    dyad = dyad.strip()
    if dyad in therapist_of:
        st.error(f"Dyad {md(dyad)} already exists under therapist {md(therapist_of[dyad])}: a dyad id cannot be reused "
                 "for another dyad. Choose it in the Dyad list to code one of its sessions.")
        return None
    try:
        sup = head.get("supervisor_id")
        permits.require_new_dyad(glue.connection(), permit, dyad, str(therapist).strip(), str(sup) if sup else None)
    except RrrsError as exc:
        st.error(md(exc))
        return None
    return dyad


def choose(permit: Permit) -> ce.CodingDraft | None:
    """Choose or create the dyad, session and coder; returns the coding's header as a draft, or None."""
    who = auth.principal()
    coder = who.coder_id if who.role == "coder" else None
    demo = not permit.may_create and who.role != "coder"
    dyads = glue.query(ch.dyads, permit.scope, coder)
    therapist_of = dict(zip(dyads.dyad_id, dyads.therapist_id, strict=True))
    c1, c2, c3 = st.columns(3)
    p_dyad, p_session = _url_dyad(widgets.param("dyad"), therapist_of, permit), widgets.param("session")
    dyad = pick(c1, "Dyad", list(dyads.dyad_id), p_dyad, "sc_pick_dyad", lambda d: f"{d} · therapist {therapist_of[d]}",
                 allow_new=permit.may_create)
    if dyad is None:
        st.info(hints.start(may_create=permit.may_create, demo=demo))
        return None
    head: dict[str, object] = {}
    if dyad == NEW:
        dyad = _new_dyad(permit, p_dyad if p_dyad not in therapist_of else None, therapist_of, head)
        if dyad is None:
            return None
    else:
        head.update({k: v for k, v in ce.header(glue.connection(), dyad, None, permit=permit).items()
                     if v is not None})
    stored = glue.query(ch.sessions, dyad, coder) if dyad in therapist_of else None
    numbers = [] if stored is None else [int(n) for n in stored.session_number]
    dates = {} if stored is None else dict(zip(numbers, stored.session_date, strict=True))
    session = pick(c2, "Session", numbers, int(p_session) if (p_session or "").isdigit() else None,
                    f"sc_pick_session_{dyad}",
                    lambda n: f"Session {n}" + (f" · {dates[n]:%Y-%m-%d}" if pd.notna(dates.get(n)) else ""),
                    allow_new=permit.may_create)
    if session is None:
        st.info(hints.session(dyad, may_create=permit.may_create, demo=demo))
        return None
    if session == NEW:
        s1, s2, s3, s4 = st.columns(4)
        session = int(s1.number_input("New session number", 1, 100000, max(numbers, default=0) + 1,
                                      key=f"sc_pick_new_session_{dyad}"))
        if session in numbers:
            st.warning(f"Session {session} already exists; choose it in the Session list.")
            return None
        head.update(session_date=s2.date_input("Session date", value=dt.date.today(), key="sc_pick_date"),
                    segment_minutes=int(s3.number_input("Segment length (minutes)", 1, 60, 5, key="sc_pick_len")),
                    n_segments=int(s4.number_input("Number of segments", 1, 60, 10, key="sc_pick_nseg")))
        st.caption(hints.new_session())
    else:
        head.update({k: v for k, v in ce.header(glue.connection(), dyad, session, permit=permit).items()
                     if v is not None})
    coders = glue.query(ch.known_coders) if coder is None else [coder]
    p_coder = widgets.param("coder")
    coder = pick(c3, "Coder", coders, p_coder, "sc_pick_coder", allow_new=who.role != "coder")
    if coder == NEW:
        coder = c3.text_input("New coder id", value=p_coder if p_coder not in coders else "", key="sc_pick_new_coder",
                              max_chars=MAX_ID)
    if not coder or not coder.strip():
        st.info(hints.coder(may_create=who.role != "coder"))
        return None
    widgets.set_param("dyad", dyad)
    widgets.set_param("session", session)
    widgets.set_param("coder", coder.strip())
    return ce.CodingDraft(dyad, int(session), coder.strip(), **head)
