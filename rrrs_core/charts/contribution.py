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

RATINGS = palette.CONTRIBUTION_RATINGS
rating_colours = palette.contribution_colours


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
