"""The one palette: withdrawal, confrontation and resolution keep these colours in the app and in print.

Okabe-Ito colours, chosen because they stay distinguishable with the common colour-vision deficiencies
and in greyscale print (the three differ in lightness as well as hue).
"""

from __future__ import annotations

WITHDRAWAL = "#0072B2"      # blue
CONFRONTATION = "#D55E00"   # vermillion
RESOLUTION = "#009E73"      # bluish green
HIGHLIGHT = "#CC79A7"       # reddish purple: sessions at/above the therapist-contribution threshold
NEUTRAL = "#7F7F7F"         # grey: other global ratings, axes, pending
LIGHT = {                   # check-minus (unclear) marks: same hue, lighter
    "withdrawal": "#9CC7E4",
    "confrontation": "#F2B48A",
    "resolution": "#8FD3BC",
}

FAMILY_COLOURS: dict[str, str] = {
    "withdrawal": WITHDRAWAL,
    "confrontation": CONFRONTATION,
    "resolution": RESOLUTION,
}

GLOBAL_COLOURS: dict[str, str] = {
    "overall_withdrawal": WITHDRAWAL,
    "overall_confrontation": CONFRONTATION,
    "overall_resolution": RESOLUTION,
    "therapist_contribution": HIGHLIGHT,
}


def family_scale() -> tuple[list[str], list[str]]:
    """Domain and range for an Altair colour scale keyed by family name."""
    return list(FAMILY_COLOURS), list(FAMILY_COLOURS.values())
