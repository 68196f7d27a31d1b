"""Self-report entry: a therapist (for their own dyads) or an administrator types in a patient's paper form
after a session (URL: dyad, session). Saved through `rrrs_core.selfreport.save_form`: checked like an import,
scoped like the scoresheet, audited; the dyad page and the caseload show it at once."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from rrrs_core import selfreport
from rrrs_core.queries import directory, recency
from rrrs_core.queries import selfreport as srq
from rrrs_core.selfreport import may_enter
from rrrs_ui import auth, glue
from rrrs_ui import selfreport_entry as entry
from rrrs_ui import widgets as w
from rrrs_ui.glue import query
from rrrs_ui.links import carried_params
from rrrs_ui.text import md

auth.require_page("selfreport")
FLASH = "sr_saved"  # the message of the last save, shown after the rerun that refreshes the data


def main() -> None:
    st.title("Self-report entry")
    w.provenance_banner()
    st.caption("Type in a form the patient filled in on paper after a session: the Session Rating Scale, the "
               "WAI-SR or the post-session rupture items. Only scores are stored. Saving a form that is already "
               "stored replaces it; every save is recorded in the audit trail.")
    who = auth.principal()
    dyad_id = entry.pick_dyad(entry.entry_scope(who), w.param("dyad"))
    if not dyad_id:
        return
    w.set_param("dyad", dyad_id)
    may_enter(glue.connection(), who, dyad_id)  # the same rule the save applies: 'not found or not permitted'
    auth.record("view dyad", dyad_id, "self-report entry")
    axis = query(srq.dyad_axis, entry.entry_scope(who), dyad_id)
    instruments = entry.catalog()
    c1, c2, c3 = st.columns([2, 1, 1])
    ident = c1.selectbox("Form", list(instruments), format_func=lambda i: instruments[i].title,
                         help="  \n".join(entry.instrument_help(i) for i in instruments.values()))
    inst = instruments[ident]
    raw = w.param("session")
    number = int(c2.number_input("Session number", min_value=1, max_value=100_000, step=1,
                                 value=int(raw) if raw and raw.isdigit() else entry.default_session(axis),
                                 help="The session the form is about; it need not be coded."))
    w.set_param("session", number)
    respondent = c3.radio("Filled in by", inst.respondents, horizontal=True, format_func=str.capitalize)
    known = entry.session_date(axis, number)
    stored = query(selfreport.form_values, dyad_id, number, respondent, ident, entry.entry_scope(who))
    if stored:
        st.info(f"A {md(inst.title)} by the {respondent} is stored for session {number}: its answers are filled in "
                "below. Saving replaces it.")
    flash = st.session_state.pop(FLASH, None)
    if flash:
        st.success(flash)
    key = f"sr_{dyad_id}_{number}_{respondent}_{ident}"
    with st.form(key=f"{key}_form", border=True):
        start = entry.default_completion(known, query(directory.is_synthetic), query(recency.data_today))
        completed = st.date_input("Completed on", value=start, max_value=dt.date.today(),
                                  key=f"{key}_date", format="YYYY-MM-DD",
                                  help="The day the form was filled in (usually the session's date).")
        values = {item.key: entry.item_input(item, stored.get(item.key), f"{key}_{item.key}") for item in inst.items}
        submitted = st.form_submit_button("Save form", type="primary")
    if submitted:
        saved = entry.save(who, dyad_id, number, respondent, inst, values, completed)
        if saved is not None:
            st.session_state[FLASH] = entry.saved_message(saved, inst)
            st.rerun()
    params = {"dyad": dyad_id, **carried_params()}
    l1, l2 = st.columns(2)
    l1.page_link("pages/dyad.py", label=f"Dyad {md(dyad_id)} trajectory", icon=":material/timeline:",
                 query_params=params)
    l2.page_link("pages/session.py", label=f"Session {number} detail", icon=":material/arrow_forward:",
                 query_params={**params, "session": str(number)}, disabled=not (stored or known))


with w.guard():
    main()
