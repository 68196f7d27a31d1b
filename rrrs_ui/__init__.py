"""Streamlit-side glue for rrrs: the cached connection, cache wrappers and shared widgets."""
