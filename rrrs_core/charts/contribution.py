"""How each therapist's sessions spread over the therapist-contribution scale.

Stacked bars of rating counts per therapist: ratings below the threshold in greys (darker = higher),
ratings at or above it in the palette's HIGHLIGHT (darker = higher), so the sessions a supervisor
should look at stand out in the same colour as everywhere else in the app and in the PDFs.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from rrrs_core import codebook as cb
from rrrs_core import palette
from rrrs_core.charts.theme import configure

RATINGS = (1, 2, 3, 4, 5)
_WHITE, _BLACK = "#FFFFFF", "#000000"


def _mix(a: str, b: str, t: float) -> str:
    """The colour a fraction `t` of the way from hex colour `a` to `b`."""
    ca = [int(a[i:i + 2], 16) for i in (1, 3, 5)]
    cb_ = [int(b[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02X}" for x, y in zip(ca, cb_, strict=True))


def rating_colours(threshold: int) -> list[str]:
    """One colour per rating 1-5: grey ramp below `threshold`, HIGHLIGHT ramp at/above it."""
    below = [r for r in RATINGS if r < threshold]
    above = [r for r in RATINGS if r >= threshold]
    greys = [_mix(_WHITE, palette.NEUTRAL, 0.3 + 0.7 * (i + 1) / len(below)) for i in range(len(below))]
    pinks = [_mix(palette.HIGHLIGHT, _BLACK, 0.4 * i / max(len(above) - 1, 1)) for i in range(len(above))]
    return greys + pinks


def distribution_chart(dist: pd.DataFrame, threshold: int = 4, width: int = 520) -> alt.TopLevelMixin:
    """Stacked horizontal bars from `contribution_distribution()` (therapist_id, rating, n)."""
    data = dist.assign(
        anchor=dist["rating"].map({r: cb.CONTRIBUTION.anchor(r) for r in RATINGS}),
        at_threshold=dist["rating"] >= threshold,
    )
    n_therapists = max(int(data["therapist_id"].nunique()), 1)
    order = (data[data.at_threshold].groupby("therapist_id")["n"].sum()
             .reindex(data["therapist_id"].unique(), fill_value=0)
             .sort_values(ascending=False, kind="stable").index.tolist())
    chart = (
        alt.Chart(data, title=alt.Title(
            "Therapist-contribution ratings per therapist",
            subtitle=f"Ratings at or above the threshold ({threshold}) in purple"))
        .mark_bar(stroke="white", strokeWidth=0.5)
        .encode(
            y=alt.Y("therapist_id:N", title="Therapist", sort=order),
            x=alt.X("sum(n):Q", title="Rated sessions", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color(
                "rating:O",
                title="Contribution rating",
                scale=alt.Scale(domain=list(RATINGS), range=rating_colours(threshold)),
            ),
            order=alt.Order("rating:O", sort="ascending"),
            tooltip=[
                alt.Tooltip("therapist_id:N", title="Therapist"),
                alt.Tooltip("rating:O", title="Rating"),
                alt.Tooltip("anchor:N", title="Meaning"),
                alt.Tooltip("sum(n):Q", title="Sessions"),
            ],
        )
        .properties(width=width, height=max(60, 24 * n_therapists),
                    # width/height size the plot, as in the PDF; Streamlit would otherwise fit the
                    # whole chart (title, axes, legend) into them.
                    autosize=alt.AutoSizeParams(type="pad"))
    )
    return configure(chart)
