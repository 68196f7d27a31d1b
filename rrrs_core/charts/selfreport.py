"""The patient's view beside the coders': SRS with its cutoff, WAI-SR subscales, post-session rupture reports.

Input is `queries.selfreport.beside(dyad_axis(...), trajectory(...))`: one row per session on the dyad's axis
(coded or self-reported). Every chart here uses the rupture charts' session axis (`charts.dyad.session_axis`
with the same sessions), width, y-axis extent and therapist-contribution bands, so stacked on the page or in
the PDF a session sits at the same x on every chart. Pure functions: the dyad page and the dyad PDF render
the same charts.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import pandas as pd

from rrrs_core.charts.dyad import FIT_X, WIDTH, Y_EXTENT, highlight_band, session_axis
from rrrs_core.charts.theme import house_config
from rrrs_core.palette import BELOW_CUTOFF, DISCORDANT, NOT_CODED, PATIENT, RESOLUTION, TENSION, WAI_COLOURS
from rrrs_core.queries.selfreport import SRS_CUTOFF, SRS_MAX, WAI_SCALES

Build = Callable[..., alt.TopLevelMixin]
HEIGHT = 120
SRS_STATES = ["on track", "below cutoff", "dropped 1+ point", "below cutoff and dropped"]
SRS_COLOURS = [PATIENT, DISCORDANT, DISCORDANT, DISCORDANT]
SRS_SHAPES = ["circle", "triangle-down", "diamond", "triangle-down"]
ANSWERS = ["yes, coders agree", "yes, coders saw none", "yes, not coded",
           "no, coders agree", "no, coders saw one", "no, not coded"]
ANSWER_SHAPES = ["triangle-down"] * 3 + ["circle"] * 3
ANSWER_FILLS = [PATIENT, DISCORDANT, NOT_CODED] * 2


def _sessions(both: pd.DataFrame) -> tuple[int, ...]:
    return tuple(int(s) for s in both.session_number)


def _x(both: pd.DataFrame) -> alt.X:
    return session_axis(both.iloc[0:0], sessions=_sessions(both))


def _band(both: pd.DataFrame, threshold: int) -> list[alt.Chart]:
    return highlight_band(both[both.coded], threshold)


def _date(both: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(both.session_date).dt.strftime("%Y-%m-%d").fillna("no date")


def srs_state(below: bool, drop: bool) -> str:
    return SRS_STATES[int(bool(below)) + 2 * int(bool(drop))]


def srs_chart(both: pd.DataFrame, threshold: int = 4, width: int = WIDTH) -> alt.TopLevelMixin:
    """The patient's SRS total (0-40) per session, the zone below the cutoff shaded, alerts marked."""
    data = both.loc[both.srs_total.notna(), ["session_number", "srs_total", "below_cutoff", "srs_drop"]].copy()
    data["date"] = _date(both.loc[data.index])
    data["state"] = [srs_state(b, d) for b, d in zip(data.below_cutoff, data.srs_drop, strict=True)]
    scale = alt.Scale(domain=[0, SRS_MAX], nice=False)
    axis = alt.Axis(values=[0, 10, 20, 30, SRS_CUTOFF], labelOverlap=False, minExtent=Y_EXTENT, title="SRS total")
    y = alt.Y("srs_total:Q", scale=scale, axis=axis)
    zone = alt.Chart(pd.DataFrame({"lo": [0], "hi": [SRS_CUTOFF],
                                   "note": [f"Below the cutoff ({SRS_CUTOFF}): alliance not on track"]})).mark_rect(
        color=BELOW_CUTOFF, opacity=0.28).encode(y=alt.Y("lo:Q", scale=scale, axis=axis), y2="hi:Q",
                                                 tooltip=alt.Tooltip("note:N", title="Zone"))
    cutoff = alt.Chart().mark_rule(color=DISCORDANT, strokeDash=[4, 3]).encode(y=alt.YDatum(SRS_CUTOFF, scale=scale, axis=axis))
    line = alt.Chart(data).mark_line(color=PATIENT, strokeWidth=1.5).encode(x=_x(both), y=y)
    points = alt.Chart(data).mark_point(filled=True, size=75).encode(
        x=alt.X("session_number:Q"), y=y,
        color=alt.Color("state:N", title="Patient's SRS", scale=alt.Scale(domain=SRS_STATES, range=SRS_COLOURS)),
        shape=alt.Shape("state:N", scale=alt.Scale(domain=SRS_STATES, range=SRS_SHAPES)),
        tooltip=[alt.Tooltip("session_number:Q", title="Session"), alt.Tooltip("date:N", title="Completed"),
                 alt.Tooltip("srs_total:Q", title="SRS total (0-40)", format=".1f"),
                 alt.Tooltip("state:N", title="Alert")])
    return alt.layer(zone, *_band(both, threshold), cutoff, line, points, width=width, height=HEIGHT + 20,
                     autosize=FIT_X, config=house_config(),
                     title=alt.Title("Session Rating Scale: the patient's view of the session",
                                     subtitle=f"Total 0-40; shaded: below the cutoff of {SRS_CUTOFF}."))


def wai_chart(both: pd.DataFrame, threshold: int = 4, width: int = WIDTH) -> alt.TopLevelMixin:
    """The patient's WAI-SR subscale means (1-5) per session."""
    rows = []
    for s in WAI_SCALES:
        part = both.loc[both[f"wai_{s}"].notna(), ["session_number"]].copy()
        part["value"], part["scale"] = both.loc[part.index, f"wai_{s}"], s
        part["date"] = _date(both.loc[part.index])
        rows.append(part)
    long = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["session_number", "value", "scale"])
    scale = alt.Scale(domain=[1, 5])
    colour = alt.Color("scale:N", title="WAI-SR subscale", scale=alt.Scale(
        domain=list(WAI_SCALES), range=[WAI_COLOURS[s] for s in WAI_SCALES]))
    line = alt.Chart(long).mark_line(point=alt.OverlayMarkDef(size=40, filled=True)).encode(
        x=_x(both), y=alt.Y("value:Q", title="Mean (1-5)", scale=scale,
                            axis=alt.Axis(values=[1, 2, 3, 4, 5], labelOverlap=False, minExtent=Y_EXTENT)),
        color=colour, strokeDash=alt.StrokeDash("scale:N", scale=alt.Scale(
            domain=list(WAI_SCALES), range=[[1, 0], [6, 3], [2, 2]]), legend=None),
        tooltip=[alt.Tooltip("session_number:Q", title="Session"), alt.Tooltip("date:N", title="Completed"),
                 alt.Tooltip("scale:N", title="Subscale"), alt.Tooltip("value:Q", title="Mean", format=".2f")])
    return alt.layer(*_band(both, threshold), line, width=width, height=HEIGHT, autosize=FIT_X, config=house_config(),
                     title=alt.Title("Working Alliance Inventory (WAI-SR): task, bond, goal",
                                     subtitle="Subscale means, 1 seldom - 5 always."))


def answer_kind(r: object) -> str:
    """The patient's rupture answer and how the coding of the session relates to it (`ANSWERS`)."""
    yes = bool(r.reported_rupture == 1)  # type: ignore[attr-defined]
    if not r.coded or pd.isna(r.rupture_segments):  # type: ignore[attr-defined]
        return ANSWERS[2 if yes else 5]
    seen = int(r.rupture_segments) > 0  # type: ignore[attr-defined]
    return ANSWERS[(0 if seen else 1) if yes else (4 if seen else 3)]


def rupture_report_chart(both: pd.DataFrame, threshold: int = 4, width: int = WIDTH) -> alt.TopLevelMixin:
    """The patient's post-session tension and resolution (1-5), and their rupture answer as a mark above it:
    a triangle for yes, a circle for no, filled orange where the coding of that session disagrees
    (`queries.selfreport.discordance`) and grey where the session is not coded."""
    rated = both[both.reported_rupture.notna()]
    rows = []
    for item, title in (("tension", "Tension"), ("resolution", "Resolution")):
        # Every answered form, the item empty where it was left out (tension and resolution are optional
        # when no rupture is reported): the line breaks there instead of joining distant sessions.
        part = rated[["session_number"]].copy()
        part["value"], part["item"] = rated[item], title
        rows.append(part)
    long = pd.concat(rows, ignore_index=True)
    scale = alt.Scale(domain=[1, 5.7], nice=False)
    axis = alt.Axis(values=[1, 2, 3, 4, 5], labelOverlap=False, minExtent=Y_EXTENT, title="Rating (1-5)")
    y = alt.Y("value:Q", scale=scale, axis=axis)
    lines = alt.Chart(long).mark_line(point=alt.OverlayMarkDef(size=35, filled=True),
                                      invalid="break-paths-show-domains").encode(
        x=_x(both), y=y, color=alt.Color("item:N", title="Post-session", scale=alt.Scale(
            domain=["Tension", "Resolution"], range=[TENSION, RESOLUTION])),
        tooltip=[alt.Tooltip("session_number:Q", title="Session"), alt.Tooltip("item:N", title="Item"),
                 alt.Tooltip("value:Q", title="Rating")])
    marks = rated[["session_number"]].copy()
    marks["kind"] = [answer_kind(r) for r in rated.itertuples()]
    legend = alt.Legend(title="Patient: rupture? Coders:", columns=2)
    answers = alt.Chart(marks).mark_point(size=80, filled=True, stroke=PATIENT, strokeWidth=0.6).encode(
        x=alt.X("session_number:Q"), y=alt.YDatum(5.5, scale=scale, axis=axis),
        shape=alt.Shape("kind:N", scale=alt.Scale(domain=ANSWERS, range=ANSWER_SHAPES), legend=legend),
        fill=alt.Fill("kind:N", scale=alt.Scale(domain=ANSWERS, range=ANSWER_FILLS), legend=legend),
        tooltip=[alt.Tooltip("session_number:Q", title="Session"),
                 alt.Tooltip("kind:N", title="Patient: did a rupture occur?")])
    return alt.layer(*_band(both, threshold), lines, answers, width=width, height=HEIGHT + 10, autosize=FIT_X,
                     config=house_config(),
                     title=alt.Title("Post-session rupture items: the patient's report",
                                     subtitle="Marks on top: did a rupture occur; orange where the coding "
                                              "disagrees."))


def available(both: pd.DataFrame) -> list[Build]:
    """The chart builders this dyad has data for, in page order: SRS, WAI-SR, rupture items (each is called
    as `build(both, threshold, width)`, through the app's chart cache or the PDF's renderer)."""
    out: list[Build] = []
    if both.srs_total.notna().any():
        out.append(srs_chart)
    if both[[f"wai_{s}" for s in WAI_SCALES]].notna().any().any():
        out.append(wai_chart)
    if both.reported_rupture.notna().any():
        out.append(rupture_report_chart)
    return out
