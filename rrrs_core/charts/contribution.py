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


MAX_THERAPISTS = 40  # bars a person can read; a whole clinic can have a thousand therapists


def distribution_chart(dist: pd.DataFrame, threshold: int = 4, width: int = 480,
                       limit: int = MAX_THERAPISTS) -> alt.TopLevelMixin:
    """Stacked horizontal bars from `contribution_distribution()` (therapist_id, rating, n).

    With more than `limit` therapists in scope only the `limit` with the most ratings at or above the
    threshold are drawn (the ones a supervisor looks at first), and the subtitle says so. The default
    `width` (the plot) leaves room for the axes within `theme.APP_COLUMN_PX`, a laptop's main column.
    """
    data = dist.assign(
        anchor=dist["rating"].map({r: cb.CONTRIBUTION.anchor(r) for r in RATINGS}),
        at_threshold=dist["rating"] >= threshold,
    )
    high = data[data.at_threshold].groupby("therapist_id")["n"].sum()
    total = data.groupby("therapist_id")["n"].sum()
    ranked = pd.DataFrame({"high": high, "total": total}).fillna(0).reindex(data["therapist_id"].unique())
    order = ranked.sort_values(["high", "total"], ascending=False, kind="stable").index.tolist()
    subtitle = [f"Ratings at or above the threshold ({threshold}) in purple"]
    if len(order) > limit:
        subtitle += [f"The {limit} therapists with the most such ratings, of {len(order)} in scope;",
                     "narrow the scope to see the others"]  # two lines: one is wider than a laptop column
        order = order[:limit]
        data = data[data["therapist_id"].isin(order)]
    n_therapists = max(len(order), 1)
    chart = (
        alt.Chart(data, title=alt.Title("Therapist-contribution ratings per therapist", subtitle=subtitle))
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
