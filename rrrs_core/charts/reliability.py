"""Reliability charts: two codings of one session one above the other (disputed marks highlighted), and each
coder's agreement over time (drift).

The pair timeline shares one x scale (minutes) and one row order (every code either coder marked, codebook
order) across both panels, so a mark in one panel and an empty row in the other line up. A disputed
(segment, code), marked check by one coder and not by the other (check-minus counts as absent), gets a
HIGHLIGHT box in both panels.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from rrrs_core.charts.session import WIDTH, _mark_layer, _prepare
from rrrs_core.charts.theme import house_config
from rrrs_core.palette import CATEGORY_COLOURS, CATEGORY_DASHES, HIGHLIGHT

FIT_X = alt.AutoSizeParams(type="fit-x", contains="padding")
LABEL_LIMIT = 170  # px: leaves the timeline room beside the definitions on a 1024 px laptop
DISPUTE_TEXT = "Disputed: check in one coding, absent or check-minus in the other"


def _panel(marks: pd.DataFrame, disputed: pd.DataFrame, coder: str, order: list[str], x_scale: alt.Scale,
           ticks: list[int], width: int, title: str) -> alt.LayerChart:
    y = alt.Y("label:N", sort=order, scale=alt.Scale(domain=order), title=None,
              axis=alt.Axis(labelLimit=LABEL_LIMIT))  # long code names are cut (full name in the tooltip)
    grid = alt.Chart(pd.DataFrame({"m": ticks})).mark_rule(color="#e6e6e6").encode(
        x=alt.X("m:Q", scale=x_scale, axis=alt.Axis(values=ticks, title="Minutes into the session")))
    box = alt.Chart(disputed.assign(what=DISPUTE_TEXT)).mark_rect(
        fill=HIGHLIGHT, fillOpacity=0.25, stroke=HIGHLIGHT, strokeWidth=2.5).encode(
        x=alt.X("minute_start:Q", scale=x_scale), x2="minute_end:Q", y=y,
        tooltip=[alt.Tooltip("label:N", title="Code"), alt.Tooltip("minutes:N", title="Minutes"),
                 alt.Tooltip("what:N", title="Why highlighted")])
    layers: list[alt.Chart] = [grid]
    mine = marks[marks.coder_id == coder]
    if not mine.empty:
        layers.append(_mark_layer(_prepare(mine), y, x_scale))
    layers.append(box)  # on top, so the box shows over the coder's mark as well as over the empty row
    return alt.layer(*layers).properties(width=width, height=alt.Step(24), title=title)


def pair_timeline_chart(marks: pd.DataFrame, disputed: pd.DataFrame, coder_a: str, coder_b: str,
                        n_segments: int, segment_minutes: int = 5, width: int = WIDTH,
                        title_b: str | None = None) -> alt.TopLevelMixin:
    """Coder A's timeline above coder B's (`pairs.Comparison.marks`/`.disputed`), disputed marks boxed."""
    order = list(marks.sort_values("position").label.drop_duplicates()) or ["(no marks)"]
    end = n_segments * segment_minutes
    ticks = list(range(0, end + 1, segment_minutes))
    x_scale = alt.Scale(domain=[0, end], nice=False)
    disputed = disputed.assign(minutes=disputed.minute_start.astype(str) + "-" + disputed.minute_end.astype(str)
                               + " min")
    top = _panel(marks, disputed, coder_a, order, x_scale, ticks, width, f"Coder {coder_a}")
    bottom = _panel(marks, disputed, coder_b, order, x_scale, ticks, width, title_b or f"Coder {coder_b}")
    n = len(disputed)
    return alt.vconcat(top, bottom, spacing=18, config=house_config()).resolve_scale(
        color="shared").properties(
        autosize=FIT_X,
        title=alt.Title(f"{coder_a} and {title_b or coder_b}: {n} disputed mark{'s' if n != 1 else ''}",
                        # short lines: beside the definitions the chart is ~360 px wide on a 1024 px laptop,
                        # and Vega cuts a longer line with an ellipsis
                        subtitle=["Pink boxes: disputed: check in one coding,",
                                  "absent or check-minus in the other.",
                                  "Filled: check. Light, dashed outline:",
                                  "check-minus (counts as absent)."]))


def drift_chart(frame: pd.DataFrame, period: str = "quarter", width: int = WIDTH) -> alt.TopLevelMixin:
    """Each coder's ICC(1,1) on rupture frequency by period (`drift.drift`); periods with too few sessions
    are left out."""
    data = frame[frame.icc.notna()]
    labels = [f"{d.year} Q{(d.month - 1) // 3 + 1}" if period == "quarter" else d.strftime("%b %Y")
              for d in data.period_start]
    data = data.assign(period_label=labels, sessions_text=data.sessions.astype(str) + " sessions")
    domain = list(dict.fromkeys(data.sort_values("period_start").period_label))
    coders = sorted(data.coder_id.unique())
    colour = alt.Color("coder_id:N", title="Coder", scale=alt.Scale(domain=coders, range=list(
        CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(coders)))))
    dash = alt.StrokeDash("coder_id:N", title="Coder", scale=alt.Scale(domain=coders, range=[
        CATEGORY_DASHES[i % len(CATEGORY_DASHES)] for i in range(len(coders))]))
    x = alt.X("period_label:O", title=period.capitalize(), scale=alt.Scale(domain=domain),
              axis=alt.Axis(labelAngle=0 if period == "quarter" else -45))
    y = alt.Y("icc:Q", title="ICC(1,1), rupture frequency", scale=alt.Scale(domain=[min(0.0, float(
        data.icc.min()) if len(data) else 0.0), 1]))
    tooltip = [alt.Tooltip("coder_id:N", title="Coder"), alt.Tooltip("period_label:N", title=period.capitalize()), alt.Tooltip("icc:Q", title="ICC(1,1)", format=".2f"),
               alt.Tooltip("ac1:Q", title="AC1, rupture presence", format=".2f"),
               alt.Tooltip("sessions_text:N", title="Double-coded")]
    base = alt.Chart(data).encode(x=x, y=y, color=colour, tooltip=tooltip)
    line = base.mark_line(strokeWidth=2).encode(strokeDash=dash)
    points = base.mark_point(filled=True, size=40)
    return alt.layer(line, points, config=house_config()).properties(
        width=width, height=260, autosize=FIT_X,
        title=alt.Title("Agreement over time, per coder",
                        subtitle=["ICC(1,1) of each coder's rupture frequency (segments marked)",  # lines that
                                  "against their partner's, on routine double-coded sessions;",  # fit a laptop
                                  f"a {period} with fewer than 5 of a coder's sessions is left out."]))
