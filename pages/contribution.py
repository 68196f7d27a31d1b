"""contribution page (being built)."""

import streamlit as st

st.title("contribution")
st.info("This page is being built.")
