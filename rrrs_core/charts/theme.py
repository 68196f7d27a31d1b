"""Shared chart look: fonts and sizes that read the same on screen and on paper."""

from __future__ import annotations

from typing import Any

import altair as alt

# The main column at a 1024 px browser with the sidebar open (Streamlit's wide layout): 564 CSS px. Single and
# layered views stretch to the column on screen (fit-x autosize); a faceted or concatenated chart cannot, so
# its default size keeps the whole chart (axes, legend, labels) within this width, and the PDFs pass their own.
APP_COLUMN_PX = 564


def house_config(base: Any = alt.Undefined) -> alt.Config:
    """The house style as a chart `config`, on top of `base` (a chart's own config, if it has one).

    Pass it when building a layered or concatenated chart (`alt.layer(..., config=house_config())`):
    each later copy of such a chart (`properties`, `configure_*`) copies every layer of every panel again,
    which costs tens of milliseconds per copy for a multi-panel chart.
    """
    config = alt.Config() if base is alt.Undefined else base.copy(deep=False)
    config["axis"] = alt.AxisConfig(labelFontSize=11, titleFontSize=12, gridColor="#e6e6e6")
    config["legend"] = alt.LegendConfig(labelFontSize=11, titleFontSize=12, orient="bottom")
    config["view"] = alt.ViewConfig(stroke=None)
    config["title"] = alt.TitleConfig(fontSize=14, anchor="start")
    return config


def configure(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Apply the house style; call last, on the top-level chart (one copy of it, not one per setting)."""
    out = chart.copy(deep=False)
    out.config = house_config(chart.config)
    return out
