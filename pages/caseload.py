"""Caseload: every dyad in scope, the ones needing attention first, each linking to its trajectory."""

from __future__ import annotations

import streamlit as st

from rrrs_core import palette
from rrrs_core.queries import caseload
from rrrs_ui import auth, cells, links, widgets
from rrrs_ui.glue import query
from rrrs_ui.text import md

auth.require_page("caseload")

with widgets.guard():
    st.title("Caseload")
    widgets.provenance_banner()
    if widgets.empty_state():
        st.stop()

    scope = widgets.scope_selector()
    threshold = widgets.threshold_input()
    only_flagged = widgets.url_toggle("Only dyads with a concern flag", "flagged")
    inactive = widgets.url_toggle(  # on by default: dyads that stopped coming include the dropouts
        "Include inactive dyads", "inactive", default=True,
        help=f"Dyads with no session in the {caseload.ACTIVE_DAYS} days before the clinic's latest session.")

    everything = query(caseload.caseload, scope, threshold)
    auth.record("view caseload", scope.label, f"{len(everything)} dyads listed")  # ids and flags: audited
    table = everything if inactive else everything[everything.active]
    n_hidden = len(everything) - len(table)
    st.caption(f"{md(scope.label)}. Most concerning first: flags weighted "
               + ", ".join(f"{f.label.lower()} {f.weight}" for f in caseload.FLAGS)
               + "; then by high-contribution sessions."
               + (f" {n_hidden} inactive dyad(s) hidden." if n_hidden else ""))

    flagged = table[table.concern_score > 0]
    cols = st.columns(4)
    cols[0].metric("Dyads in scope", len(table))
    cols[1].metric("Dyads flagged", len(flagged))
    cols[2].metric("Unresolved ruptures", int(table.unresolved_ruptures.sum()))
    cols[3].metric(f"Dyads with contribution >= {threshold}", int((table.n_high_contribution > 0).sum()))

    shown = flagged if only_flagged else table
    if shown.empty:
        st.info("No dyads with a concern flag in this scope." if only_flagged and not table.empty
                else "No active dyads in this scope: switch on 'Include inactive dyads'." if n_hidden
                else "No coded sessions in this scope yet.")
    else:
        shown = shown.assign(dyad_link=links.dyad_urls(shown.dyad_id), flag_list=cells.flag_lists(shown))
        st.dataframe(
            shown,
            hide_index=True,
            placeholder="–",
            column_order=["dyad_link", "therapist_id", "flag_list", "rupture_trend", "latest_resolution",
                          "n_high_contribution", "n_sessions", "last_session", "last_date",
                          *(["active"] if inactive else []), "treatment", "concern_score"],
            column_config={
                "dyad_link": st.column_config.LinkColumn(
                    "Dyad", display_text=links.DYAD_DISPLAY, help="Open the dyad's trajectory", pinned=True),
                "therapist_id": "Therapist",
                "treatment": "Treatment",
                "n_sessions": st.column_config.NumberColumn("Sessions coded", format="%d"),
                "last_session": st.column_config.NumberColumn("Last session", format="%d"),
                "last_date": st.column_config.DateColumn("Last date", format="YYYY-MM-DD"),
                "active": st.column_config.CheckboxColumn(
                    "Active", help=f"A session within {caseload.ACTIVE_DAYS} days of the clinic's latest"),
                "rupture_trend": st.column_config.LineChartColumn(
                    f"Ruptures, last {caseload.TREND_SESSIONS}", y_min=0.0, y_max=1.0, color=palette.NEUTRAL,
                    width=120, help="Share of segments with a rupture marker, per session, oldest to newest"),
                "latest_resolution": st.column_config.NumberColumn(
                    "Latest resolution", format="%d", help="Overall resolution of the latest rated session"),
                "n_high_contribution": st.column_config.NumberColumn(
                    f"Contribution ≥ {threshold}", format="%d",
                    help="Sessions with therapist contribution at or above the threshold"),
                "flag_list": cells.flags_column(),
                "concern_score": st.column_config.NumberColumn("Concern", format="%d",
                                                               help="Sum of the flag weights"),
            },
        )

    with st.expander("How the concern flags are defined"):
        st.markdown("\n".join(f"- **{f.label}** (weight {f.weight}): {f.definition}"
                              for f in caseload.FLAGS))
