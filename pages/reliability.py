"""Reliability: how far the coders agree (ICC, AC1/kappa), where two coders disagree, calibration, drift."""

from __future__ import annotations

import streamlit as st

from rrrs_ui import auth, suggest_pane, widgets
from rrrs_ui import reliability as rel

who = auth.require_page("reliability")

with widgets.guard():
    st.title("Coder reliability")
    widgets.provenance_banner()
    if widgets.empty_state():
        st.stop()
    v = rel.viewer(who)
    design, pair = rel.filters(v)
    auth.record("view reliability", design.describe(),
                f"{design.since or 'first'} to {design.until or 'last'} session date")
    st.caption("Only final, current codings are compared; a consensus coding is never a coder here. "
               + rel.CHECK_MINUS_RULE)
    agreement, drill, calibration, drift, suggested = st.tabs(
        ["Agreement", "Drill-down", "Calibration", "Drift", "Suggestions"])
    with agreement:
        rel.pdf_button(design)
        rel.agreement(design)
    with drill:
        if pair is None:
            st.info("Choose a pair of coders in the sidebar ('Coders compared') to compare their codings "
                    "session by session.")
        else:
            comp = rel.drill_down(v, pair[0], pair[1], design, key="drill_session")
            if comp is not None and who.role in ("admin", "supervisor"):
                rel.reference_buttons(comp)
    with calibration:
        rel.calibration_section(v, who)
    with drift:
        rel.drift_section(design)
    with suggested:  # #19: do the code suggestions help? accepted vs rejected per code
        suggest_pane.acceptance_section(v.scope)
