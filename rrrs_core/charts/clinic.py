"""Clinic trends for QI meetings: share of sessions with ruptures and mean resolution over time.

One line per treatment plus a heavier black 'All treatments' line. Suppressed cells (fewer than five
sessions, or hidden so that one cannot be worked out from the total: see `queries.clinic`) arrive as NULL
and break the line instead of being bridged, so a gap is visibly "not shown" rather than an invented trend;
a period in which a treatment has no sessions at all breaks its line the same way. Under each chart, rows of
n (one per line) give the sessions behind every point ('*' where suppressed), so that a small period does not
read like a trend.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from rrrs_core import palette
from rrrs_core.charts.theme import configure
from rrrs_core.queries.clinic import ALL_TREATMENTS

TREATMENT_COLOURS = palette.CATEGORY_COLOURS
TREATMENT_DASHES = palette.CATEGORY_DASHES
TOTAL_COLOUR = palette.TOTAL
_TIME_UNIT = {"month": "yearmonth", "quarter": "yearquarter"}
_TIME_FORMAT = {"month": "%b %Y", "quarter": "Q%q %Y"}
_PERIOD_MONTHS = {"month": 1, "quarter": 3}
LABEL_PX = 64  # room for one x label ("Sep 2024", "Q3 2024", about 48 px) and the gap to the next
# Label steps in months, each starting on a calendar boundary (quarters, half years, Januaries).
_STEPS = {"month": (1, 2, 3, 6, 12, 24, 36, 60, 120), "quarter": (3, 6, 12, 24, 36, 60, 120)}


def _x_axis(trends: pd.DataFrame, period: str, width: int) -> tuple[alt.Scale, alt.Axis]:
    """An x axis that stays readable from a few months to ten years, on screen and in the PDF.

    One label per period while they fit side by side at `width`, otherwise the smallest step from `_STEPS`
    that fits (every 3 or 6 months, every year, ...), labels horizontal. Ticks fall on calendar boundaries
    (Jan/Apr/Jul/Oct, January), so a label never names an odd month. The domain runs from half a period
    before the first period to half a period after the last: no empty months are added at the ends (Vega's
    'nice' rounding would add up to a year), and a single period still gets an axis.
    """
    months = _PERIOD_MONTHS.get(period, 1)
    starts = pd.to_datetime(trends["period_start"])
    first, last = starts.min(), starts.max()
    span = (last.year - first.year) * 12 + last.month - first.month + months
    fits = max(2, width // LABEL_PX)
    steps = _STEPS.get(period, _STEPS["month"])
    step = next((s for s in steps if math.ceil(span / s) <= fits), steps[-1])
    half = pd.Timedelta(days=round(15.2 * months))
    lo, hi = first - half, last + half
    scale = alt.Scale(domain=[alt.DateTime(year=d.year, month=d.month, date=d.day) for d in (lo, hi)], nice=False)
    if step >= 12:
        tick, fmt = alt.TimeIntervalStep(interval="year", step=step // 12), "%Y"
    else:
        tick, fmt = alt.TimeIntervalStep(interval="month", step=step), _TIME_FORMAT.get(period, "%b %Y")
    return scale, alt.Axis(format=fmt, tickCount=tick, labelAngle=0, labelOverlap=True, grid=True)


def _scales(trends: pd.DataFrame) -> tuple[alt.Scale, alt.Scale]:
    """Colour and dash scales with a fixed order: treatments alphabetically, then the total."""
    treatments = sorted(t for t in trends["treatment"].unique() if t != ALL_TREATMENTS)
    domain = [*treatments, ALL_TREATMENTS]
    colours = [TREATMENT_COLOURS[i % len(TREATMENT_COLOURS)] for i in range(len(treatments))]
    dashes = [TREATMENT_DASHES[i % len(TREATMENT_DASHES)] for i in range(len(treatments))]
    return (alt.Scale(domain=domain, range=[*colours, TOTAL_COLOUR]),
            alt.Scale(domain=domain, range=[*dashes, [1, 0]]))


def with_gaps(trends: pd.DataFrame, period: str) -> pd.DataFrame:
    """Add empty (NULL) rows for the periods in which a treatment has no sessions, so its line breaks there
    like at a suppressed cell, instead of drawing a straight line across months with no data."""
    if trends.empty:
        return trends
    starts = pd.to_datetime(trends["period_start"])
    every = pd.date_range(starts.min(), starts.max(), freq="QS" if period == "quarter" else "MS")
    grid = pd.MultiIndex.from_product([every, trends["treatment"].unique()], names=["period_start", "treatment"])
    full = trends.assign(period_start=starts).set_index(["period_start", "treatment"]).reindex(grid).reset_index()
    return full.assign(is_total=full["treatment"] == ALL_TREATMENTS)


APP_WIDTH = 480  # plot width: with the y axis and the n rows' labels (~75 px) within theme.APP_COLUMN_PX
N_ROW_PX = 15  # height of one line of the n rows under a chart


def _n_rows(trends: pd.DataFrame, n_field: str, n_title: str, x: alt.X, colour: alt.Scale,
            width: int) -> alt.Chart:
    """The n behind every point, one row per line (treatments, then the whole clinic), under the chart on
    the same time axis: '*' where the cell is suppressed, nothing where there were no sessions. A tooltip is
    not enough: a point of 29 sessions must not read like one of 120, on screen or on paper."""
    domain = colour.domain
    base = alt.Chart(trends).transform_filter(f"isValid(datum['{n_field}'])").encode(
        x=x.axis(None),
        y=alt.Y("treatment:N", title=None, sort=domain, scale=alt.Scale(domain=domain),
                axis=alt.Axis(ticks=False, domain=False, labelFontSize=10)),
        text=alt.Text(f"{n_field}:N"),
        color=alt.Color("treatment:N", title="Treatment", scale=colour),
    )
    slot = width / max(1, trends["period_start"].nunique())  # px per period: smaller text when crowded
    size = 10 if slot >= 22 else 8
    parts = [base.transform_filter(f"{'' if total else '!'}datum.is_total").mark_text(
        fontSize=size, baseline="middle", fontWeight="bold" if total else "normal") for total in (False, True)]
    return alt.layer(*parts).properties(width=width, height=N_ROW_PX * len(domain), title=alt.Title(
        n_title, fontSize=11, fontWeight="normal", anchor="start"))


def _trend_chart(trends: pd.DataFrame, field: str, title: str, axis_title: str, y_scale: alt.Scale,
                 axis_format: str, period: str, width: int, n_field: str, n_title: str) -> alt.TopLevelMixin:
    trends = with_gaps(trends, period)
    unit = _TIME_UNIT.get(period, "yearmonth")
    colour, dash = _scales(trends)
    x_scale, x_axis = _x_axis(trends, period, width)
    x = alt.X(f"{unit}(period_start):T", title=period.capitalize(), scale=x_scale, axis=x_axis)
    base = alt.Chart(trends, title=title).encode(
        x=x,
        y=alt.Y(f"{field}:Q", title=axis_title, scale=y_scale, axis=alt.Axis(format=axis_format)),
        color=alt.Color("treatment:N", title="Treatment", scale=colour),
        tooltip=[
            alt.Tooltip(f"{unit}(period_start):T", title=period.capitalize(),
                        format=_TIME_FORMAT.get(period, "%b %Y")),
            alt.Tooltip("treatment:N", title="Treatment"),
            alt.Tooltip(f"{n_field}:N", title=n_title),
            alt.Tooltip(f"{field}:Q", title=axis_title, format=axis_format),
        ],
    )
    lines = base.mark_line(invalid="break-paths-show-domains").encode(
        strokeDash=alt.StrokeDash("treatment:N", title="Treatment", scale=dash),
        strokeWidth=alt.condition(alt.datum.is_total, alt.value(3), alt.value(1.8)))
    points = base.mark_point(filled=True, size=40, opacity=1, invalid="filter")
    # autosize pad: width/height size the plot in the app as in the PDF (Streamlit would fit the
    # whole chart, axes and legend included, into them).
    plot = (lines + points).properties(width=width, height=240)
    return configure(alt.vconcat(plot, _n_rows(trends, n_field, n_title, x, colour, width), spacing=6,
                                 autosize=alt.AutoSizeParams(type="pad")).resolve_scale(x="shared"))


def rupture_share_chart(trends: pd.DataFrame, period: str = "month", width: int = APP_WIDTH) -> alt.TopLevelMixin:
    """Lines of `rupture_share` from `queries.clinic.trends()`."""
    return _trend_chart(trends, "rupture_share", "Share of sessions with ruptures",
                        "Sessions with >= 1 rupture segment", alt.Scale(domain=[0, 1]), ".0%", period, width,
                        "sessions", "n: sessions behind each point (* = suppressed)")


def resolution_chart(trends: pd.DataFrame, period: str = "month", width: int = APP_WIDTH) -> alt.TopLevelMixin:
    """Lines of `mean_resolution` (1-5, 3 = average) from `queries.clinic.trends()`."""
    return _trend_chart(trends, "mean_resolution", "Mean overall resolution",
                        "Mean overall resolution (1-5)", alt.Scale(domain=[1, 5]), ".1f", period, width,
                        "rated_sessions", "n: rated sessions behind each point (* = suppressed)")
