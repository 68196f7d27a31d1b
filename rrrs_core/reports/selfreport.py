"""The self-report pages of the PDFs: the patient's view in the dyad report (the app's self-report charts on
the rupture chart's session axis, the caseload's self-report flags, the discordant sessions) and the alert
counts in the therapist report. Frames come from `queries.selfreport`; charts from `charts.selfreport`."""

from __future__ import annotations

import pandas as pd
from reportlab.platypus import CondPageBreak, Flowable

from rrrs_core.charts import selfreport as charts
from rrrs_core.queries import caseload as cq
from rrrs_core.queries import selfreport as q
from rrrs_core.reports import blocks as b
from rrrs_core.reports import images

SR_FLAGS = ("alliance_below_cutoff", "srs_dropped", "patient_rupture_unresolved")


def cover_line(both: pd.DataFrame) -> str:
    """The cover's summary of the patient's forms: how many sessions, the latest SRS."""
    last = q.latest(both)
    if not last["n_reported"]:
        return "none"
    srs = "" if last["srs_total"] is None else \
        f"; latest SRS {last['srs_total']:.1f} of 40 (session {last['srs_session']})"
    return f"the patient's forms after {last['n_reported']} session(s){srs}; see \u201cThe patient's view\u201d"


def dyad_charts(both: pd.DataFrame, flags: list[cq.Flag], threshold: int, width: int) -> list[Flowable]:
    """The patient's view under the rupture chart: the caseload's self-report flags and the self-report
    charts on the same session axis; nothing when the patient filled in no form."""
    last = q.latest(both)
    if not last["n_reported"]:
        return []
    story: list[Flowable] = [
        CondPageBreak(220), b.para("The patient's view", "h2"),
        b.para(f"Self-reports after {last['n_reported']} session(s); {int(both.coded.sum())} of the {len(both)} "
               "sessions on the axis are coded (uncoded ones: grey crosses on the rupture chart).", "small"),
    ]
    story += b.bullets(f"<b>{b.esc(f.label)}</b> (caseload flag, weight {f.weight}): {b.esc(f.definition)}"
                       for f in flags if f.key in SR_FLAGS)
    for build in charts.available(both):
        story += [images.chart(build(both, threshold, width=width)), b.gap(4)]
    return story


def dyad_discordance(both: pd.DataFrame) -> list[Flowable]:
    """The sessions where the patient's rupture answer and the coding disagree (after the session table)."""
    return _discordance(q.discordance(both), both)


def _discordance(found: pd.DataFrame, both: pd.DataFrame) -> list[Flowable]:
    double = int((both.coded & both.reported_rupture.notna()).sum())
    if not double:
        return []
    story: list[Flowable] = [
        CondPageBreak(140), b.para("Where the patient and the coders disagree", "h2"),
        b.para(f"{len(found)} of {double} sessions with both a coding and the patient's rupture answer disagree. "
               f"Reported, not seen: {b.esc(q.DISCORDANCE[q.UNSEEN])} Seen, not reported: "
               f"{b.esc(q.DISCORDANCE[q.UNREPORTED])}", "small"),
    ]
    if len(found):
        rows = [[int(r.session_number), b.fmt_date(r.session_date), r.finding, r.patient, r.coded]
                for r in found.itertuples()]
        story.append(b.table(["Session", "Date", "Finding", "Patient: rupture?", "Coded rupture segments"], rows,
                             [0.1, 0.15, 0.22, 0.18, 0.35], right=[0]))
    return story


def therapist_section(alerts: pd.DataFrame) -> list[Flowable]:
    """Per dyad: sessions self-reported and how many raised each alert, with the latest SRS."""
    story: list[Flowable] = [CondPageBreak(160), b.para("Patients' self-reports: alerts", "h1")]
    if alerts.empty:
        return [*story, b.para("No patient of this therapist has a self-report yet.", "body")]
    rows = [[r.dyad_id, int(r.n_reported), int(r.n_below_cutoff), int(r.n_drop), int(r.n_rupture_unresolved),
             "-" if pd.isna(r.latest_srs) else f"{r.latest_srs:.1f} (session {int(r.srs_session)})"]
            for r in alerts.itertuples()]
    totals = ["All", int(alerts.n_reported.sum()), int(alerts.n_below_cutoff.sum()), int(alerts.n_drop.sum()),
              int(alerts.n_rupture_unresolved.sum()), ""]
    return [*story,
            b.para(f"Sessions with the patient's forms, and how many of them raised each alert: SRS total below "
                   f"{q.SRS_CUTOFF}; SRS 1 point or more below the previous form; a reported rupture resolved "
                   f"{q.UNRESOLVED_MAX} or less (of 5). The caseload flags read the latest form only.", "small"),
            b.table(["Dyad", "Sessions self-reported", "SRS below cutoff", "SRS dropped", "Rupture unresolved",
                     "Latest SRS"], [*rows, totals], [0.12, 0.17, 0.16, 0.15, 0.17, 0.23], right=range(1, 5),
                    bold_rows=[len(rows)])]
