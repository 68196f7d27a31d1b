"""Shared chart look: fonts and sizes that read the same on screen and on paper."""

from __future__ import annotations

import altair as alt


def configure(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Apply the house style; call last, on the top-level chart."""
    return (
        chart.configure_axis(labelFontSize=11, titleFontSize=12, gridColor="#e6e6e6")
        .configure_legend(labelFontSize=11, titleFontSize=12, orient="bottom")
        .configure_view(stroke=None)
        .configure_title(fontSize=14, anchor="start")
    )
