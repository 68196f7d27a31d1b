"""rrrs: entry point. Resolves who is signed in, registers only the pages their role allows, runs one."""

from __future__ import annotations

import streamlit as st

from rrrs_ui import auth

st.set_page_config(page_title="rrrs - 3RS supervision dashboard", layout="wide")

PAGES: dict[str, tuple[str, str, str]] = {  # name -> (file, title, url path)
    "caseload": ("pages/caseload.py", "Caseload", "caseload"),
    "dyad": ("pages/dyad.py", "Dyad trajectory", "dyad"),
    "session": ("pages/session.py", "Session detail", "session"),
    "contribution": ("pages/contribution.py", "Therapist contribution", "contribution"),
    "clinic": ("pages/clinic.py", "Clinic", "clinic"),
    "data": ("pages/data.py", "Data", "data"),
    "scoresheet": ("pages/scoresheet.py", "Scoresheet", "scoresheet"),
    "reliability": ("pages/reliability.py", "Coder reliability", "reliability"),
    "audit": ("pages/audit.py", "Audit trail", "audit"),
    "users": ("pages/users.py", "Users", "users"),
}

st.session_state[auth.VIA_APP] = True
who = auth.entry()  # before sign-in (or when refusing to run) no page is registered, so none is named
allowed = [name for name in PAGES if who.may(name)]
nav = st.navigation([st.Page(PAGES[n][0], title=PAGES[n][1], url_path=PAGES[n][2], default=(i == 0))
                     for i, n in enumerate(allowed)])
deep_link = st.session_state.pop(auth.DEEP_LINK, None)  # a page opened before app.py had ever run (auth)
if deep_link and deep_link[0] in allowed:
    st.switch_page(PAGES[deep_link[0]][0], query_params=deep_link[1])
nav.run()
