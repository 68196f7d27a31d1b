"""Session detail: one session's timeline, global ratings beside the patient's and therapist's self-reports,
rupture episodes and coders (URL: dyad, session, coder). A session with self-reports but no coding opens too."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from rrrs_core import episodes as ep
from rrrs_core.charts import session as charts
from rrrs_core.errors import NotFoundError
from rrrs_core.queries import selfreport as srq
from rrrs_core.queries import session as q
from rrrs_core.queries.severity import RULE
from rrrs_core.reports.review import SessionReview
from rrrs_core.scope import Scope
from rrrs_ui import auth, cells, dyad_picker, glue
from rrrs_ui import selfreport_view as srv
from rrrs_ui import widgets as w
from rrrs_ui.coder_reliability import show_coder_reliability
from rrrs_ui.glue import query
from rrrs_ui.links import carried_params
from rrrs_ui.notes_panel import notes_panel
from rrrs_ui.text import md
from rrrs_ui.transcript_attach import attach_panel
from rrrs_ui.transcript_pane import linked_media, selection_modes, transcript_pane

auth.require_page("session")

DYAD_PAGE = "pages/dyad.py"


def link_params(dyad_id: str, session: int | None = None) -> dict[str, str]:
    """Links keep the viewer's scope and threshold (rrrs_ui.links)."""
    params = {"dyad": dyad_id}
    if session is not None:
        params["session"] = str(session)
    return {**params, **carried_params()}


def choose_session(scope: Scope) -> tuple[str, int] | None:
    """Dyad and session from the URL; without them, pickers (a link from Dyad trajectory fills both)."""
    dyad_id, raw = w.param("dyad"), w.param("session")
    if not dyad_id:
        dyad_id = dyad_picker.choose_dyad(scope)  # searched, never every dyad in scope
        if not dyad_id:
            st.info("Choose a dyad and a session, or open one from **Dyad trajectory**.")
            return None
    if raw is None:
        sessions = query(q.sessions, scope, dyad_id)
        numbers = [int(s) for s in sessions.session_number]
        uncoded = {int(s) for s in sessions.loc[~sessions.coded, "session_number"]}
        number = st.selectbox("Session", numbers, index=None, placeholder="Choose a session",
                              format_func=lambda n: f"Session {n}{' (no final coding)' if n in uncoded else ''}")
        if number is None:
            st.info("Choose a session of this dyad.")
            return None
        w.set_param("session", number)
        return dyad_id, int(number)
    if not raw.isdigit():
        raise NotFoundError(f"Session {raw!r} not found.")
    return dyad_id, int(raw)


def show_navigation(head: dict[str, Any]) -> None:
    prev_, next_ = head["prev_session"], head["next_session"]
    cols = st.columns(3)
    if prev_ is not None:
        cols[0].page_link("pages/session.py", label=f"Session {prev_}", icon=":material/arrow_back:",
                          query_params=link_params(head["dyad_id"], prev_))
    cols[1].page_link(DYAD_PAGE, label=f"Dyad {md(head['dyad_id'])} trajectory", icon=":material/timeline:",
                      query_params=link_params(head["dyad_id"]))
    if next_ is not None:
        cols[2].page_link("pages/session.py", label=f"Session {next_}", icon=":material/arrow_forward:",
                          query_params=link_params(head["dyad_id"], next_))


def choose_coder(codings: pd.DataFrame) -> str:
    """The primary coding unless the URL or the picker names another coder of this session."""
    coders = list(codings.coder_id)
    primary = coders[0]
    wanted = w.param("coder")
    if wanted and wanted not in coders:
        st.warning(f"Coder {md(wanted)} has no final coding of this session; showing the primary coding.")
        wanted = None
    labels = {r.coder_id: f"{r.coder_id} (primary{', consensus' if r.consensus else ''})" if r.is_primary
              else r.coder_id for r in codings.itertuples()}
    shown = st.selectbox("Coding shown", coders, index=coders.index(wanted or primary),
                         format_func=labels.get, help="The primary coding is the consensus coding if there "
                         "is one, otherwise that of the coder who imported first. It feeds every dashboard.")
    w.set_param("coder", None if shown == primary else shown)
    return shown


def show_ratings(ratings: pd.DataFrame, coder: str) -> None:
    st.subheader("Global ratings")
    if ratings.rating.isna().all():
        st.warning(f"Ratings pending: {md(coder)} has marked segments but not yet given the global ratings. "
                   "Ask them to complete the scoresheet and re-import it on **Data**.")
    cols = st.columns(len(ratings))
    for col, r in zip(cols, ratings.itertuples(), strict=True):
        if pd.isna(r.rating):
            col.metric(r.label, "pending", help=r.help)
        else:
            col.metric(r.label, f"{int(r.rating)} / 5", help=r.help)
            col.caption(r.anchor)


def show_episodes(episodes: list[ep.Episode], unlinked: list[ep.Mark], segment_minutes: int) -> None:
    st.subheader("Rupture-to-resolution episodes")
    st.caption(f"An episode is a run of consecutive segments with a rupture marker (check). It counts as "
               f"addressed when a resolution strategy (check) falls in it or in the {ep.EPISODE_WINDOW} segments "
               f"after it (about {ep.EPISODE_WINDOW * segment_minutes} minutes); "
               "check-minus strategies are listed but do not count. When the session ended within that window "
               "and no strategy was coded, the episode is *unaddressed in session*: there was no time left for "
               "a repair, so it is not counted as unaddressed. Addressed means a repair was attempted; "
               "whether it worked is the Overall resolution rating.")
    if not episodes:
        st.markdown("No rupture episodes: no segment has a withdrawal or confrontation marker (check).")
    else:
        open_ = [e for e in episodes if e.unaddressed]
        cut = [e for e in episodes if e.status == ep.IN_SESSION]
        summary = f"{len(episodes)} episode{'s' if len(episodes) != 1 else ''}"
        if open_:
            where = ", ".join(e.minutes for e in open_)
            summary += f"; **{len(open_)} unaddressed** (no strategy within the window): {where}"
        if cut:
            where = ", ".join(e.minutes for e in cut)
            summary += f"; {len(cut)} unaddressed in session (the session ended within the window): {where}"
        if not open_ and not cut:
            summary += ", all addressed by a resolution strategy"
        st.markdown(summary + ".")
        cells.show_episodes(ep.episodes_table(episodes))
    if unlinked:
        listed = "; ".join(f"{m.label} ({ep.minutes(m.segment, m.segment, segment_minutes)})" for m in unlinked)
        st.caption(f"Strategies outside every episode window (a repair of an earlier or anticipated rupture, "
                   f"or worth discussing): {listed}.")


def url_threshold(default: int = 4) -> int:
    """The therapist-contribution threshold carried in the URL (`tc`) from the page the link came from."""
    raw = w.param("tc", str(default))
    return int(raw) if raw and raw.isdigit() and 1 <= int(raw) <= 5 else default


def show_flag(head: dict[str, Any], coder: str, primary: str, ratings: pd.DataFrame, marks: pd.DataFrame,
              episodes: list[ep.Episode]) -> None:
    """Whether the shared rule flags this session (on its primary coding), how severe, and why."""
    tc = url_threshold()
    if coder != primary:
        st.caption(f"Flags and severity use the primary coding ({md(primary)}).")
        return
    given = dict(zip(ratings.item, ratings.rating, strict=True))

    def rating(item: str) -> int | None:
        value = given.get(item)
        return None if value is None or pd.isna(value) else int(value)

    review = SessionReview(
        head["dyad_id"], int(head["session_number"]), head["session_date"], int(head["n_segments"]),
        int(head["segment_minutes"]), coder, rating("therapist_contribution"), rating("overall_resolution"),
        ratings.rating.isna().all(), tc, tuple(ep.marks_from_frame(marks)), tuple(episodes))
    if review.flagged:
        st.markdown(f":violet[**Flagged for review, severity {review.severity} of 8:**] "
                    f"{md('; '.join(review.reasons()))}.", help=RULE.format(threshold=tc))
    else:
        st.caption(f"Not flagged for review. {RULE.format(threshold=tc)}")


def show_coders(scope: Scope, head: dict[str, Any], codings: pd.DataFrame, shown: str) -> None:
    st.subheader("Coders")
    names = ", ".join(f"{md(r.coder_id)}{' (primary)' if r.is_primary else ''}" for r in codings.itertuples())
    st.markdown(f"Coded by {names}.")
    others = [c for c in codings.coder_id if c != shown]
    if not others:
        st.caption("One coder only. A second coding of this session would allow a reliability check.")
        return
    other = others[0] if len(others) == 1 else st.selectbox("Compare with", others)
    args = (scope, head["dyad_id"], head["session_number"])
    diff = query(q.coder_diff, *args, shown, other)
    st.markdown(f"{md(shown)} and {md(other)} agree on {diff.n_agree} of {diff.n_union} marks (same code, segment "
                "and clarity).")
    table = q.diff_table(diff, int(head["segment_minutes"]))
    if len(table):
        st.dataframe(table, hide_index=True)
    else:
        st.markdown("They marked the same codes in the same segments.")
    ratings = pd.DataFrame({
        "Rating": diff.ratings.label,
        **{name: [("not rated" if pd.isna(v) else str(int(v))) for v in diff.ratings[col]]
           for name, col in ((shown, "a"), (other, "b"))},
        f"{other} - {shown}": [("" if pd.isna(v) else f"{int(v):+d}" if v else "0")
                               for v in diff.ratings.difference],
    })
    st.dataframe(ratings, hide_index=True)
    marks_other = query(q.marks, *args, other)
    marks_shown = query(q.marks, *args, shown)
    st.vega_lite_chart(glue.chart(charts.comparison_chart, marks_shown, marks_other, int(head["n_segments"]),
                                            int(head["segment_minutes"])), theme=None)


def show_codebook(marks: pd.DataFrame) -> None:
    with st.expander("Codebook: the codes in this session"):
        for r in marks.drop_duplicates("code").itertuples():
            st.markdown(f"**{r.label}** ({r.family}): {r.definition}  \n*Check-minus when:* "
                        f"{r.check_minus_guidance}")


def main() -> None:
    st.title("Session detail")
    w.provenance_banner()
    if w.empty_state():
        return
    scope = w.scope_selector()
    chosen = choose_session(scope)
    if chosen is None:
        return
    head = query(q.session_header, scope, *chosen)
    auth.record("view session", f"{chosen[0]}/{chosen[1]}")
    date = head["session_date"].isoformat() if head["session_date"] else "no date"
    length = (f"{head['n_segments']} segments of {head['segment_minutes']} min" if head["n_segments"] is not None
              else "not coded (known from its self-reports)")
    st.markdown(f"**Dyad {md(head['dyad_id'])} - session {head['session_number']}** - {date} - therapist "
                f"{md(head['therapist_id'])} - {length}")
    show_navigation(head)
    reports = query(srq.session_reports, scope, *chosen)
    codings = query(q.codings, scope, *chosen)
    if codings.empty:
        drafts = f" ({head['n_drafts']} draft coding(s) exist)" if head["n_drafts"] else ""
        st.info(f"This session has no final coding yet{drafts}. Upload a final coding on **Data**.")
        srv.show_session_reports(reports)
        if head["n_segments"] is not None:
            notes_panel(chosen[0], chosen[1], author=auth.principal().name)
        return
    coder = choose_coder(codings)
    show_coder_reliability([coder], what="the coding shown")
    marks = query(q.marks, scope, *chosen, coder)
    episodes, unlinked = query(ep.session_episodes, scope, *chosen, coder)
    ratings = query(q.ratings, scope, *chosen, coder)
    show_flag(head, coder, str(codings.coder_id.iloc[0]), ratings, marks, episodes)
    show_ratings(ratings, coder)
    srv.show_session_reports(reports)
    st.subheader("Timeline")
    has_text, recording = linked_media(*chosen)
    linked, event = has_text or recording is not None, None
    if marks.empty:
        st.info("No codes were marked in this session: no rupture markers and no resolution strategies.")
    else:
        spec = glue.chart(charts.timeline_chart, marks, int(head["n_segments"]), int(head["segment_minutes"]),
                          episodes, selectable=linked)
        if linked:   # a click on a mark or an episode opens those minutes in the transcript pane
            event = st.vega_lite_chart(spec, theme=None, on_select="rerun", key="timeline",
                                       selection_mode=selection_modes(episodes))
        else:
            st.vega_lite_chart(spec, theme=None)
        show_codebook(marks)
    transcript_pane(head, marks, episodes, event, has_text, recording)
    attach_panel(*chosen, has_text)
    show_episodes(episodes, unlinked, int(head["segment_minutes"]))
    show_coders(scope, head, codings, coder)
    notes_panel(chosen[0], chosen[1], author=auth.principal().name)


with w.guard():
    main()
