"""The tables a supervisor reads first, at 1400 px: every column in view, up to 20 (dyad page) or 30
(contribution page) rows without scrolling inside the table, newest or worst first."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_no_exception, goto, grid, grid_headers, grid_rows, shot

pytestmark = pytest.mark.browser

_SCROLL_JS = "s => [s.scrollWidth, s.clientWidth, s.scrollHeight, s.clientHeight]"


def scroll_sizes(page, index: int = 0) -> list[int]:
    """(scrollWidth, clientWidth, scrollHeight, clientHeight) of a st.dataframe's scroll area: a wider or
    taller content than the box means columns or rows hidden behind a scrollbar."""
    return grid(page, index).locator(".dvn-scroller").evaluate(_SCROLL_JS)


@pytest.mark.parametrize("width", [1400])
def test_dyad_sessions_newest_first_all_in_view(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    goto(page, "dyad?dyad=D0001")   # the e2e clinic's demo part: 12 dyads of ~20 sessions
    headers = grid_headers(page, 0)
    assert headers[:4] == ["Session", "Date", "Severity", "Flag"], headers
    rows = grid_rows(page, 0)
    numbers = [int(r[0]) for r in rows]
    assert numbers == sorted(numbers, reverse=True) and len(numbers) > 10, numbers
    sw, cw, sh, ch = scroll_sizes(page, 0)
    assert sw <= cw, (sw, cw)                                      # no column behind a scrollbar
    assert ch >= 35 * (min(len(numbers), 20) + 1), (ch, len(numbers))   # up to 20 rows in view, not 10
    assert sh <= ch or len(numbers) > 20, (sh, ch)
    assert_no_exception(page)
    shot(page, f"flagged-dyad-sessions-{width}")


def test_contribution_worst_first_all_columns_in_view(page) -> None:
    page.set_viewport_size({"width": 1400, "height": 1000})
    goto(page, "contribution?tc=3")
    headers = grid_headers(page, 0)
    assert headers == ["Severity", "Date", "Dyad", "Session", "Therapist", "Contribution", "Resolution",
                       "vs own mean", "Rupture markers"], headers
    severities = [int(r[0]) for r in grid_rows(page, 0)]
    assert severities == sorted(severities, reverse=True) and len(severities) > 10 and len(set(severities)) > 2, severities
    sw, cw, _, _ = scroll_sizes(page, 0)
    assert sw <= cw, (sw, cw)
    assert_no_exception(page)
    shot(page, "flagged-contribution-1400")
