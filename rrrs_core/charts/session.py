"""Session charts: the segment timeline of one coding (a row per code) and a two-coder comparison.

Check marks are filled in the family colour; check-minus marks are the family's LIGHT tint with a dashed
outline, so the difference survives greyscale print. Hovering a mark shows the codebook definition and the
check-minus guidance. Inputs are `rrrs_core.queries.session.marks` frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

from rrrs_core import codebook as cb
from rrrs_core.charts.theme import configure
from rrrs_core.episodes import ADDRESSED, IN_SESSION, UNADDRESSED, Episode
from rrrs_core.palette import FAMILY_COLOURS, LIGHT, NEUTRAL, SESSION_END

WIDTH = 760
FIT_X = alt.AutoSizeParams(type="fit-x", contains="padding")  # width = whole chart; on screen it stretches
EPISODE_ROW = "Rupture episodes"
SELECTED = "#222222"  # outline of the marks in the segment clicked for the transcript pane
CLARITY_TEXT = {"check": "check: meets criteria", "check_minus": "check-minus: unclear"}


def mark_kind(family: str, clarity: str) -> str:
    return f"{family.capitalize()} {'check-minus (unclear)' if clarity == 'check_minus' else 'check'}"


def _fill_scale() -> alt.Scale:
    domain, colours = [], []
    for fam in cb.FAMILIES:
        domain += [mark_kind(fam, "check"), mark_kind(fam, "check_minus")]
        colours += [FAMILY_COLOURS[fam], LIGHT[fam]]
    return alt.Scale(domain=domain, range=colours)


def _y(field: str, order: list[str]) -> alt.Y:
    return alt.Y(field, sort=order, scale=alt.Scale(domain=order), title=None, axis=alt.Axis(labelLimit=320))


def _prepare(marks: pd.DataFrame) -> pd.DataFrame:
    data = marks.copy()
    data["kind"] = [mark_kind(f, c) for f, c in zip(data.family, data.clarity, strict=True)]
    data["clarity_text"] = data.clarity.map(CLARITY_TEXT)
    data["minutes"] = data.minute_start.astype(str) + "-" + data.minute_end.astype(str) + " min"
    data["dashed"] = data.clarity == "check_minus"
    return data


def _mark_layer(data: pd.DataFrame, y: alt.Y, x_scale: alt.Scale, **extra: object) -> alt.Chart:
    return alt.Chart(data).mark_bar(strokeWidth=1.5, cornerRadius=2).encode(  # bar: rect ignores strokeDash
        x=alt.X("minute_start:Q", scale=x_scale, title="Minutes into the session"),
        x2="minute_end:Q", y=y,
        fill=alt.Fill("kind:N", scale=_fill_scale(), title="Mark",
                      # one column: it starts under the plot, right of the code names, so two columns
                      # ran past a laptop's main column (1024 px browser, sidebar open)
                      legend=alt.Legend(columns=1, labelLimit=320, symbolStrokeWidth=0)),
        stroke=alt.Stroke("family:N", scale=alt.Scale(domain=list(FAMILY_COLOURS),
                                                      range=list(FAMILY_COLOURS.values())), legend=None),
        strokeDash=alt.condition("datum.dashed", alt.value([3, 2]), alt.value([1, 0])),
        tooltip=[alt.Tooltip("label:N", title="Code"), alt.Tooltip("family:N", title="Family"),
                 alt.Tooltip("minutes:N", title="Minutes"), alt.Tooltip("clarity_text:N", title="Marked"),
                 alt.Tooltip("definition:N", title="Definition"),
                 alt.Tooltip("check_minus_guidance:N", title="Check-minus when")],
        **extra,
    )


def _episode_layer(episodes: Sequence[Episode], x_scale: alt.Scale, y: alt.Y,
                   selectable: bool = False) -> alt.LayerChart:
    rows = [{"row": EPISODE_ROW, "first_segment": e.first_segment, "last_segment": e.last_segment,
             "start": (e.first_segment - 1) * e.segment_minutes,
             "end": e.window_end * e.segment_minutes, "rupture_end": e.last_segment * e.segment_minutes,
             "status": e.status,
             "what": f"Episode {i}: ruptures {e.minutes}, looked for a strategy until "
                     f"{e.window_end * e.segment_minutes} min"} for i, e in enumerate(episodes, start=1)]
    data = pd.DataFrame(rows, columns=["row", "first_segment", "last_segment", "start", "end", "rupture_end",
                                       "status", "what"])
    tooltip = [alt.Tooltip("what:N", title="Episode"), alt.Tooltip("status:N", title="Status")]
    colour = alt.Color("status:N", title="Episode", scale=alt.Scale(domain=[ADDRESSED, UNADDRESSED, IN_SESSION],
                                                                    range=[FAMILY_COLOURS["resolution"], NEUTRAL,
                                                                           SESSION_END]),
                       legend=alt.Legend(symbolOpacity=1, orient="top"))  # above, by the episode row
    window = alt.Chart(data).mark_rect(opacity=0.25, height=10).encode(
        x=alt.X("start:Q", scale=x_scale), x2="end:Q", y=y, color=colour, tooltip=tooltip)
    core = alt.Chart(data).mark_rect(height=10).encode(
        x=alt.X("start:Q", scale=x_scale), x2="rupture_end:Q", y=y, color=colour, tooltip=tooltip)
    if selectable:   # on the solid rupture run, not on the faint window under it
        core = core.add_params(alt.selection_point(name="episode", fields=["first_segment", "last_segment"],
                                                   on="click"))
    return alt.layer(window, core)


def timeline_chart(marks: pd.DataFrame, n_segments: int, segment_minutes: int = 5,
                   episodes: Sequence[Episode] | None = None, width: int = WIDTH,
                   title: str | None = None, selectable: bool = False) -> alt.TopLevelMixin:
    """One row per code that occurs (codebook order, so families group), x = minutes.

    With `episodes`, a top row shows each rupture episode (solid) and its resolution window (faint),
    green when addressed, grey when unaddressed, light grey when unaddressed in session (the session ended
    within the window).

    With `selectable`, a click on a mark selects its segment (selection parameter `seg`, field `segment`) and
    a click on an episode its rupture segments (`episode`: `first_segment`, `last_segment`), for the session
    page's transcript pane.
    """
    data = _prepare(marks)
    order = list(data.sort_values("position").label.drop_duplicates())
    subtitle = ["Filled: check (meets criteria). Light, dashed outline: check-minus (unclear)."]
    if episodes:
        order = [EPISODE_ROW, *order]
        subtitle.append("Top row: rupture episodes (solid) and the window searched for a resolution "
                        "strategy (faint).")
    end = n_segments * segment_minutes
    x_scale = alt.Scale(domain=[0, end], nice=False)
    y = _y("label:N", order)
    grid = alt.Chart(pd.DataFrame({"m": list(range(0, end + 1, segment_minutes))})).mark_rule(
        color="#e6e6e6").encode(x=alt.X("m:Q", scale=x_scale, axis=alt.Axis(values=list(
            range(0, end + 1, segment_minutes)), title="Minutes into the session")))
    mark_layer = _mark_layer(data, y, x_scale)
    if selectable:
        # The clicked segment's marks get a dark outline; fading the others would mimic check-minus tints.
        seg = alt.selection_point(name="seg", fields=["segment"], on="click")
        family = alt.Stroke("family:N", scale=alt.Scale(domain=list(FAMILY_COLOURS),
                                                        range=list(FAMILY_COLOURS.values())), legend=None)
        mark_layer = mark_layer.add_params(seg).encode(
            stroke=alt.condition(seg, alt.value(SELECTED), family, empty=False),
            strokeWidth=alt.condition(seg, alt.value(3), alt.value(1.5), empty=False))
    layers: list[alt.Chart | alt.LayerChart] = [grid, mark_layer]
    if episodes:
        layers.append(_episode_layer(episodes, x_scale, _y("row:N", order), selectable))
    chart = alt.layer(*layers).resolve_scale(color="independent").properties(
        width=width, height=alt.Step(28), autosize=FIT_X,
        title=alt.Title(title or "Session timeline", subtitle=subtitle))
    return configure(chart)


def comparison_chart(marks_a: pd.DataFrame, marks_b: pd.DataFrame, n_segments: int,
                     segment_minutes: int = 5, width: int = WIDTH) -> alt.TopLevelMixin:
    """Two codings of one session: per code, a row for each coder, so an empty row shows a disagreement."""
    data = _prepare(pd.concat([marks_a, marks_b], ignore_index=True))
    coders = list(dict.fromkeys([*marks_a.coder_id, *marks_b.coder_id]))
    data["row"] = data.label + " - " + data.coder_id
    codes = list(data.sort_values("position").label.drop_duplicates())
    order = [f"{code} - {coder}" for code in codes for coder in coders]
    end = n_segments * segment_minutes
    x_scale = alt.Scale(domain=[0, end], nice=False)
    ticks = list(range(0, end + 1, segment_minutes))
    grid = alt.Chart(pd.DataFrame({"m": ticks})).mark_rule(color="#e6e6e6").encode(
        x=alt.X("m:Q", scale=x_scale, axis=alt.Axis(values=ticks, title="Minutes into the session")))
    layer = _mark_layer(data, _y("row:N", order), x_scale).encode(
        tooltip=[alt.Tooltip("coder_id:N", title="Coder"), alt.Tooltip("label:N", title="Code"),
                 alt.Tooltip("minutes:N", title="Minutes"), alt.Tooltip("clarity_text:N", title="Marked")])
    chart = alt.layer(grid, layer).properties(
        width=width, height=alt.Step(20), autosize=FIT_X,
        title=alt.Title(f"Coders compared: {' vs '.join(coders)}",
                        subtitle="One row per code and coder: a mark in one row but not the other is a "
                                 "disagreement."))
    return configure(chart)
