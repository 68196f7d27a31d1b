"""The therapist report's chart: therapist contribution of every rated session over time, one line per dyad.

Its date axis puts one label per `date_step` months, chosen from the span so that the labels ("Sep 2023")
never run together at the chart's width, and lets Vega drop any label that would still overlap.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from rrrs_core.charts.theme import house_config
from rrrs_core.palette import HIGHLIGHT

DASHES = ([1, 0], [5, 3], [2, 2], [8, 3, 2, 3])
# Okabe-Ito colours left over once the 3RS families and the highlight have theirs; dashes tell dyads apart
# in greyscale print too.
DYAD_COLOURS = ("#E69F00", "#56B4E9", "#000000", "#8C564B", "#7F7F7F", "#F0E442")
DATE_FORMAT = "%b %Y"
LABEL_PX = 80  # room per date label: "Sep 2023" at the house 11 px font is ~50 px, plus a clear gap
MONTH_STEPS = (1, 2, 3, 4, 6, 12, 24)  # steps that start labels on quarters, halves and years


def date_step(first: pd.Timestamp, last: pd.Timestamp, width: int) -> int:
    """Months between date labels: the smallest of MONTH_STEPS that leaves LABEL_PX per label."""
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    fits = max(1, width // LABEL_PX)
    return next((s for s in MONTH_STEPS if math.ceil(months / s) <= fits), MONTH_STEPS[-1])


def contribution_chart(sessions: pd.DataFrame, threshold: int = 4, width: int = 430) -> alt.TopLevelMixin:
    """Therapist contribution of every rated session over time, one line per dyad; sessions at or above
    the threshold get a HIGHLIGHT ring, and a dashed HIGHLIGHT rule marks the threshold."""
    data_ = sessions.loc[sessions.therapist_contribution.notna(),
                         ["dyad_id", "session_number", "session_date", "therapist_contribution"]].copy()
    data_["therapist_contribution"] = data_["therapist_contribution"].astype(float)
    data_["date"] = pd.to_datetime(data_.session_date)
    data_ = data_.dropna(subset=["date"])
    data_["high"] = data_.therapist_contribution >= threshold
    dyads = sorted(data_.dyad_id.unique())
    colour = alt.Color("dyad_id:N", title="Dyad", scale=alt.Scale(
        domain=dyads, range=[DYAD_COLOURS[i % len(DYAD_COLOURS)] for i in range(len(dyads))]))
    step = date_step(data_.date.min(), data_.date.max(), width) if len(data_) else 1
    x = alt.X("date:T", title="Session date", axis=alt.Axis(
        format=DATE_FORMAT, labelAngle=0, tickCount=alt.TimeIntervalStep(interval="month", step=step),
        labelOverlap="greedy", labelSeparation=6, labelFlush=False))
    y = alt.Y("therapist_contribution:Q", title="Therapist contribution",
              scale=alt.Scale(domain=[0.8, 5.2], nice=False), axis=alt.Axis(values=[1, 2, 3, 4, 5]))
    dash = alt.StrokeDash("dyad_id:N", title="Dyad", scale=alt.Scale(
        domain=dyads, range=[DASHES[i % len(DASHES)] for i in range(len(dyads))]))
    base = alt.Chart(data_).encode(x=x, y=y, color=colour, strokeDash=dash)
    lines = base.mark_line(strokeWidth=1.4, opacity=0.8)
    points = base.mark_point(filled=True, size=28)
    rings = alt.Chart(data_[data_.high]).mark_point(size=150, strokeWidth=2.2, color=HIGHLIGHT).encode(x=x, y=y)
    rule = alt.Chart(pd.DataFrame({"t": [threshold]})).mark_rule(color=HIGHLIGHT, strokeDash=[4, 3]).encode(
        y=alt.Y("t:Q", scale=alt.Scale(domain=[0.8, 5.2], nice=False)))
    return alt.layer(rule, lines, points, rings, width=width, height=190, config=house_config())
