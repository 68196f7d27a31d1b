"""Every chart fits the main column at a laptop's 1024 px (sidebar open) and a desktop's 1400 px: no axis,
legend, title or panel is cut off on the right (at 1024 px the dyad's rating panels, the strip's legend and
the clinic's last quarters were)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_exception, goto, selectbox, shot, wait_ready

pytestmark = pytest.mark.browser

# Vega draws SVG: the chart's own box and every text in it (titles, axis labels, legend entries) must end
# within the main column's content box. Text outside the <svg> box is clipped by it, so both are checked; and
# no title or subtitle line may be cut short with an ellipsis (Vega's title limit in a narrow chart).
_OVERFLOW_JS = """() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const box = main.getBoundingClientRect();
  const right = box.right - parseFloat(getComputedStyle(main).paddingRight);
  const charts = [], cut = [];
  for (const chart of document.querySelectorAll('[data-testid="stVegaLiteChart"]')) {
    const svg = chart.querySelector('svg.marks');
    if (!svg || svg.getBoundingClientRect().width === 0) continue;   // in a hidden tab
    const title = (svg.querySelector('.role-title-text') || {}).textContent || '(untitled)';
    charts.push(title);
    for (const el of svg.querySelectorAll('.role-title-text text, .role-title-subtitle text'))
      if ((el.textContent || '').includes('\u2026')) cut.push(`${title}: title cut to "${el.textContent}"`);
    for (const el of [svg, ...svg.querySelectorAll('text')]) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > right + 1)
        cut.push(`${title}: ${el.tagName} "${(el.textContent || '').slice(0, 30)}" ends at ${Math.round(r.right)}` +
                 ` px, the column at ${Math.round(right)} px`);
    }
  }
  return {charts, cut};
}"""

# (name, address, tabs to open, least number of charts drawn)
PAGES = [
    ("dyad", "dyad?dyad=D0001", [], 3),                # rupture share, four rating panels, segment strip
    ("session", "session?dyad=D1&session=3", [], 2),   # timeline, two coders compared
    ("clinic", "clinic", [], 2),                       # two trend charts with their n rows
    ("contribution", "contribution", [], 1),
    ("reliability", "reliability", ["Drill-down", "Drift"], 2),  # a pair's timelines, drift
]


def charts_fit(page) -> list[str]:
    """Titles of the charts drawn; fails listing every text that runs past the main column."""
    expect(page.locator('[data-testid="stVegaLiteChart"] svg.marks').first).to_be_attached()
    page.wait_for_timeout(300)  # Vega finishes drawing after the script run
    found = page.evaluate(_OVERFLOW_JS)
    assert found["cut"] == [], "\n".join(found["cut"])
    return found["charts"]


def first_pair(page) -> None:
    """Choose the first coder pair offered (most sessions both coded): the drill-down then draws their
    two timelines."""
    combo = selectbox(page, "Coders compared").get_by_role("combobox")
    combo.click()
    if combo.get_attribute("aria-expanded") != "true":
        page.keyboard.press("ArrowDown")
    page.get_by_role("option", name=re.compile(r"^C\d and C\d \(\d+ sessions both coded\)$")).first.click()
    wait_ready(page)


@pytest.mark.parametrize("width", [1024, 1400])
@pytest.mark.parametrize(("name", "url", "tabs", "least"), PAGES, ids=[p[0] for p in PAGES])
def test_charts_fit_the_main_column(page, width: int, name: str, url: str, tabs: list[str], least: int) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    goto(page, url)
    if name == "reliability":
        first_pair(page)
    drawn = []
    for tab in tabs or [None]:
        if tab is not None:
            page.get_by_role("tab", name=tab).click()
            wait_ready(page)
        drawn += charts_fit(page)
        assert_no_exception(page)
        shot(page, f"chart-fit-{name}{'-' + tab if tab else ''}-{width}")
    assert len(drawn) >= least, drawn
