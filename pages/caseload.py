"""Caseload: every dyad in scope, the most concerning first, each linking to its trajectory."""

from __future__ import annotations

import streamlit as st

from rrrs_core import palette
from rrrs_core.queries import caseload, recency
from rrrs_ui import auth, caseload_table, cells, links, widgets
from rrrs_ui.text import md

auth.require_page("caseload")

ALL = "all"


def in_text(label: str) -> str:
    """A flag's label inside a sentence: lower case, but an acronym stays ("SRS dropped")."""
    return label if label[:2].isupper() else label.lower()

RELATION_FILTER = {ALL: "All therapists", "own": "Own dyads", "trainee": "Trainees' dyads", "staff": "Staff's dyads"}

with widgets.guard():
    st.title("Caseload")
    widgets.provenance_banner()
    if widgets.empty_state():
        st.stop()

    scope = widgets.scope_selector()
    threshold = widgets.threshold_input()
    only_flagged = widgets.url_toggle("Only dyads with a concern flag", "flagged")
    inactive = widgets.url_toggle(  # on by default: dyads that stopped coming include the dropouts
        "Include ended dyads", "inactive", default=True,
        help=f"Dyads with no session in the {caseload.ACTIVE_DAYS} days before the latest session date in the "
             "data. They rank by their flags like any other dyad.")

    view = caseload_table.rows(scope, threshold, inactive=inactive, only_flagged=only_flagged, relation=None)
    auth.record("view caseload", scope.label, f"{view.listed} dyads listed")  # ids and flags: audited
    present = view.present
    relation = ALL
    if len(present) > 1:  # a supervisor's scope (own, trainees, staff) or the clinic (trainees, staff)
        relation = widgets.url_choice(
            "Therapists", "relation", {k: RELATION_FILTER[k] for k in (ALL, *present)},
            help="Own: the scope's supervisor's own dyads; trainees: therapists recorded as trainees; "
                 "staff: every other therapist in the scope.")
    if relation != ALL:
        view = caseload_table.rows(scope, threshold, inactive=inactive, only_flagged=only_flagged,
                                   relation=relation)
    n_ended_hidden, as_of = view.n_ended_hidden, view.as_of
    st.caption(f"{md(scope.label)}. {caseload.ORDER_RULE} Flag weights: "
               + ", ".join(f"{in_text(f.label)} {f.weight}" for f in caseload.FLAGS) + ". "
               + recency.as_of_note(as_of)
               + (f" {n_ended_hidden} ended dyad(s) hidden." if n_ended_hidden else ""))

    counts = view.counts  # every count describes exactly the rows below
    # Metrics as wide as their labels in a wrapping row (as on the dyad page): five fit at 1400 px and wrap at a
    # laptop's 1024 px instead of cutting the labels.
    row = st.container(horizontal=True, gap="medium")
    row.metric("Dyads shown", counts["dyads"], width="content")
    row.metric("Dyads flagged", counts["flagged"], width="content")
    row.metric("Unresolved ruptures", counts["unresolved"], width="content")
    row.metric(f"Contribution ≥ {threshold}", counts["high_contribution"], width="content",
               help=f"Dyads with at least one session rated therapist contribution {threshold} or more")
    row.metric("Patient alerts", counts["self_report"], width="content",
               help="Dyads with a self-report flag: " + ", ".join(
                   in_text(f.label) for f in caseload.FLAGS if f.key in caseload.SELF_REPORT_FLAGS))

    if view.table is None:
        st.info("No coded or self-reported sessions in this scope yet." if view.empty_scope
                else "No dyads with a concern flag here." if only_flagged
                else "No active dyads here: switch on 'Include ended dyads'." if n_ended_hidden
                else "No dyads match these filters.")
    else:
        st.dataframe(
            view.table,  # only the columns below (rrrs_ui.caseload_table)
            hide_index=True,
            placeholder="–",
            column_order=["dyad_link", "status", "concern_score", "last_seen", "flag_list",
                          *(["relation_label"] if len(present) > 1 else []), "therapist_id",
                          "worst_severity", "rupture_trend", "latest_resolution", "latest_srs",
                          "n_high_contribution", "n_sessions", "treatment"],
            column_config={
                "dyad_link": st.column_config.LinkColumn(
                    "Dyad", display_text=links.DYAD_DISPLAY, help="Open the dyad's trajectory", pinned=True),
                "status": st.column_config.TextColumn(
                    "Status", pinned=True, width=60,
                    help=" ".join(f"{k}: {v}" for k, v in caseload.STATUSES.items())),
                "concern_score": st.column_config.NumberColumn(
                    "Concern", format="%d", pinned=True, width=70,
                    help="Sum of the flag weights; the table is sorted by it"),
                "last_seen": st.column_config.TextColumn(
                    "Last session", width=170, help=recency.as_of_note(as_of)),
                "relation_label": st.column_config.TextColumn(
                    "Relation", width=70, help="Own, trainee or staff, as in the 'Therapists' filter"),
                "therapist_id": "Therapist",
                "treatment": "Treatment",
                "worst_severity": st.column_config.NumberColumn(
                    "Worst", format="%d", width=55,
                    help="Worst session severity (0-8): contribution - 1, plus 5 - resolution when there was "
                         "a rupture. Orders dyads with the same concern score."),
                "n_sessions": st.column_config.NumberColumn("Sessions coded", format="%d"),
                "rupture_trend": st.column_config.LineChartColumn(
                    f"Ruptures, last {caseload.TREND_SESSIONS}", y_min=0.0, y_max=1.0, color=palette.NEUTRAL,
                    width=120, help="Share of segments with a rupture marker, per session, oldest to newest"),
                "latest_resolution": st.column_config.NumberColumn(
                    "Latest resolution", format="%d", help="Overall resolution of the latest rated session"),
                "latest_srs": st.column_config.NumberColumn(
                    "Latest SRS", format="%.1f", width=80,
                    help="The patient's latest Session Rating Scale total (0-40; below 36: alliance below cutoff)"),
                "n_high_contribution": st.column_config.NumberColumn(
                    f"Contribution ≥ {threshold}", format="%d",
                    help="Sessions with therapist contribution at or above the threshold"),
                "flag_list": cells.flags_column(),
            },
        )

    with st.expander("How the order, the status and the concern flags are defined"):
        st.markdown("\n".join(f"- **{f.label}** (weight {f.weight}): {f.definition}"
                              for f in caseload.FLAGS))
        st.markdown(f"**Order.** {caseload.ORDER_RULE}")
        st.markdown("**Status.** " + " ".join(f"*{k}*: {v}" for k, v in caseload.STATUSES.items()))
