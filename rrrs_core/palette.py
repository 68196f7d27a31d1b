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
CAUTION = "#B45F06"         # dark orange: a figure not to trust yet (coder not calibrated), in print
SESSION_END = "#C4C4C4"     # light grey: a rupture episode the session's end cut short (unaddressed in session)
NOT_CODED = "#A6A6A6"       # grey: a session on the axis with self-reports but no coding
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


# Other categories (treatments, dyads on one chart): Okabe-Ito hues not used for the families or the
# contribution highlight, so no line is mistaken for withdrawal, confrontation or resolution.
CATEGORY_COLOURS = ("#E69F00", "#56B4E9", "#7F7F7F", "#8C564B", "#B59F00", "#B07AA1")
CATEGORY_DASHES = ([6, 3], [2, 2], [8, 3, 2, 3], [1, 0], [4, 4], [10, 2])  # tell lines apart in greyscale
TOTAL = "#000000"

# Self-reports (the patient's own view): black for the patient's scores, yellow for the zone below the SRS
# cutoff, the unused Okabe-Ito hues for the WAI-SR subscales and the post-session tension.
PATIENT = "#000000"
BELOW_CUTOFF = "#F0E442"
WAI_COLOURS: dict[str, str] = {"task": "#E69F00", "bond": "#56B4E9", "goal": "#7F7F7F"}
TENSION = "#E69F00"
DISCORDANT = CAUTION        # a session where the patient's rupture report and the coding disagree
CONTRIBUTION_RATINGS = (1, 2, 3, 4, 5)


def _mix(a: str, b: str, t: float) -> str:
    """The colour a fraction `t` of the way from hex colour `a` to `b`."""
    ca = [int(a[i:i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02X}" for x, y in zip(ca, cb, strict=True))


def tint(colour: str, opacity: float) -> str:
    """`colour` as #RRGGBBAA at `opacity` (0-1): a light background for labels in tables that keeps dark
    text readable and the hue recognisable."""
    return f"{colour}{round(max(0.0, min(1.0, opacity)) * 255):02X}"


def contribution_colours(threshold: int) -> list[str]:
    """One colour per therapist-contribution rating 1-5: greys below `threshold`, HIGHLIGHT shades at/above."""
    below = [r for r in CONTRIBUTION_RATINGS if r < threshold]
    above = [r for r in CONTRIBUTION_RATINGS if r >= threshold]
    greys = [_mix("#FFFFFF", NEUTRAL, 0.3 + 0.7 * (i + 1) / len(below)) for i in range(len(below))]
    pinks = [_mix(HIGHLIGHT, "#000000", 0.4 * i / max(len(above) - 1, 1)) for i in range(len(above))]
    return greys + pinks


def family_scale() -> tuple[list[str], list[str]]:
    """Domain and range for an Altair colour scale keyed by family name."""
    return list(FAMILY_COLOURS), list(FAMILY_COLOURS.values())
