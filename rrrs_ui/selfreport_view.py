"""The patient's and therapist's forms on the dyad and session pages: flags, charts, discordance, a session's
reports. Pages call these with frames from `rrrs_core.queries.selfreport`; no SQL and no chart specs here."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from rrrs_core.charts import selfreport as charts
from rrrs_core.queries import caseload
from rrrs_core.queries import selfreport as q
from rrrs_core.queries import selfreport_clinic as src
from rrrs_core.selfreport import Instrument
from rrrs_ui import cells, glue, tables
from rrrs_ui.text import md

SR_FLAGS = ("alliance_below_cutoff", "srs_dropped", "patient_rupture_unresolved")
INSTRUMENTS = {q.SRS: "Session Rating Scale", q.WAI: "WAI-SR", q.RUPTURE: "Post-session rupture items"}
RESPONDENTS = {q.PATIENT: "Patient", q.THERAPIST: "Therapist"}


def flag_lines(flags: list[caseload.Flag], last: dict[str, Any]) -> list[tuple[caseload.Flag, str]]:
    """The dyad's self-report flags on the caseload, each with what fired it, in this dyad's numbers."""
    out = []
    for f in flags:
        if f.key == "alliance_below_cutoff":
            out.append((f, f"the patient's latest SRS (session {last['srs_session']}) totals "
                           f"{last['srs_total']:.1f} of 40, below {q.SRS_CUTOFF}."))
        elif f.key == "srs_dropped":
            out.append((f, f"the patient's latest SRS (session {last['srs_session']}, {last['srs_total']:.1f}) is "
                           "1 point or more below their previous one."))
        elif f.key == "patient_rupture_unresolved":
            res = "" if last["resolution"] is None else f" and rated its resolution {last['resolution']:.0f} of 5"
            out.append((f, f"after session {last['rupture_session']} the patient reported a rupture{res}."))
    return out


def show_flags(flags: list[caseload.Flag], last: dict[str, Any]) -> None:
    """The self-report flags this dyad carries on the caseload (same rules, same words), or none."""
    lines = flag_lines([f for f in flags if f.key in SR_FLAGS], last)
    for f, what in lines:
        st.markdown(f":orange[**{f.label}**] (caseload flag, weight {f.weight}): {what}", help=f.definition)


def show_summary(both: pd.DataFrame, found: pd.DataFrame) -> None:
    last = q.latest(both)
    row = st.container(horizontal=True, gap="medium")
    row.metric("Sessions self-reported", last["n_reported"], width="content",
               help="Sessions with at least one form filled in by the patient; "
                    f"{int(both.coded.sum())} of the {len(both)} sessions on the axis are coded.")
    row.metric("Latest SRS", "-" if last["srs_total"] is None else f"{last['srs_total']:.1f} / 40", width="content",
               help=f"Session Rating Scale total of the patient's latest form (session {last['srs_session']}); "
                    f"below {q.SRS_CUTOFF} the alliance is below the clinical cutoff.")
    row.metric("Discordant sessions", len(found), width="content",
               help="Coded sessions where the patient's rupture answer and the coding disagree (listed below).")


def show_charts(both: pd.DataFrame, threshold: int) -> None:
    """The self-report charts this dyad has data for, on the rupture chart's session axis."""
    for build in charts.available(both):
        st.vega_lite_chart(glue.chart(build, both, threshold), theme=None)


def show_discordance(found: pd.DataFrame, both: pd.DataFrame) -> None:
    """The discordant sessions, for a patient who answers the rupture items (nothing to compare otherwise)."""
    if not both.reported_rupture.notna().any():
        return
    st.subheader("Where the patient and the coders disagree",
                 help=f"{q.DISCORDANCE[q.UNSEEN]}\n\n{q.DISCORDANCE[q.UNREPORTED]}")
    double = int((both.coded & both.reported_rupture.notna()).sum())
    if not double:
        st.caption("No session has both a coding and the patient's post-session rupture answer, so the two "
                   "cannot be compared yet.")
        return
    st.caption(f"{len(found)} of {double} sessions with both a coding and the patient's rupture answer disagree. "
               "Withdrawal ruptures are by nature often unreported: a patient who withdraws rarely names it as a "
               "problem in the relationship, so 'coders saw a rupture the patient did not report' is expected "
               "more often for withdrawal than for confrontation.")
    if found.empty:
        return
    table = pd.DataFrame({"Session": found.session_number, "Date": found.session_date, "Finding": found.finding,
                          "Patient": found.patient, "Coded": found.coded})
    cc = st.column_config
    st.dataframe(table, hide_index=True, placeholder=tables.PLACEHOLDER, height=tables.rows_height(len(table)),
                 column_config={
                     "Session": cc.NumberColumn("Session", format="%d", width=60),
                     "Date": cc.DateColumn("Date", format="YYYY-MM-DD", width=90),
                     "Finding": cc.TextColumn("Finding", width=140, help=f"Reported, not seen: "
                                              f"{q.DISCORDANCE[q.UNSEEN]} Seen, not reported: "
                                              f"{q.DISCORDANCE[q.UNREPORTED]}"),
                     "Patient": cc.TextColumn("Patient: rupture?", width=110,
                                              help="The patient's answer to 'did a rupture, tension or problem in "
                                                   "the relationship occur'"),
                     "Coded": cc.TextColumn("Coded rupture segments", width=190,
                                            help="Segments of the primary coding with a withdrawal or confrontation "
                                                 "marker marked check")})


def _pair(instrument: str, name: str, value: float) -> str:
    """'goals 7.9', 'rupture yes', '3: 4' (numbered items)."""
    shown = ("yes" if value == 1 else "no") if (instrument, name) == (q.RUPTURE, "rupture") else \
        f"{value:g}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")
    return f"{name}: {shown}" if name.isdigit() else f"{name} {shown}"


FORM_ORDER = {q.SRS: 0, q.WAI: 1, q.RUPTURE: 2}


def session_table(reports: pd.DataFrame, instruments: dict[str, Instrument]) -> pd.DataFrame:
    """One row per form filled in for a session: who, which form, its scores, the alerts it raised (named as
    its instrument file names them), its items."""
    rules = {(i.id, r.name): r.label for i in instruments.values() for r in i.rules}
    rows = []
    forms = reports.assign(who_at=(reports.respondent != q.PATIENT).astype(int),
                           at=reports.instrument.map(FORM_ORDER).fillna(len(FORM_ORDER)))
    forms = forms.sort_values(["who_at", "respondent", "at", "instrument"], kind="stable")
    for (who, instrument), part in forms.groupby(["respondent", "instrument"], sort=False):
        scales, items = part[part.kind == "scale"], part[part.kind == "item"]
        order = q.ITEM_ORDER.get(str(instrument))
        if order:
            items = items.assign(at=items.name.map({n: i for i, n in enumerate(order)})).sort_values("at")
        rows.append({
            "respondent": RESPONDENTS.get(str(who), str(who)),
            "form": INSTRUMENTS.get(str(instrument), str(instrument)),
            "scores": " · ".join(_pair(instrument, n, v) for n, v in zip(scales.name, scales.value, strict=True))
            or None,
            "items": " · ".join(_pair(instrument, n, v) for n, v in zip(items.name, items.value, strict=True)),
            "alerts": "; ".join(rules.get((instrument, a), a) for a in str(part.alerts.iloc[0]).split(";") if a)
            or None,
        })
    return pd.DataFrame(rows, columns=["respondent", "form", "scores", "alerts", "items"])


def show_session_reports(reports: pd.DataFrame) -> None:
    """The patient's and the therapist's forms for one session, a row per form, beside the global ratings."""
    instruments = glue.query(q.instruments)
    st.subheader("Self-reports", help="Forms the patient (and the therapist) filled in after this session. "
                 "Scores only: rrrs stores no item wording of licensed forms. Alerts: "
                 + md("; ".join(r.label for i in instruments.values() for r in i.rules)) + ".")
    if reports.empty:
        st.caption("No self-report was entered for this session.")
        return
    table = session_table(reports, instruments)
    widths = {"respondent": 65, "form": 110, "scores": 140, "alerts": 150, "items": 250}
    row_px = cells.row_height(table.fillna(""), widths, max_px=160)
    cc = st.column_config
    st.dataframe(table, hide_index=True, placeholder=tables.PLACEHOLDER, row_height=row_px,
                 height=cells.height(len(table), row_px), column_config={
                     "respondent": cc.TextColumn("By", width=widths["respondent"]),
                     "form": cc.TextColumn("Form", width=widths["form"]),
                     "scores": cc.TextColumn("Scores", width=widths["scores"],
                                             help="SRS: total 0-40. WAI-SR: subscale and total means 1-5."),
                     "items": cc.TextColumn("Items", width=widths["items"]),
                     "alerts": cc.TextColumn("Alerts", width=widths["alerts"])})
    done = reports.completed_on.dropna()
    if len(done):
        st.caption(f"Completed on {pd.Timestamp(done.min()):%Y-%m-%d}.")


def show_clinic_selfreports(table: pd.DataFrame, n_undated: int, assoc: list, period: str, period_col: object) -> None:
    """The Clinic page's self-report figures: SRS below the cutoff by period, and how patient-reported
    ruptures go with coded rupture frequency (`queries.selfreport_clinic`, which suppresses and computes)."""
    st.subheader("The patients' view: alliance below the cutoff", help=src.RULE)
    if table.empty:
        st.caption("No patient Session Rating Scale forms yet.")
    else:
        st.caption(src.RULE + (f" {n_undated} form(s) without a date are left out." if n_undated else ""))
        cc = st.column_config
        st.dataframe(table.assign(below_share=table.below_share * 100), hide_index=True, placeholder="",
                     column_order=["period_start", "treatment", "sessions", "below_share"],
                     column_config={"period_start": period_col, "treatment": "Treatment",
                                    "sessions": cc.TextColumn("Sessions with an SRS", alignment="right"),
                                    "below_share": cc.NumberColumn("SRS below 36", format="%.0f%%")})
    st.subheader("Patient-reported ruptures and coded rupture frequency", help=src.ASSOCIATION_RULE)
    st.caption(src.ASSOCIATION_RULE)
    if not assoc or assoc[0].n == 0:
        st.caption("No session has both a coding and the patient's post-session rupture answer yet.")
        return
    rows = pd.DataFrame([{
        "Coded measure": a.measure, "n": a.n, "Patient: yes": a.n_yes, "Patient: no": a.n_no,
        "Mean if yes": None if a.mean_yes is None else a.mean_yes * 100,
        "Mean if no": None if a.mean_no is None else a.mean_no * 100, "r (point-biserial)": a.r,
        "95% CI": "" if a.r is None else f"{a.low:.2f} to {a.high:.2f}", "Note": a.note} for a in assoc])
    if not rows.Note.any():
        rows = rows.drop(columns="Note")
    cc = st.column_config
    st.dataframe(rows, hide_index=True, placeholder="–", column_config={
        "Mean if yes": cc.NumberColumn(format="%.1f%%", help="Mean coded share in sessions the patient said yes"),
        "Mean if no": cc.NumberColumn(format="%.1f%%", help="Mean coded share in sessions the patient said no"),
        "r (point-biserial)": cc.NumberColumn(format="%.2f")})
