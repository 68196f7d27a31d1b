"""Dyad trajectory charts: rupture shares, the four global ratings, and the session-by-segment strip.

Inputs are the frames of `rrrs_core.queries.dyad` (`trajectory`, `segment_strip`). The rupture and ratings
charts take the dyad's whole session axis (`sessions`: coded and self-reported sessions, from
`queries.selfreport.dyad_axis`) so they line up with the self-report charts (`charts.selfreport`), and mark
the sessions that are not coded instead of skipping them. Sessions at or above
the therapist-contribution threshold (`high_contribution`) get a HIGHLIGHT band on every chart so the eye
can follow them from one chart to the next. Pure functions: the PDF report renders the same rupture and
ratings charts, and draws the segment strip natively in the same encoding (`reports.strip`).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from rrrs_core import codebook as cb
from rrrs_core.charts.theme import house_config
from rrrs_core.palette import FAMILY_COLOURS, GLOBAL_COLOURS, HIGHLIGHT, LIGHT, NEUTRAL, NOT_CODED

WIDTH = 760
RATINGS_WIDTH = 540  # two panels of 240 px + axes = ~530 px: fits theme.APP_COLUMN_PX on a 1024 px laptop
FIT_X = alt.AutoSizeParams(type="fit-x", contains="padding")  # width = whole chart; on screen it stretches
NONE_COLOUR = "#F2F2F2"  # a segment with no mark of that family
Y_EXTENT = 56  # px for every y axis (labels + title) on the session axis, so stacked charts' x positions agree
FAMILY_TITLES = {"withdrawal": "Withdrawal", "confrontation": "Confrontation", "resolution": "Resolution"}
SCALE_HINTS = {
    "overall_withdrawal": "1 none - 5 high significance",
    "overall_confrontation": "1 none - 5 high significance",
    "overall_resolution": "1 poor - 3 average - 5 very good",
    "therapist_contribution": "1 usual - 5 clearly caused",
}


def axis_numbers(traj: pd.DataFrame, sessions: tuple[int, ...] = ()) -> list[int]:
    """The sessions on the x axis: the dyad's whole axis when given, else its coded sessions."""
    return sorted({int(s) for s in traj.session_number} | {int(s) for s in sessions}) or [1]


def session_axis(traj: pd.DataFrame, title: str | None = "Session", sessions: tuple[int, ...] = ()) -> alt.X:
    """Session numbers as integers, padded half a session each side so bands fit; `sessions` (the dyad's
    whole axis, coded or not) widens it beyond the coded sessions of `traj`."""
    numbers = axis_numbers(traj, sessions)
    axis = alt.Axis(values=numbers, format="d", title=title) if len(numbers) <= 30 else \
        alt.Axis(tickMinStep=1, format="d", title=title)
    return alt.X("session_number:Q", scale=alt.Scale(domain=[min(numbers) - 0.5, max(numbers) + 0.5],
                                                     nice=False, zero=False), axis=axis)


def highlight_band(traj: pd.DataFrame, threshold: int) -> list[alt.Chart]:
    """A HIGHLIGHT band behind each session whose therapist contribution is >= threshold, as a layer to unpack
    into `alt.layer`; no layer when no session is highlighted (an empty layer draws nothing, yet the browser
    still compiles it and runs its dataflow)."""
    if not traj.high_contribution.any():
        return []
    high = traj.loc[traj.high_contribution, ["session_number", "therapist_contribution"]].copy()
    high["therapist_contribution"] = high["therapist_contribution"].astype(float)
    high["lo"] = high.session_number - 0.45
    high["hi"] = high.session_number + 0.45
    high["note"] = f"Therapist contribution at or above {threshold}"
    return [alt.Chart(high).mark_rect(color=HIGHLIGHT, opacity=0.22).encode(
        x=alt.X("lo:Q"), x2=alt.X2("hi:Q"),
        tooltip=[alt.Tooltip("session_number:Q", title="Session"),
                 alt.Tooltip("therapist_contribution:Q", title="Therapist contribution"),
                 alt.Tooltip("note:N", title="Highlighted")],
    )]


def _dates(traj: pd.DataFrame) -> pd.DataFrame:
    out = traj.copy()
    out["date"] = pd.to_datetime(out.session_date).dt.strftime("%Y-%m-%d").fillna("no date")
    return out


def not_coded_marks(traj: pd.DataFrame, sessions: tuple[int, ...], y: alt.Y | alt.YDatum) -> list[alt.Chart]:
    """A grey cross at the foot of each session on the axis without a coding (self-reported only), with its
    own legend entry: an uncoded session is shown as such, not skipped."""
    missing = sorted(set(int(s) for s in sessions) - {int(s) for s in traj.session_number})
    if not missing:
        return []
    frame = pd.DataFrame({"session_number": missing, "status": "not coded"})
    return [alt.Chart(frame).mark_point(shape="cross", size=50, color=NOT_CODED, filled=True, opacity=0.9).encode(
        x=alt.X("session_number:Q"), y=y,
        shape=alt.Shape("status:N", scale=alt.Scale(domain=["not coded"], range=["cross"]),
                        legend=alt.Legend(title=None, symbolFillColor=NOT_CODED, symbolStrokeColor=NOT_CODED)),
        tooltip=[alt.Tooltip("session_number:Q", title="Session"), alt.Tooltip("status:N", title="Coding")])]


def rupture_share_chart(traj: pd.DataFrame, threshold: int = 4, width: int = WIDTH,
                        sessions: tuple[int, ...] = ()) -> alt.TopLevelMixin:
    """Withdrawal and confrontation segments as a share of coded segments, per session; on the dyad's whole
    axis when `sessions` is given, uncoded sessions marked (`not_coded_marks`)."""
    base = _dates(traj)
    rows = []
    for fam in ("withdrawal", "confrontation"):
        part = base[["session_number", "date", "n_segments", f"{fam}_segments", f"{fam}_share"]].copy()
        part.columns = ["session_number", "date", "n_segments", "segments", "share"]
        part["family"] = fam
        rows.append(part)
    long = pd.concat(rows, ignore_index=True)
    colour = alt.Color("family:N", title="Rupture type",
                       scale=alt.Scale(domain=["withdrawal", "confrontation"],
                                       range=[FAMILY_COLOURS["withdrawal"], FAMILY_COLOURS["confrontation"]]))
    tooltip = [alt.Tooltip("session_number:Q", title="Session"), alt.Tooltip("date:N", title="Date"),
               alt.Tooltip("family:N", title="Rupture type"),
               alt.Tooltip("segments:Q", title="Segments with a marker"),
               alt.Tooltip("n_segments:Q", title="Coded segments"),
               alt.Tooltip("share:Q", title="Share", format=".0%")]
    top = max(0.1, float(long.share.max()) if len(long) else 0.0)  # sessions without ruptures: 0-10%
    scale = alt.Scale(domain=[0, top], nice=True)
    y = alt.Y("share:Q", title="Share of segments", axis=alt.Axis(format=".0%", minExtent=Y_EXTENT), scale=scale)
    # Lines join consecutive coded sessions only: a gap in the coding is a gap in the line.
    gaps = sorted(set(axis_numbers(traj, sessions)) - {int(s) for s in traj.session_number})
    if gaps:
        blank = pd.DataFrame([{"session_number": g, "family": f, "share": None} for g in gaps
                              for f in ("withdrawal", "confrontation")])
        long = pd.concat([long, blank], ignore_index=True).sort_values("session_number", kind="stable")
    line = alt.Chart(long).mark_line(point=alt.OverlayMarkDef(size=60, filled=True),
                                     invalid="break-paths-show-domains").encode(
        x=session_axis(traj, sessions=sessions), y=y, color=colour, tooltip=tooltip)
    crosses = not_coded_marks(traj, sessions, alt.YDatum(0, scale=scale))
    return alt.layer(*highlight_band(traj, threshold), line, *crosses, width=width, height=180, autosize=FIT_X,
                     title="Rupture frequency: share of segments with a rupture marker", config=house_config())


def _ratings_frame(traj: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """One row per (global rating, session): the long frame the ratings chart facets by rating."""
    dated = _dates(traj)
    dated["therapist_contribution_value"] = dated["therapist_contribution"].astype(float)
    frames = []
    for key in cb.DEFAULT.global_keys:
        item = cb.DEFAULT.global_item(key)
        part = dated[["session_number", "date", "ratings_pending", "high_contribution",
                      "therapist_contribution_value", key]].rename(columns={key: "rating"})
        part["rating"] = part["rating"].astype(float)
        part["anchor"] = [item.scale.anchor(None if pd.isna(v) else int(v)) for v in part.rating]
        part["key"], part["item"], part["hint"] = key, item.label, SCALE_HINTS[key]
        frames.append(part)
    long = pd.concat(frames, ignore_index=True)
    long["lo"] = long.session_number - 0.45
    long["hi"] = long.session_number + 0.45
    long["note"] = f"Therapist contribution at or above {threshold}"
    return long


def ratings_chart(traj: pd.DataFrame, threshold: int = 4, width: int = RATINGS_WIDTH,
                  sessions: tuple[int, ...] = ()) -> alt.TopLevelMixin:
    """The four global ratings as small multiples on their 1-5 scales; pending sessions say so.

    A facet cannot stretch to the page, so the default `width` fits the narrowest main column (1024 px
    browser, sidebar open); the PDF passes its own.

    One layered chart faceted by rating (a panel per rating, titled with the rating and its scale),
    not a concatenation of four layered panels: Altair builds and serialises it ~3x faster and Vega
    renders it ~20% faster, which the dyad page and the dyad report both pay.
    """
    keys = list(cb.DEFAULT.global_keys)
    labels = [cb.DEFAULT.global_item(k).label for k in keys]
    panel_width = max(200, (width - 60) // 2)
    scale = alt.Scale(domain=[1, 5])
    y = alt.Y("rating:Q", title=None, scale=scale,
              axis=alt.Axis(values=[1, 2, 3, 4, 5], labelOverlap=False, tickCount=5))
    colour = alt.Color("key:N", scale=alt.Scale(domain=keys, range=[GLOBAL_COLOURS[k] for k in keys]), legend=None)
    band = alt.Chart().transform_filter("datum.high_contribution").mark_rect(color=HIGHLIGHT, opacity=0.22).encode(
        x=alt.X("lo:Q"), x2=alt.X2("hi:Q"),
        tooltip=[alt.Tooltip("session_number:Q", title="Session"),
                 alt.Tooltip("therapist_contribution_value:Q", title="Therapist contribution"),
                 alt.Tooltip("note:N", title="Highlighted")])
    rule = alt.Chart().transform_filter(alt.datum.key == "therapist_contribution").transform_aggregate(
        groupby=["key"]).mark_rule(color=HIGHLIGHT, strokeDash=[4, 3]).encode(y=alt.YDatum(threshold, scale=scale))
    line = alt.Chart().mark_line(
        invalid="break-paths-show-domains", point=alt.OverlayMarkDef(size=50, filled=True),
    ).encode(x=session_axis(traj, sessions=sessions), y=y, color=colour,
             tooltip=[alt.Tooltip("session_number:Q", title="Session"), alt.Tooltip("date:N", title="Date"),
                      alt.Tooltip("item:N", title="Rating"), alt.Tooltip("rating:Q", title="Value"),
                      alt.Tooltip("anchor:N", title="Manual")])
    pending = alt.Chart().transform_filter("datum.ratings_pending").mark_text(
        text="pending", color=NEUTRAL, fontStyle="italic", angle=270, fontSize=11,
    ).encode(x=alt.X("session_number:Q"), y=alt.YDatum(3, scale=scale),
             tooltip=[alt.Tooltip("session_number:Q", title="Session"), alt.Tooltip("item:N", title="Rating"),
                      alt.Tooltip("anchor:N", title="Manual")])
    # The scale hint under each panel's title (the facet header), where a panel title's subtitle would be.
    hint = alt.Chart().transform_aggregate(groupby=["hint"]).mark_text(
        align="left", baseline="bottom", dy=-7, fontSize=11, clip=False,
    ).encode(x=alt.XValue(0), y=alt.YValue(0), text=alt.Text("hint:N"))
    # Band and "pending" only when some session has them: an empty layer is compiled in each of four panels.
    layers = [band] * bool(traj.high_contribution.any()) + [rule, line]
    layers += [pending] * bool(traj.ratings_pending.any()) + [hint]
    panel = alt.layer(*layers, width=panel_width, height=120)
    return alt.FacetChart(
        data=_ratings_frame(traj, threshold), spec=panel, columns=2, spacing=alt.RowColnumber(row=10, column=20),
        facet=alt.Facet("item:N", sort=labels, title=None, header=alt.Header(
            labelFontSize=14, labelFontWeight="bold", labelAnchor="start", labelAlign="left", labelPadding=14,
            labelOrient="top")),
        resolve=alt.Resolve(axis=alt.AxisResolveMap(x="independent", y="independent")),
        autosize=alt.AutoSizeParams(type="pad"), config=house_config())


def strip_kind(family: str, clarity: str | None) -> str:
    """Legend entry of a strip cell."""
    if clarity is None or pd.isna(clarity):
        return "none"
    return f"{FAMILY_TITLES[family]} {'(unclear)' if clarity == 'check_minus' else ''}".strip()


def kind_scale() -> alt.Scale:
    """Family colour for check, its LIGHT tint for check-minus, pale grey for nothing marked."""
    domain, colours = [], []
    for fam in cb.FAMILIES:
        domain += [strip_kind(fam, "check"), strip_kind(fam, "check_minus")]
        colours += [FAMILY_COLOURS[fam], LIGHT[fam]]
    return alt.Scale(domain=[*domain, "none"], range=[*colours, NONE_COLOUR])


def segment_strip_chart(strip: pd.DataFrame, traj: pd.DataFrame, threshold: int = 4, width: int = WIDTH,
                        selectable: bool = False) -> alt.TopLevelMixin:
    """Rows = sessions, columns = segment minutes; each row has a lane per family (W, C, R).

    Highlighted sessions are framed in HIGHLIGHT. With `selectable`, clicking a cell selects its session
    (selection parameter `pick`, field `session_number`), for a page that opens that session.
    """
    labels = row_labels(traj)
    # Only the fields the cells encode or show in their tooltip: 816 cells at 30 sessions, sent on every visit.
    data = pd.DataFrame({
        "session_number": strip.session_number, "row": strip.session_number.map(labels),
        "lane": strip.family.map(FAMILY_TITLES), "minute_start": strip.minute_start,
        "minute_end": strip.minute_end,
        "minutes": strip.minute_start.astype(str) + "-" + strip.minute_end.astype(str) + " min",
        "kind": [strip_kind(f, c) for f, c in zip(strip.family, strip.clarity, strict=True)],
        "date": pd.to_datetime(strip.session_date).dt.strftime("%Y-%m-%d").fillna("no date"),
        "codes": strip.codes.replace("", "none"),
    })
    order = [labels[s] for s in traj.session_number]
    y = alt.Y("row:N", sort=order, title=None, scale=alt.Scale(domain=order))
    cells = alt.Chart(data).mark_rect(stroke="white", strokeWidth=1).encode(
        x=alt.X("minute_start:Q", title="Minutes into the session", axis=alt.Axis(tickMinStep=5)),
        x2=alt.X2("minute_end:Q"), y=y,
        yOffset=alt.YOffset("lane:N", sort=[FAMILY_TITLES[f] for f in cb.FAMILIES]),
        color=alt.Color("kind:N", scale=kind_scale(), title="Marked in segment",
                        legend=alt.Legend(columns=4)),  # one row of 7 entries is wider than a laptop column
        tooltip=[alt.Tooltip("session_number:Q", title="Session"), alt.Tooltip("date:N", title="Date"),
                 alt.Tooltip("minutes:N", title="Minutes"), alt.Tooltip("lane:N", title="Family"),
                 alt.Tooltip("codes:N", title="Codes")],
    )
    if selectable:
        pick = alt.selection_point(name="pick", fields=["session_number"], on="click")
        cells = cells.add_params(pick).encode(
            opacity=alt.condition(pick, alt.value(1.0), alt.value(0.45)))
    high = traj.loc[traj.high_contribution].copy()
    high["row"] = high.session_number.map(labels)
    high["end"] = high.n_segments * high.segment_minutes
    high["start"] = 0
    frame = [alt.Chart(high[["row", "start", "end"]]).mark_rect(
        filled=False, stroke=HIGHLIGHT, strokeWidth=3).encode(x=alt.X("start:Q"), x2=alt.X2("end:Q"), y=y)] \
        if len(high) else []
    return alt.layer(
        cells, *frame, width=width, height=alt.Step(13), autosize=FIT_X, config=house_config(),
        title=alt.Title("Where ruptures and resolution strategies fell",
                        subtitle=["Each session row has three lanes: withdrawal, confrontation, resolution.",
                                  f"Framed: therapist contribution {threshold} or more."]))


def row_labels(traj: pd.DataFrame) -> dict[int, str]:
    out = {}
    for r in traj.itertuples():
        note = " - pending" if r.ratings_pending else (
            f" - TC {int(r.therapist_contribution)}" if r.high_contribution else "")
        out[int(r.session_number)] = f"Session {int(r.session_number)}{note}"
    return out
