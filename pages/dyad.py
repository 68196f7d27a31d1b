"""dyad page (being built)."""

import streamlit as st

st.title("dyad")
st.info("This page is being built.")
