"""Users (admins): who may sign in, with which role, linked to which therapist or coder."""

from __future__ import annotations

import streamlit as st

from rrrs_core import access
from rrrs_core.importing import idrules
from rrrs_ui import auth, glue, tables, widgets
from rrrs_ui.text import md

auth.require_page("users")

st.title("Users")
with widgets.guard():
    widgets.provenance_banner()
    st.markdown("People sign in with the clinic's identity provider; rrrs matches their subject or e-mail "
                "here. Changes take effect on their next click.")
    users = glue.query(access.listing)
    if users.empty:
        st.info("No users yet: add the first one below (or with `rrrs users add`).")
    else:
        st.dataframe(users, hide_index=True, width="stretch", placeholder=tables.PLACEHOLDER,
                     column_config=tables.USERS)
    with st.form("principal"):
        st.subheader("Add or change a user")
        subject = st.text_input("Subject or e-mail (as the identity provider sends it)", max_chars=idrules.MAX_SUBJECT)
        email = st.text_input("E-mail (optional)", max_chars=idrules.MAX_SUBJECT)
        role = st.selectbox("Role", access.ROLES, index=access.ROLES.index("qi"),
                            help="Starts at the role that sees least; choose admin only deliberately.")
        therapist = st.text_input("Therapist id (supervisors and therapists)", max_chars=idrules.MAX_ID)
        coder = st.text_input("Coder id (coders)", max_chars=idrules.MAX_ID)
        active = st.checkbox("Active", value=True)
        if st.form_submit_button("Save"):
            subject = access.upsert(glue.connection(), subject, role, email=email or None,
                                    therapist_id=therapist or None, coder_id=coder or None, active=active)
            auth.record("manage users", subject, f"role={role} active={active}")
            glue.data_changed()
            st.success(f"Saved {md(subject)} as {role}{'' if active else ' (inactive)'}.")
