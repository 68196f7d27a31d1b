"""The therapist report's contribution chart: date labels that never run together ("Sep 2023Nov 2023...")."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from rrrs_core.charts.render import to_svg
from rrrs_core.charts.therapist import LABEL_PX, contribution_chart, date_step

LABEL = re.compile(r'<text[^>]*transform="translate\(([-\d.]+),[-\d.]+\)"[^>]*>([A-Z][a-z]{2} \d{4})</text>')


def sessions(first: str, last: str, every: str = "7D") -> pd.DataFrame:
    dates = pd.date_range(first, last, freq=every)
    return pd.DataFrame({"dyad_id": ["D1", "D2"] * (len(dates) // 2) + ["D1"] * (len(dates) % 2),
                         "session_number": range(len(dates)), "session_date": dates.strftime("%Y-%m-%d"),
                         "therapist_contribution": [1 + i % 5 for i in range(len(dates))]})


def label_positions(chart) -> list[tuple[float, str]]:
    return sorted((float(x), text) for x, text in LABEL.findall(to_svg(chart)))


@pytest.mark.parametrize(("first", "last"), [("2023-09-01", "2025-02-15"), ("2024-01-03", "2024-04-20"),
                                             ("2019-01-01", "2025-12-31")])
def test_date_labels_keep_apart_in_the_rendered_chart(first, last):
    """Rendered as the PDF renders it (vl-convert): consecutive labels are at least a label's width apart.
    The T01 demo report's chart (Sep 2023 - Feb 2025 at 430 px) printed "Sep 2023Nov 2023Jan 2024..."."""
    labels = label_positions(contribution_chart(sessions(first, last), width=430))
    assert len(labels) >= 2, labels
    gaps = [b[0] - a[0] for a, b in zip(labels, labels[1:], strict=False)]
    assert min(gaps) >= 60, labels  # "Sep 2023" is ~50 px at the house 11 px font


def test_date_step_leaves_room_per_label():
    start = pd.Timestamp("2023-09-01")
    assert date_step(start, pd.Timestamp("2023-12-01"), 430) == 1  # 4 months: every month fits
    assert date_step(start, pd.Timestamp("2025-02-01"), 430) == 4  # 18 months at 430 px: 5 labels
    assert date_step(start, pd.Timestamp("2025-02-01"), 900) == 2
    for months in range(1, 120):
        end = start + pd.DateOffset(months=months)
        step = date_step(start, end, 430)
        assert -(-(months + 1) // step) * LABEL_PX <= 430 or step == 24
