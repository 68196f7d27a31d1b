"""The first screens a supervisor opens, at a laptop's 1024 px and a desktop's 1400 px: nothing cut."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import assert_no_exception, goto, shot

pytestmark = pytest.mark.browser

_CUT_JS = """els => els.flatMap(el => [el, ...el.querySelectorAll('*')])
  .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflow !== 'visible')
  .map(e => e.closest('[data-testid="stMetricLabel"]').innerText)"""


@pytest.mark.parametrize("width", [1024, 1400])
def test_dyad_key_figure_labels_are_not_cut(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    goto(page, "dyad?dyad=D1")
    labels = page.locator('[data-testid="stMetricLabel"]')
    assert labels.count() == 5
    assert labels.evaluate_all(_CUT_JS) == []  # five equal columns cut them to "Sessions c..." at 1024
    assert page.get_by_text("Last session 2026-01-26 (0 days ago)").is_visible()
    assert_no_exception(page)
    shot(page, f"dyad-key-figures-{width}")
