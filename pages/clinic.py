"""clinic page (being built)."""

import streamlit as st

st.title("clinic")
st.info("This page is being built.")
