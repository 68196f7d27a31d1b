"""rrrs: entry point. Registers the pages with st.navigation and shows the data-provenance banner."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="rrrs - 3RS supervision dashboard", layout="wide")

PAGES = [
    st.Page("pages/caseload.py", title="Caseload", url_path="caseload", default=True),
    st.Page("pages/dyad.py", title="Dyad trajectory", url_path="dyad"),
    st.Page("pages/session.py", title="Session detail", url_path="session"),
    st.Page("pages/contribution.py", title="Therapist contribution", url_path="contribution"),
    st.Page("pages/clinic.py", title="Clinic", url_path="clinic"),
    st.Page("pages/data.py", title="Data", url_path="data"),
]

nav = st.navigation(PAGES)
nav.run()
