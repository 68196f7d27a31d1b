"""Charts that cannot stretch to the page (facets, concatenations, padded views) fit a laptop's main column
at their default size, so the app shows them whole at 1024 px; the PDFs keep the sizes they pass."""

from __future__ import annotations

import re

import duckdb
import pandas as pd
import pytest

from rrrs_core.charts import clinic as cc
from rrrs_core.charts import contribution as ctc
from rrrs_core.charts import dyad as dc
from rrrs_core.charts import render
from rrrs_core.charts.theme import APP_COLUMN_PX
from rrrs_core.queries import contribution as cq
from rrrs_core.queries import dyad as dq
from rrrs_core.scope import CLINIC
from tests.test_charts_clinic import trends


def svg_width(chart) -> float:
    """The width of the whole rendered chart (axes, legends, titles) in CSS px."""
    return float(re.search(r'<svg[^>]*\swidth="([\d.]+)"', render.to_svg(chart)).group(1))


@pytest.mark.parametrize("period, n", [("quarter", 11), ("month", 32)])
def test_clinic_trends_fit_a_laptop_column(period: str, n: int) -> None:
    data = trends(period, n)
    for build in (cc.rupture_share_chart, cc.resolution_chart):
        assert svg_width(build(data, period)) <= APP_COLUMN_PX
        assert svg_width(build(data, period, width=820)) > APP_COLUMN_PX  # the page's old size was cut


def test_dyad_ratings_fit_a_laptop_column(clinic_con: duckdb.DuckDBPyConnection) -> None:
    traj = dq.trajectory(clinic_con, CLINIC, "D1", 4)
    assert svg_width(dc.ratings_chart(traj, 4)) <= APP_COLUMN_PX
    assert svg_width(dc.ratings_chart(traj, 4, width=900)) > APP_COLUMN_PX


def test_contribution_bars_fit_a_laptop_column(clinic_con: duckdb.DuckDBPyConnection) -> None:
    dist = cq.contribution_distribution(clinic_con)
    assert svg_width(ctc.distribution_chart(dist, 4)) <= APP_COLUMN_PX
    many = pd.DataFrame({"therapist_id": [f"T{i:03d}" for i in range(60)], "rating": 4, "n": 3})
    assert svg_width(ctc.distribution_chart(many, 4)) <= APP_COLUMN_PX  # the two-line subtitle too


def test_strip_legend_wraps_and_subtitle_is_two_lines(clinic_con: duckdb.DuckDBPyConnection) -> None:
    """Single views stretch to the column (fit-x); their legend and subtitle must not be wider than it."""
    traj = dq.trajectory(clinic_con, CLINIC, "D1", 4)
    strip = dq.segment_strip(clinic_con, CLINIC, "D1")
    spec = dc.segment_strip_chart(strip, traj, 4).properties(width=APP_COLUMN_PX).to_dict()
    assert spec["layer"][0]["encoding"]["color"]["legend"]["columns"] <= 4
    assert len(spec["title"]["subtitle"]) == 2

