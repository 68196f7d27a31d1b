"""rrrs: entry point. Resolves who is signed in, registers only the pages their role allows, runs one."""

from __future__ import annotations

import streamlit as st

from rrrs_ui import auth, shell

st.set_page_config(page_title="rrrs - 3RS supervision dashboard", layout="wide")

st.session_state[auth.VIA_APP] = True
who = auth.entry()  # before sign-in (or when refusing to run) no page is registered, so none is named
shell.run(who)  # the role's pages, the sidebar links, and the page this address asks for
