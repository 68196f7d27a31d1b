"""session page (being built)."""

import streamlit as st

st.title("session")
st.info("This page is being built.")
