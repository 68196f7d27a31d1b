"""The clinic trend charts' time axis stays readable from one month to ten years, in the app and the PDF."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rrrs_core.charts import clinic as charts
from rrrs_core.charts import render
from rrrs_core.queries.clinic import ALL_TREATMENTS

WIDE, PDF_WIDTH = 820, 430  # a wide chart (the app's before it had to fit a laptop), reports/clinic.py


def trends(period: str, n_periods: int, start: str = "2023-02-01") -> pd.DataFrame:
    """A `queries.clinic.trends()` frame: two treatments and the total per period."""
    starts = pd.date_range(start, periods=n_periods, freq="MS" if period == "month" else "QS")
    rng = np.random.default_rng(3)
    return pd.DataFrame([
        {"period_start": d, "treatment": t, "is_total": t == ALL_TREATMENTS, "sessions": "40",
         "rupture_share": rng.uniform(0.3, 0.6), "rated_sessions": "35", "mean_resolution": rng.uniform(2.5, 3.5),
         "suppressed": False}
        for d in starts for t in ("CBT", "Psychodynamic", ALL_TREATMENTS)])


def x_of(chart) -> dict:
    return chart.to_dict()["vconcat"][0]["layer"][0]["encoding"]["x"]


@pytest.mark.parametrize(("period", "n", "width", "tick", "fmt"), [
    ("month", 3, WIDE, {"interval": "month", "step": 1}, "%b %Y"),          # a new clinic: every month
    ("month", 32, WIDE, {"interval": "month", "step": 3}, "%b %Y"),         # the demo clinic's span
    ("month", 32, PDF_WIDTH, {"interval": "month", "step": 6}, "%b %Y"),
    ("month", 120, WIDE, {"interval": "year", "step": 1}, "%Y"),            # ten years
    ("month", 120, PDF_WIDTH, {"interval": "year", "step": 2}, "%Y"),
    ("quarter", 11, WIDE, {"interval": "month", "step": 3}, "Q%q %Y"),      # every quarter
    ("quarter", 11, PDF_WIDTH, {"interval": "month", "step": 6}, "Q%q %Y"),
    ("quarter", 40, WIDE, {"interval": "year", "step": 1}, "%Y"),
])
def test_labels_thin_out_on_calendar_boundaries(period: str, n: int, width: int, tick: dict, fmt: str) -> None:
    x = x_of(charts.rupture_share_chart(trends(period, n), period, width=width))
    axis = x["axis"]
    assert axis["tickCount"] == tick and axis["format"] == fmt
    assert axis["labelAngle"] == 0  # horizontal: thinned out instead of tilted
    months = n * (1 if period == "month" else 3)
    step = tick["step"] * (12 if tick["interval"] == "year" else 1)
    assert math.ceil(months / step) <= width // charts.LABEL_PX  # every label has room


def test_domain_is_the_data_span_not_rounded_out() -> None:
    """Before: Vega's 'nice' domain ran months past the last period; now half a period either side."""
    x = x_of(charts.resolution_chart(trends("month", 32), "month", width=WIDE))
    lo, hi = x["scale"]["domain"]
    assert x["scale"]["nice"] is False
    assert (lo["year"], lo["month"], lo["date"]) == (2023, 1, 17)   # first period: February 2023
    assert (hi["year"], hi["month"], hi["date"]) == (2025, 9, 16)   # last period: September 2025


@pytest.mark.parametrize("period", ["month", "quarter"])
def test_a_single_period_still_renders(period: str) -> None:
    png = render.to_png(charts.rupture_share_chart(trends(period, 1), period), scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("period", ["month", "quarter"])
def test_a_period_without_sessions_breaks_the_line_instead_of_bridging_it(period):
    """A treatment with no sessions in a period must not look like a straight trend across it."""
    frame = trends(period, 4)
    second = sorted(frame.period_start.unique())[1]
    gappy = frame[~((frame.period_start == second) & (frame.treatment == "CBT"))]
    third = sorted(frame.period_start.unique())[2]
    gappy = gappy[gappy.period_start != third]                         # nobody at all in the third period
    filled = charts.with_gaps(gappy, period)
    assert len(filled) == len(frame)                                   # every period x treatment again
    empty = filled[filled.rupture_share.isna()]
    assert set(zip(empty.period_start, empty.treatment, strict=True)) == {
        (second, "CBT"), (third, "CBT"), (third, "Psychodynamic"), (third, ALL_TREATMENTS)}
    assert filled.loc[filled.treatment == ALL_TREATMENTS, "is_total"].all()
    spec = charts.rupture_share_chart(gappy, period).to_dict()
    rows = spec["datasets"][spec["data"]["name"]]
    assert sum(r["rupture_share"] is None for r in rows) == 4          # drawn as breaks, not bridged
    assert render.to_png(charts.rupture_share_chart(gappy, period))[:4] == b"\x89PNG"


@pytest.mark.parametrize(("build", "field"), [(charts.rupture_share_chart, "sessions"),
                                              (charts.resolution_chart, "rated_sessions")])
def test_every_point_shows_its_n_under_the_chart(build, field) -> None:
    """Issue 15: a row of n per line (treatments and the whole clinic) on the chart's time axis, so a small
    period (29 sessions) does not read like a trend; '*' where suppressed. Not a tooltip: drawn text."""
    frame = trends("quarter", 4)
    frame.loc[frame.index[-1], field] = "29"
    frame.loc[frame.index[0], [field, "rupture_share", "mean_resolution"]] = ["*", None, None]
    spec = build(frame, "quarter").to_dict()
    plot, n_rows = spec["vconcat"]
    texts = n_rows["layer"]
    assert {t["mark"]["type"] for t in texts} == {"text"}
    assert {t["encoding"]["text"]["field"] for t in texts} == {field}
    assert n_rows["layer"][0]["encoding"]["x"]["field"] == plot["layer"][0]["encoding"]["x"]["field"]
    assert n_rows["layer"][0]["encoding"]["y"]["scale"]["domain"] == ["CBT", "Psychodynamic", ALL_TREATMENTS]
    rows = spec["datasets"][spec["data"]["name"]] if "data" in spec else next(iter(spec["datasets"].values()))
    assert {"29", "*"} <= {r[field] for r in rows}
    assert render.to_png(build(frame, "quarter"), scale=1)[:4] == b"\x89PNG"
