"""Dyad trajectory: one dyad's ruptures, repairs and global ratings across sessions, and the patient's
self-reports on the same session axis (URL: dyad, tc)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from rrrs_core import reports
from rrrs_core.charts import dyad as charts
from rrrs_core.episodes import EPISODE_WINDOW
from rrrs_core.queries import caseload, recency, severity
from rrrs_core.queries import dyad as q
from rrrs_core.queries import selfreport as srq
from rrrs_core.queries.severity import RULE as SEVERITY_RULE
from rrrs_ui import auth, glue, tables
from rrrs_ui import selfreport_view as srv
from rrrs_ui import widgets as w
from rrrs_ui.coder_reliability import show_coder_reliability
from rrrs_ui.dyad_picker import choose_dyad
from rrrs_ui.glue import query
from rrrs_ui.links import carried_params
from rrrs_ui.notes_panel import notes_panel
from rrrs_ui.pdf_button import pdf_download
from rrrs_ui.text import md
from rrrs_ui.transcript_search import search_panel

auth.require_page("dyad")

SESSION_PAGE = "pages/session.py"


def show_header(info: dict[str, Any], last: recency.LastSession) -> None:
    role = "trainee" if info["trainee"] else "therapist"
    sup = f", supervised by {md(info['supervisor_id'])}" if info["supervisor_id"] else ""
    st.markdown(f"**Dyad {md(info['dyad_id'])}** - {role} {md(info['therapist_id'])}{sup} - patient "
                f"{md(info['patient_id'] or 'unknown')} - {md(info['treatment'] or 'treatment not recorded')}")
    st.markdown(f"**{md(last.text)}**", help=last.note)


def show_key_figures(info: dict[str, Any], figs: dict[str, Any], tc: int) -> None:
    # Metrics as wide as their labels in a wrapping row: five fit at 1400 px and wrap at a laptop's 1024
    # px instead of cutting the labels ("Sessions c...") as five equal columns did.
    row = st.container(horizontal=True, gap="medium")
    row.metric("Sessions coded", figs["sessions_coded"], width="content",
               help=f"{info['n_sessions']} sessions recorded; coded = with a final coding.")
    share = figs["mean_rupture_share"]
    row.metric("Mean rupture share", "-" if share is None else f"{share:.0%}", width="content",
               help="Segments with a withdrawal or confrontation marker (check), as a share of the "
                    "session's coded segments, averaged over sessions.")
    if figs["latest_resolution"] is None:
        row.metric("Latest resolution", "pending", width="content")
    else:
        row.metric("Latest resolution", f"{figs['latest_resolution']} / 5", width="content",
                   help=f"Overall resolution of session {figs['latest_resolution_session']}, the latest with "
                        "ratings: 1 poor - 3 average - 5 very good.")
    row.metric(f"Contribution ≥ {tc}", len(figs["high_contribution_sessions"]), width="content",
               help=f"Sessions whose therapist-contribution rating is {tc} or more (threshold in the sidebar).")
    row.metric("Ratings pending", len(figs["pending_sessions"]), width="content",
               help="Coded sessions without global ratings yet.")


def show_guidance(traj: pd.DataFrame, figs: dict[str, Any], tc: int) -> None:
    """What stands out and what to do next, in words (also what tests and screen readers find)."""
    high = traj[traj.high_contribution]
    if len(high):
        listed = ", ".join(f"session {int(r.session_number)} (contribution {int(r.therapist_contribution)})"
                           for r in high.itertuples())
        st.markdown(f":violet[**Therapist contribution at or above {tc}:** {listed}.] Highlighted on every "
                    "chart below; open the session to see where the ruptures fell.")
    else:
        st.markdown(f"No session has a therapist-contribution rating at or above {tc}.")
    if figs["pending_sessions"]:
        listed = ", ".join(str(s) for s in figs["pending_sessions"])
        st.warning(f"Ratings pending for session {listed}: the coder has marked segments but not yet given "
                   "the global ratings. Ask them to complete the scoresheet and re-import it on **Data**.")
    if len(traj) == 1:
        st.info("Only one coded session so far: the trajectory appears once a second session is coded. "
                "Upload further codings on **Data**; meanwhile open the session below for its detail.")


def flag_text(r: Any, tc: int) -> str:
    """Which part of the shared rule flagged the session, short so the whole table fits a laptop's width
    (the column help spells it out); 'pending' alone marks ratings pending without a flag."""
    parts = []
    if r.high_contribution:
        parts.append(f"TC ≥ {tc}")
    if severity.unresolved(None if pd.isna(r.overall_resolution) else int(r.overall_resolution),
                           r.rupture_segments):
        parts.append(f"res {int(r.overall_resolution)}")
    if r.ratings_pending:
        parts.append("pending, unaddr." if r.flagged else "pending")
    return ", ".join(parts)


def pair(a: Any, b: Any) -> str | None:
    """Two ratings as "2 / 4"; None (the table's dash) while ratings are pending."""
    if pd.isna(a) and pd.isna(b):
        return None
    return " / ".join("-" if pd.isna(v) else str(int(v)) for v in (a, b))


def session_table(traj: pd.DataFrame, tc: int) -> pd.DataFrame:
    """One row per coded session, newest first: the latest sessions are the ones to act on."""
    newest = traj.sort_values(["session_date", "session_number"], ascending=False, na_position="last")
    return pd.DataFrame({
        "Session": newest.session_number, "Date": newest.session_date,
        "Severity": newest.severity.where(newest.flagged).astype("Int64"),
        "Flag": [flag_text(r, tc) for r in newest.itertuples()],
        "Withdrawal": newest.withdrawal_share * 100, "Confrontation": newest.confrontation_share * 100,
        "Episodes": newest.episodes, "Unaddressed": newest.unaddressed,
        "At end": newest.unaddressed_in_session,
        "Overall W / C": [pair(w_, c_) for w_, c_ in zip(newest.overall_withdrawal, newest.overall_confrontation,
                                                           strict=True)],
        "Resolution": newest.overall_resolution, "Contribution": newest.therapist_contribution,
        "Coder": newest.coder_id,
    }).reset_index(drop=True)


def default_session(traj: pd.DataFrame) -> int:
    """The worst flagged session (highest severity, newest on ties), else the latest session."""
    flagged = traj[traj.flagged]
    if len(flagged):
        worst = flagged.sort_values(["severity", "session_date", "session_number"], ascending=False,
                                    na_position="last")
        return int(worst.session_number.iloc[0])
    return int(traj.session_number.max())


def url_session(numbers: list[int]) -> int | None:
    """A session named in the URL (`?session=`), if it is one of the coded sessions."""
    raw = w.param("session")
    return int(raw) if raw and raw.isdigit() and int(raw) in numbers else None


def open_session(dyad_id: str, traj: pd.DataFrame, picked: int | None) -> None:
    """Pick a session to open: one clicked on the strip, else one in the URL, else `default_session`."""
    numbers = sorted((int(s) for s in traj.session_number), reverse=True)
    default = picked if picked in numbers else url_session(numbers) or default_session(traj)
    severity = {int(r.session_number): int(r.severity) for r in traj.itertuples() if r.flagged}
    col1, col2 = st.columns([1, 1], vertical_alignment="bottom")   # the label fits at 1024 px too
    number = col1.selectbox("Open a session", numbers, index=numbers.index(default),
                            format_func=lambda n: f"Session {n}" + (f" (severity {severity[n]})"
                                                                     if n in severity else ""),
                            help="Flagged sessions show their severity. Starts at the worst flagged session "
                                 "(highest severity, newest on ties), or the latest session when none is "
                                 "flagged.")
    params = {"dyad": dyad_id, "session": str(number), **carried_params()}
    col2.page_link(SESSION_PAGE, label=f"Session {number} detail",
                   icon=":material/arrow_forward:", query_params=params)


def picked_session(event: Any) -> int | None:
    """Session number clicked in the strip (Streamlit selection state), if any."""
    try:
        points = event["selection"]["pick"]
        return int(points[0]["session_number"]) if points else None
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def show_selfreports(both: pd.DataFrame, tc: int) -> None:
    """The patient's forms on the rupture chart's session axis, and where they disagree with the coding."""
    st.subheader("The patient's view", help="Self-reports the patient filled in after sessions, coded or not, "
                 "on the same session axis as the rupture chart above.")
    found = srq.discordance(both)
    srv.show_summary(both, found)
    srv.show_charts(both, tc)
    srv.show_discordance(found, both)


def main() -> None:
    st.title("Dyad trajectory")
    w.provenance_banner()
    if w.empty_state():
        return
    scope = w.scope_selector()
    tc = w.threshold_input()
    dyad_id = choose_dyad(scope)
    if not dyad_id:
        st.info("Choose a dyad to see its sessions over time. The Caseload page lists the dyads that need "
                "attention first.")
        return
    info = query(q.require_dyad, scope, dyad_id)
    auth.record("view dyad", dyad_id)
    show_header(info, query(recency.last_session, dyad_id, scope))
    pdf_download("Download dyad report (PDF)", f"rrrs-dyad-{dyad_id}.pdf",
                 lambda con, who, now: reports.dyad_report(con, dyad_id, generated_by=who.name, scope=now,
                                                           threshold=tc), target=dyad_id, scope=scope)
    traj = query(q.trajectory, scope, dyad_id, tc)
    axis = query(srq.dyad_axis, scope, dyad_id)
    reported = bool((axis.patient_forms.map(len) > 0).any())
    if traj.empty and not reported:
        st.info("No session of this dyad has a final coding or a self-report yet. Upload codings on **Data**; "
                "draft codings appear here once they are marked final.")
        return
    both = srq.beside(axis, traj)
    sessions = tuple(int(s) for s in axis.session_number)
    srv.show_flags(query(caseload.dyad_flags, dyad_id, info["therapist_id"], tc), srq.latest(both))
    if traj.empty:
        st.info("No session of this dyad has a final coding yet: the patient's self-reports are shown below. "
                "Upload codings on **Data**; draft codings appear here once they are marked final.")
        show_selfreports(both, tc)
        st.subheader("Supervision notes")
        notes_panel(dyad_id, author=auth.principal().name)
        return
    figs = q.key_figures(traj)
    show_key_figures(info, figs, tc)
    show_guidance(traj, figs, tc)
    show_coder_reliability(traj.coder_id.value_counts().index, what="coders of the sessions shown, most first")
    st.vega_lite_chart(glue.chart(charts.rupture_share_chart, traj, tc, sessions=sessions), theme=None)
    if reported:
        show_selfreports(both, tc)
    st.vega_lite_chart(glue.chart(charts.ratings_chart, traj, tc, sessions=sessions), theme=None, width="content")
    strip = query(q.segment_strip, scope, dyad_id)
    event = st.vega_lite_chart(glue.chart(charts.segment_strip_chart, strip, traj, tc, selectable=True), theme=None,
                            on_select="rerun", selection_mode="pick", key="strip")
    st.caption(f"Hover a cell for the codes; click a session row to pick it below. Rupture episodes: "
               f"consecutive rupture segments; unaddressed = no resolution strategy (check) in them or the "
               f"{EPISODE_WINDOW} segments after; unaddressed in session (At end) = the session ended within "
               "those segments.")
    open_session(dyad_id, traj, picked_session(event))
    search_panel(dyad_id)
    st.subheader("Sessions")   # next to the picker, above the notes: the list a supervisor reads first
    st.caption(f"Newest first; click the Severity header to sort the worst first. "
               f"{SEVERITY_RULE.format(threshold=tc)}")
    table = session_table(traj, tc)
    st.dataframe(table, hide_index=True, placeholder=tables.PLACEHOLDER, height=tables.rows_height(len(table)),
                 column_order=tables.DYAD_SESSIONS_ORDER, column_config=tables.dyad_sessions(tc))
    st.subheader("Supervision notes")
    notes_panel(dyad_id, author=auth.principal().name)

with w.guard():
    main()
