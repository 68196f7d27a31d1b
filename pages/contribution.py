"""Therapist contribution: sessions where the therapist fed a rupture, to pick what to review together."""

from __future__ import annotations

import streamlit as st

from rrrs_core import reports
from rrrs_core.charts import contribution as charts
from rrrs_core.queries import contribution, directory
from rrrs_ui import auth, cells, glue, links, tables, widgets
from rrrs_ui.glue import query
from rrrs_ui.pdf_button import pdf_download
from rrrs_ui.text import md

auth.require_page("contribution")

LIST_ROWS = 30     # rows in view before the list scrolls (Streamlit's default is 10)
MARKER_LINES = 3   # the markers column is narrow enough at 1400 px for every column to show: use 3 lines

with widgets.guard():
    st.title("Therapist contribution")
    widgets.provenance_banner()
    if widgets.empty_state():
        st.stop()

    scope = widgets.scope_selector()
    threshold = widgets.threshold_input()
    relative = widgets.url_toggle(
        "Also list sessions >= 1 point above the therapist's own mean", "rel",
        help="Catches a change in a usually well-rated therapist even below the threshold.")

    summary = query(contribution.contribution_summary, scope, threshold)
    st.caption(f"{md(scope.label)}. Sessions whose therapist-contribution rating is at or above {threshold}, "
               "most severe first, then newest. Severity = (contribution - 1) + (5 - overall resolution, when "
               "the session has a rupture), 0-8: the order of flagged sessions everywhere in rrrs.")
    cols = st.columns(4)
    cols[0].metric(f"Sessions rated >= {threshold}", summary["n_at_threshold"])
    cols[1].metric("Above the therapist's own mean", summary["n_above_own_mean"],
                   help="Sessions rated at least 1 point above that therapist's mean contribution")
    cols[2].metric("Rated sessions", summary["n_rated"])
    cols[3].metric("Ratings pending", summary["n_unrated"])
    if summary["n_unrated"]:
        st.caption(f"{summary['n_unrated']} coded session(s) in scope have no therapist-contribution rating "
                   "yet (ratings pending); they cannot be listed here until they are rated.")

    people = query(directory.therapists, scope)
    if not people.empty:
        left, right = st.columns([2, 1])
        chosen = left.selectbox("Therapist report for supervision", people.therapist_id.tolist(),
                                help="Caseload, contribution over time and the sessions to review first.")
        with right:
            pdf_download("Download therapist report (PDF)", f"rrrs-therapist-{chosen}.pdf",
                         lambda con, who, now: reports.therapist_report(
                             con, chosen, generated_by=who.name, scope=now, threshold=threshold),
                         target=chosen, scope=scope)

    sessions = query(contribution.high_contribution_sessions, scope, threshold, relative)
    if sessions.empty:
        st.info(f"No rated session in this scope has a therapist contribution of {threshold} or more.")
    else:
        if len(sessions) >= contribution.DEFAULT_LIMIT:
            st.caption(f"Showing the {len(sessions)} most severe sessions; raise the threshold or narrow the "
                       "scope to see the rest.")
        sessions = sessions.assign(link=links.session_urls(sessions.dyad_id, sessions.session_number),
                                   markers=cells.marker_lists(sessions.rupture_codes, cells.CONTRIBUTION_MARKERS_PX,
                                                              MARKER_LINES))
        row_px = cells.row_height(sessions, {"markers": cells.CONTRIBUTION_MARKERS_PX})
        st.dataframe(
            sessions,
            hide_index=True,
            placeholder="–",
            row_height=row_px,
            height=cells.height(len(sessions), row_px or tables.ROW_PX, max_rows=LIST_ROWS),
            column_order=["severity", "session_date", "dyad_id", "link", "therapist_id", "therapist_contribution",
                          "overall_resolution", "above_mean_by", "markers"],
            # Widths sum to about 930 px, the table's width at 1400 px: every column stays in view.
            column_config={
                "severity": st.column_config.NumberColumn(
                    "Severity", format="%d", width=66,
                    help="(therapist contribution - 1) + (5 - overall resolution when the session has a "
                         "rupture), 0-8; highest first"),
                "session_date": st.column_config.DateColumn("Date", format="YYYY-MM-DD", width=88),
                "dyad_id": st.column_config.TextColumn("Dyad", width=58),
                "therapist_id": st.column_config.TextColumn("Therapist", width=76),
                "therapist_contribution": st.column_config.NumberColumn("Contribution", format="%d", width=90),
                "above_mean_by": st.column_config.NumberColumn(
                    "vs own mean", format="%+.1f", width=88,
                    help="Contribution minus this therapist's mean contribution; +1.0 or more counts as above "
                         "the therapist's own mean"),
                "markers": cells.markers_column(sessions.markers, width=cells.CONTRIBUTION_MARKERS_PX),
                "overall_resolution": st.column_config.NumberColumn(
                    "Resolution", format="%d", width=80, help="Overall resolution, 1 poor - 5 very good"),
                "link": st.column_config.LinkColumn("Session", display_text=links.SESSION_DISPLAY, width=62,
                                                    help="Open the session detail: where the ruptures fell"),
            },
        )
        listed_above = int(sessions.above_own_mean.sum())
        st.caption(f"{listed_above} of the {len(sessions)} listed session(s) are at least 1 point above their "
                   "therapist's own mean.")

    st.subheader("Ratings per therapist")
    dist = query(contribution.contribution_distribution, scope)
    if dist.empty:
        st.info("No therapist-contribution ratings in this scope yet.")
    else:
        st.vega_lite_chart(glue.chart(charts.distribution_chart, dist, threshold), theme=None, width="content")
