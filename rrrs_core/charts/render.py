"""Offline rendering of Altair charts for PDFs: vl-convert bundles Vega, so nothing is fetched."""

from __future__ import annotations

import altair as alt
import vl_convert as vlc

FONT = "DejaVu Sans"


def to_png(chart: alt.TopLevelMixin, scale: float = 2.0) -> bytes:
    """PNG bytes at `scale` x the chart's CSS size (2 gives print-quality at the chart's width)."""
    return vlc.vegalite_to_png(chart.to_json(), scale=scale)


def to_svg(chart: alt.TopLevelMixin) -> str:
    return vlc.vegalite_to_svg(chart.to_json())
