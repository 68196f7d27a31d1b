"""Demo mode's role switcher: view the demo clinic as a supervisor, therapist, QI member or coder.

Demo mode has no sign-in and is always the admin, so a clinic evaluating rrrs could not see what each role
sees. The switcher picks a demo principal of the chosen role (`access.demo_as`: the first supervisor,
therapist or coder in the store) whose pages, scope and permit are applied exactly as sign-in applies them.

Safety rule: only `auth` calls `chosen_role`/`switcher`, and only on its demo branch (no `[auth]` secrets
section). With sign-in configured neither runs, so the widget is never drawn and the `as` URL parameter and
the session-state key are never read: nothing a browser sends can change a signed-in user's role.
"""

from __future__ import annotations

import streamlit as st

from rrrs_core import access
from rrrs_ui import glue
from rrrs_ui.widgets import param, set_param

KEY = "_demo_view_as"  # the role picked (session state), read by auth before the switcher is drawn
WIDGET = "_demo_view_as_widget"  # the switcher's own key: its on_change copies the pick into KEY
PARAM = "as"  # kept in the URL so a reload or a link opened from a table keeps the role
ROLES = ("admin", "supervisor", "therapist", "qi", "coder")
LABELS = {"admin": "Administrator", "supervisor": "Supervisor", "therapist": "Therapist", "qi": "QI member",
          "coder": "Coder"}
HELP = ("Demo mode only: shows the pages and data a signed-in user of this role would get (the first "
        "supervisor, therapist or coder of the demo clinic): a supervisor sees their own and their trainees' "
        "dyads, a therapist their own, a QI member only the clinic's figures, a coder only the sessions "
        "assigned to them. With sign-in configured this switcher does not "
        "exist and each user has the role an administrator gave them.")


def chosen_role() -> str:
    """The role picked in the switcher; the first time in a browser session, the `as` URL parameter."""
    if st.session_state.get(KEY) not in ROLES:
        wanted = param(PARAM)
        st.session_state[KEY] = wanted if wanted in ROLES else "admin"
    return str(st.session_state[KEY])


def principal() -> access.Principal:
    """The demo principal for the chosen role (admin: `access.DEMO`)."""
    role = chosen_role()
    return access.DEMO if role == "admin" else glue.query(access.demo_as, role)


def _picked() -> None:
    """Runs before the rerun the pick causes, so that auth already sees the new role at the top of app.py."""
    st.session_state[KEY] = st.session_state[WIDGET]


def switcher() -> None:
    """Draw the switcher in the sidebar and keep its role in the URL (absent for admin)."""
    role = chosen_role()
    st.sidebar.selectbox("View the demo as", ROLES, index=ROLES.index(role), key=WIDGET, on_change=_picked,
                         format_func=LABELS.__getitem__, help=HELP)
    set_param(PARAM, None if role == "admin" else role)
