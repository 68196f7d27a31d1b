"""Clinic: de-identified trends for quality-improvement meetings (no patients, dyads or therapist ids)."""

from __future__ import annotations

import streamlit as st

from rrrs_core import reports
from rrrs_core.charts import clinic as charts
from rrrs_core.queries import clinic, clinic_compare
from rrrs_core.queries import selfreport_clinic as src
from rrrs_core.scope import CLINIC
from rrrs_ui import auth, glue, widgets
from rrrs_ui.glue import query
from rrrs_ui.pdf_button import pdf_download
from rrrs_ui.selfreport_view import show_clinic_selfreports

auth.require_page("clinic")

PERIOD_FORMAT = {"month": "MMM YYYY", "quarter": "YYYY [Q]Q"}
COUNT = {"alignment": "right"}  # counts arrive as text ('*' when suppressed); align them like numbers
SHARE = st.column_config.NumberColumn("With ruptures", format="%.0f%%",
                                      help="Sessions with at least one rupture segment")

with widgets.guard():
    st.title("Clinic overview")
    widgets.provenance_banner()
    if widgets.empty_state():
        st.stop()

    st.caption("Clinic-wide and de-identified for QI meetings: no patient or dyad ids, therapists only by "
               "pseudonym. The scope selector of the other pages does not apply here.")
    current = widgets.param("period", clinic.DEFAULT_PERIOD)
    period = st.radio("Period", clinic.PERIODS, index=clinic.PERIODS.index(current if current in clinic.PERIODS
                                                                           else clinic.DEFAULT_PERIOD),
                      horizontal=True, format_func=str.capitalize)
    widgets.set_param("period", None if period == clinic.DEFAULT_PERIOD else period)

    pdf_download("Download clinic report (PDF)", f"rrrs-clinic-{period}.pdf",
                 lambda con, who, _scope: reports.clinic_report(con, generated_by=who.name, period=period),
                 target=f"clinic/{period}")
    totals = query(clinic.overview, CLINIC)
    cols = st.columns(3)
    cols[0].metric("Coded sessions", totals["n_sessions"])
    cols[1].metric("Therapists", totals["n_therapists"])
    cols[2].metric("Treatments", totals["n_treatments"])

    trends = query(clinic.trends, CLINIC, period)
    # st.info renders Markdown: escape the suppression mark so it is shown, not read as emphasis.
    st.info(clinic.SUPPRESSION_NOTE.replace("*", "\\*") + " Gaps in a line are suppressed cells.")
    if totals["n_undated"]:
        st.caption(f"{totals['n_undated']} session(s) without a date are left out of the trends.")
    period_col = st.column_config.DateColumn(period.capitalize(), format=PERIOD_FORMAT[period])
    if trends.empty:
        st.info("No dated sessions yet, so there are no trends to show.")
    else:
        summary = query(clinic_compare.comparison, CLINIC, period)
        st.subheader(f"This {period} ({summary.now}) vs the previous one ({summary.before})")
        st.dataframe(summary.rows, hide_index=True, column_config={
            "measure": "Whole clinic", "now": st.column_config.TextColumn(summary.now, **COUNT),
            "before": st.column_config.TextColumn(summary.before, **COUNT),
            "change": st.column_config.TextColumn("Change", **COUNT)})
        st.caption(clinic_compare.NOTE)
        st.vega_lite_chart(glue.chart(charts.rupture_share_chart, trends, period), theme=None, width="content")
        st.vega_lite_chart(glue.chart(charts.resolution_chart, trends, period), theme=None, width="content")

        st.subheader("Ruptures and resolution")
        st.dataframe(
            trends.assign(rupture_share=trends.rupture_share * 100), hide_index=True, placeholder="",
            column_order=["period_start", "treatment", "sessions", "rupture_share", "rated_sessions",
                          "mean_resolution"],
            column_config={
                "period_start": period_col,
                "treatment": "Treatment",
                "sessions": st.column_config.TextColumn("Sessions", **COUNT),
                "rupture_share": SHARE,
                "rated_sessions": st.column_config.TextColumn("Rated sessions", **COUNT),
                "mean_resolution": st.column_config.NumberColumn("Mean resolution", format="%.2f"),
            },
        )

        st.subheader("Therapist contribution")
        st.caption(clinic.CONTRIBUTION_NOTE)
        contribution = query(clinic.contribution_table, CLINIC, period)
        st.dataframe(
            contribution.assign(high_share=contribution.high_share * 100), hide_index=True, placeholder="",
            column_order=["period_start", "treatment", "rated_sessions", "high_share", "mean_contribution"],
            column_config={
                "period_start": period_col,
                "treatment": "Treatment",
                "rated_sessions": st.column_config.TextColumn("Rated sessions", **COUNT),
                "high_share": st.column_config.NumberColumn(
                    "Rated 4-5", format="%.0f%%",
                    help="Share of rated sessions with therapist contribution 4 or 5 (the flag threshold)"),
                "mean_contribution": st.column_config.NumberColumn("Mean contribution", format="%.2f"),
            },
        )

    st.subheader("By therapist (pseudonymised)")
    st.caption("Pseudonyms are stable across meetings, so a therapist can recognise their own row if told it. "
               "They are keyed with a clinic secret, so they cannot be worked out from a staff list.")
    therapists = query(clinic.therapist_table, CLINIC)
    st.dataframe(
        therapists.assign(rupture_share=therapists.rupture_share * 100), hide_index=True, placeholder="",
        column_config={
            "therapist": "Therapist",
            "sessions": st.column_config.TextColumn("Sessions", **COUNT),
            "rupture_share": SHARE,
            "mean_resolution": st.column_config.NumberColumn("Mean resolution", format="%.2f"),
            "mean_contribution": st.column_config.NumberColumn("Mean contribution", format="%.2f"),
        },
    )

    show_clinic_selfreports(query(src.below_cutoff, period), query(src.undated), query(src.association), period,
                            period_col)
