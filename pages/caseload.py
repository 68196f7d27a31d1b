"""caseload page (being built)."""

import streamlit as st

st.title("caseload")
st.info("This page is being built.")
