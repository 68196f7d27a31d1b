"""Streamlit glue of the Reliability page: filters, the agreement tables, the drill-down, calibration, drift.

Statistics are de-identified aggregates over coders, so every role that may open the page sees them for the
whole clinic; session-level views (drill-down, reference codings) follow the viewer's reach
(`pairs.Viewer`): a coder sees only pairs that include themselves, a supervisor the dyads in their scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd
import streamlit as st

from rrrs_core import access
from rrrs_core.charts import reliability as charts
from rrrs_core.reliability import calibration, drift, pairs, view
from rrrs_core.reliability.design import Design
from rrrs_core.scope import CLINIC
from rrrs_ui import auth, glue, widgets
from rrrs_ui.glue import query
from rrrs_ui.pdf_button import pdf_download
from rrrs_ui.permit import permit
from rrrs_ui.text import md

ALL = "all"
CHECK_MINUS_RULE = ("**Presence rule:** a segment counts as *present* for a code when the code is marked "
                    "**check**; **check-minus counts as absent** (the coder was unsure it meets criteria).")
BANDS_RULE = ("Bands: ICC by Koo & Li (2016), judged on the 95% CI (poor < .50, moderate .50-.75, good "
              ".75-.90, excellent > .90; a CI spanning two bands reads 'moderate to good'); kappa and AC1 by "
              "Landis & Koch (1977) (slight .00-.20, fair -.40, moderate -.60, substantial -.80, almost "
              "perfect > .80). An empty cell gives its reason.")
NUM = {"format": "%.2f"}
ALL_STATISTICS = {  # the CSV's columns (rrrs reliability), labelled for reading
    "item": "Item", "statistic": "Statistic", "value": st.column_config.NumberColumn("Value", format="%.3f"),
    "ci_low": st.column_config.NumberColumn("95% CI low", format="%.3f"),
    "ci_high": st.column_config.NumberColumn("95% CI high", format="%.3f"), "n_units": "Units (n)", "n_coders": "Coders",
    "reason": "Why empty", "band": "Band", "unit": "Unit", "method": "Method", "lead": "Shown first"}


def viewer(who: access.Principal) -> pairs.Viewer:
    """A coder sees pairs with themselves only (a coder account without a coder id: none)."""
    if who.role == "coder":
        return pairs.Viewer(access.NOBODY, who.coder_id or "\x00none")
    return pairs.Viewer(auth.scope())


def filters(v: pairs.Viewer) -> tuple[Design, tuple[str, str] | None]:
    """Period and coder pair (sidebar, kept in the URL as since/until/pair); the pair's crossed design or
    routine double-coding."""
    first, last = query(pairs.date_range)
    since = until = None
    if first is not None:
        start = _date(widgets.param("since"), first)
        end = _date(widgets.param("until"), last)
        chosen = st.sidebar.date_input("Period (session dates)", min_value=first,
                                       max_value=last, key=widgets.seed("period", (start, end)))
        if isinstance(chosen, (tuple, list)) and len(chosen) == 2:
            since, until = chosen
        widgets.set_param("since", None if since in (None, first) else since)
        widgets.set_param("until", None if until in (None, last) else until)
        since = None if since == first else since
        until = None if until == last else until
    listed = query(pairs.pairs, pairs.Viewer(CLINIC, v.coder_id), since, until)
    options = {ALL: "All coders: routine double-coding"}
    for r in listed.itertuples():
        options[f"{r.coder_a},{r.coder_b}"] = f"{r.coder_a} and {r.coder_b} ({r.sessions} sessions both coded)"
    raw = widgets.param("pair", ALL)
    key = widgets.seed("pair", raw if raw in options else ALL)
    if st.session_state[key] not in options:
        st.session_state[key] = ALL
    pick = st.sidebar.selectbox("Coders compared", list(options), key=key, format_func=options.__getitem__,
                                help="A pair: the sessions both coded, every ICC form (fully crossed). All "
                                     "coders: each double-coded session's two earliest codings (one-way ICC).")
    widgets.set_param("pair", None if pick == ALL else pick)
    pair = None if pick == ALL else tuple(pick.split(","))
    return Design(coders=pair or (), since=since, until=until), pair  # type: ignore[return-value]


def _date(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


def agreement(design: Design) -> None:
    """The two tables: ICC per session value, AC1/kappa per segment presence, with bands and reasons."""
    icc, presence, frame, (n_sessions, n_coders) = query(view.page_tables, design)
    st.markdown(f"**{md(design.describe())}**: {n_sessions} sessions, {n_coders} coders. "
                f"Leading form: **{'ICC(2,1)' if design.crossed else 'ICC(1,1)'}** "
                f"({'absolute agreement, single coder' if design.crossed else 'one-way: the second coder varies'}).")
    if n_sessions < 5:
        st.info(f"Too few data: {n_sessions} sessions compared; a statistic needs at least 5. The cells below "
                "are empty with their reason.")
    st.caption(BANDS_RULE)
    st.subheader("Per-session values (ICC)")
    st.dataframe(icc, hide_index=True, placeholder="", column_order=[
        "group", "label", "statistic", "value", "ci_low", "ci_high", "band", "n_units", "n_coders", "reason"],
        column_config={"group": "Kind", "label": "Item", "statistic": "Form",
                       "value": st.column_config.NumberColumn("ICC", **NUM),
                       "ci_low": st.column_config.NumberColumn("95% CI low", **NUM),
                       "ci_high": st.column_config.NumberColumn("95% CI high", **NUM),
                       "band": "Band (Koo & Li, on the CI)", "n_units": "Sessions", "n_coders": "Coders",
                       "reason": "Why empty"})
    st.subheader("Per-segment presence (AC1, kappa)")
    st.markdown(CHECK_MINUS_RULE)
    st.dataframe(presence, hide_index=True, placeholder="", column_order=[
        "group", "label", "ac1", "band", "kappa", "kappa_band", "alpha", "agreement", "n_units", "n_coders",
        "reason"],
        column_config={"group": "Kind", "label": "Code or family",
                       "ac1": st.column_config.NumberColumn("AC1", **NUM), "band": "AC1 band (Landis & Koch)",
                       "kappa": st.column_config.NumberColumn("Kappa", **NUM), "kappa_band": "Kappa band",
                       "alpha": st.column_config.NumberColumn("Alpha", **NUM),
                       "agreement": st.column_config.NumberColumn("Agreement", format="percent"),
                       "n_units": "Segments", "n_coders": "Coders", "reason": "Why empty"})
    with st.expander("Every statistic (all ICC forms, kappa method)"):
        st.dataframe(frame, hide_index=True, placeholder="", column_config=ALL_STATISTICS)


def _session_label(row: pd.Series) -> str:
    date = "" if pd.isna(row.session_date) else f" · {pd.Timestamp(row.session_date):%Y-%m-%d}"
    what = f"{row.disputed} disputed" + (f": {row.codes}" if row.codes else "")
    return f"{row.dyad_id} session {row.session_number}{date} · {what}"


def drill_down(v: pairs.Viewer, coder_a: str, coder_b: str, design: Design, key: str) -> pairs.Comparison | None:
    """Pick a session both coded (most disputed first), then both timelines and the disputed codes' definitions."""
    listed = query(pairs.sessions, v, coder_a, coder_b, design.since, design.until)
    if listed.empty:
        st.info("No session both coded that you may open" + (" in this period." if design.since or design.until
                                                             else "."))
        return None
    labels = {i: _session_label(r) for i, r in listed.iterrows()}
    pick = st.selectbox("Session", list(labels), format_func=labels.__getitem__, key=key,
                        help="Sessions both coded, the most disputed first.")
    row = listed.loc[pick]
    comp = query(pairs.compare, v, row.dyad_id, int(row.session_number), coder_a, coder_b)
    title_b = f"Reference ({comp.coder_b})" if coder_b == pairs.REFERENCE else None
    left, right = st.columns([2, 1], gap="medium")
    with left:
        st.vega_lite_chart(glue.chart(charts.pair_timeline_chart, comp.marks, comp.disputed, comp.coder_a,
                                      comp.coder_b, comp.n_segments, comp.segment_minutes, title_b=title_b),
                           theme=None, width="stretch")
    with right:
        st.markdown("#### Disputed codes: the manual's definitions")
        if comp.definitions.empty:
            st.success("No disputed mark: both codings mark the same codes check in the same segments.")
        for d in comp.definitions.itertuples():
            where = comp.disputed[comp.disputed.code == d.code]
            spots = "; ".join(f"{r.minute_start}-{r.minute_end} min ({md(comp.coder_a)}: {_clarity(r.clarity_a)}, "
                              f"{md(comp.coder_b)}: {_clarity(r.clarity_b)})" for r in where.itertuples())
            st.markdown(f"**{md(d.label)}** ({d.family})  \n{md(d.definition)}  \n*Check-minus when:* "
                        f"{md(d.check_minus)}  \n:violet[Disputed at {spots}]")
    return comp


def _clarity(value: str) -> str:
    return {"check": "check", "check_minus": "check-minus", "absent": "absent"}.get(value, value)


def reference_buttons(comp: pairs.Comparison) -> None:
    """Supervisors and admins: make either coding the session's reference (calibration)."""
    current = query(calibration.reference_of, comp.dyad_id, comp.session_number)
    st.caption(f"Reference coding of this session: {md(current) if current else 'none (not a calibration session)'}.")
    cols = st.columns(3)
    for col, coder in zip(cols, (comp.coder_a, comp.coder_b), strict=False):
        if coder != current and col.button(f"Mark {md(coder)} as reference", key=f"ref_{coder}",
                                           help=f"Make {md(coder)}'s coding the reference of this calibration session"):
            _write(lambda c=coder: calibration.mark(glue.connection(), comp.dyad_id, comp.session_number, c,
                                                    user=auth.principal().subject, role=auth.principal().role,
                                                    permit=permit()))
    if current and cols[2].button("Remove reference", key="ref_remove"):
        _write(lambda: calibration.unmark(glue.connection(), comp.dyad_id, comp.session_number,
                                          user=auth.principal().subject, role=auth.principal().role,
                                          permit=permit()))


def _write(action: Callable[[], None]) -> None:
    """Run a write, then recompute every page from the new data."""
    action()
    glue.data_changed()
    st.rerun()


def criterion_input() -> calibration.Criterion:
    with st.expander(f"Criterion: {calibration.DEFAULT.describe()}"):
        icc_min = st.number_input("Minimum ICC(2,1) on each family frequency", 0.0, 1.0,
                                  calibration.DEFAULT.icc_min, 0.05, key="crit_icc")
        ac1_min = st.number_input("Minimum AC1 on each family's presence", 0.0, 1.0, calibration.DEFAULT.ac1_min,
                                  0.05, key="crit_ac1")
    return calibration.Criterion(round(float(icc_min), 2), round(float(ac1_min), 2))


def calibration_section(v: pairs.Viewer, who: access.Principal) -> None:
    criterion = criterion_input()
    overview = query(calibration.overview, criterion)
    if v.coder_id is not None:
        overview = overview[overview.coder_id == v.coder_id]
    refs = query(calibration.references)
    st.caption(f"{len(refs)} calibration session(s) with a reference coding. Each coder's codings of them are "
               "compared with the reference as a fully crossed pair.")
    if overview.empty:
        st.info("No coder has coded a calibration session yet." if v.coder_id is None else
                "You have not coded a calibration session yet.")
    else:
        st.dataframe(overview, hide_index=True, placeholder="", column_order=[  # status first: seen at 1024 px
            "coder_id", "status", "sessions", "icc_rupture_segments", "ac1_rupture", "short_of"], column_config={
            "coder_id": "Coder", "sessions": "Calibration sessions",
            "icc_rupture_segments": st.column_config.NumberColumn("ICC(2,1) rupture segments", **NUM),
            "ac1_rupture": st.column_config.NumberColumn("AC1 rupture presence", **NUM),
            "status": "Status", "short_of": "Short of the criterion"})
        trainee = st.selectbox("Coder", list(overview.coder_id), key="cal_coder")
        table = query(calibration.trainee_table, trainee)
        verdict, short = calibration.status(table, criterion)
        (st.success if verdict == calibration.MEETS else st.warning)(
            f"{md(trainee)}: **{verdict}**" + ("" if not short else " - " + md("; ".join(short))))
        presence = view.presence_table(table)
        st.markdown("Per-code agreement with the reference (AC1 and kappa per segment; " + CHECK_MINUS_RULE + ")")
        st.dataframe(presence, hide_index=True, placeholder="", column_order=[
            "label", "ac1", "band", "kappa", "agreement", "n_units", "reason"],
            column_config={"label": "Code or family", "ac1": st.column_config.NumberColumn("AC1", **NUM),
                           "band": "AC1 band", "kappa": st.column_config.NumberColumn("Kappa", **NUM),
                           "agreement": st.column_config.NumberColumn("Agreement", format="percent"),
                           "n_units": "Segments", "reason": "Why empty"})
        st.markdown("**Disagreements with the reference**, most disputed session first:")
        drill_down(v, trainee, pairs.REFERENCE, Design(), key="cal_session")
    if who.role in ("admin", "supervisor"):
        with st.expander("Reference codings (calibration sessions)"):
            st.dataframe(refs, hide_index=True, placeholder="", column_config={
                "dyad_id": "Dyad", "session_number": "Session", "session_date": "Date",
                "reference_coder": "Reference coder", "marked_by": "Marked by", "marked_at": "Marked at",
                "coders": "Other coders"})
            st.caption("Mark a reference from the drill-down (Agreement tab, choose a pair and a session), "
                       "or name the session here.")
            cols = st.columns(3)
            dyad = cols[0].text_input("Dyad", key="ref_dyad").strip()
            number = cols[1].number_input("Session", 1, 100000, 1, key="ref_session")
            coders = query(pairs.session_coders, v, dyad, int(number)) if dyad else []
            coder = cols[2].selectbox("Reference coder", coders, key="ref_coder",
                                      placeholder="no final coding" if dyad else "name a dyad")
            if st.button("Mark as reference", disabled=not coder, key="ref_mark"):
                _write(lambda: calibration.mark(glue.connection(), dyad, int(number), str(coder),
                                                user=who.subject, role=who.role, permit=permit()))


def drift_section(design: Design) -> None:
    period = st.radio("Period", drift.PERIODS, horizontal=True, format_func=str.capitalize, key="drift_period")
    frame = query(drift.drift, period, design.since, design.until)
    if frame.icc.notna().sum() == 0:
        st.info("Too few data: no coder has 5 or more routine double-coded sessions in any "
                f"{period}, so there is no agreement over time to show.")
        return
    st.vega_lite_chart(glue.chart(charts.drift_chart, frame, period), theme=None, width="stretch")
    st.caption("Each double-coded session counts for both of its coders: a coder whose line falls while the "
               "others stay level is drifting from the group. AC1 on rupture presence per segment is in the "
               "table below; it stays high on rare codes, which is why the line is the ICC.")
    st.dataframe(frame, hide_index=True, placeholder="", column_config={
        "coder_id": "Coder", "period_start": st.column_config.DateColumn(period.capitalize(), format="YYYY-MM"),
        "sessions": "Sessions", "segments": "Segments", "icc": st.column_config.NumberColumn("ICC(1,1)", **NUM),
        "ac1": st.column_config.NumberColumn("AC1", **NUM),
        "agreement": st.column_config.NumberColumn("Agreement", format="percent"), "reason": "Why empty"})



def pdf_button(design: Design) -> None:
    """The methods-section table as a PDF, built on click for the signed-in user, audited."""
    from rrrs_core import reports

    name = "-".join(design.coders) if design.coders else "routine"
    pdf_download("Download reliability report (PDF)", f"rrrs-reliability-{name}.pdf",
                 lambda con, who, _scope: reports.reliability_report(con, design, generated_by=who.name),
                 target=f"reliability/{name}", key="rel_pdf")
