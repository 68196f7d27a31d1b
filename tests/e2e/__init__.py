"""End-to-end journeys in headless Chromium against a real `streamlit run app.py` (see conftest.py)."""
