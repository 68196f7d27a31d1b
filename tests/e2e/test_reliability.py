"""Journey: a calibration meeting on the Reliability page. Choose a coder pair, open their most disputed
session, read the manual's definitions of the disputed codes beside the two timelines; then the trainees'
calibration status. At a laptop's 1024 px and a desktop's 1400 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_exception, goto, selectbox, shot, wait_ready

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1400, 1024])
def test_calibration_meeting(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    goto(page, "reliability")
    main = page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("Coder reliability")
    expect(main).to_contain_text("check-minus counts as absent")
    expect(main).to_contain_text("routine double-coding")

    # choose a pair: the first one offered (most sessions both coded)
    combo = selectbox(page, "Coders compared").get_by_role("combobox")
    combo.click()
    if combo.get_attribute("aria-expanded") != "true":
        page.keyboard.press("ArrowDown")
    option = page.get_by_role("option", name=re.compile(r"^C\d and C\d \(\d+ sessions both coded\)$")).first
    pair = re.match(r"(C\d) and (C\d)", option.inner_text()).groups()
    option.click()
    wait_ready(page)
    expect(page).to_have_url(re.compile(rf"pair={pair[0]}%2C{pair[1]}|pair={pair[0]},{pair[1]}"))
    expect(main).to_contain_text(f"fully crossed: sessions coded by each of {pair[0]}, {pair[1]}")
    expect(main).to_contain_text("ICC2")
    assert_no_exception(page)
    shot(page, f"reliability-1-pair-{width}")

    # open the most disputed session: both timelines, disputed marks boxed, the definitions beside them
    page.get_by_role("tab", name="Drill-down").click()
    session = selectbox(page, "Session").get_by_role("combobox")
    expect(session).to_have_value(re.compile(r"session \d+ .* [1-9]\d* disputed: "))
    panel = page.get_by_role("tabpanel", name="Drill-down")
    expect(panel).to_contain_text("Disputed codes: the manual's definitions")
    expect(panel).to_contain_text("Check-minus when:")
    expect(panel).to_contain_text("Disputed at")
    expect(panel.locator('[data-testid="stVegaLiteChart"]')).to_have_count(1)
    assert_no_exception(page)
    shot(page, f"reliability-2-drill-down-{width}")

    # calibration against the demo's reference codings
    page.get_by_role("tab", name="Calibration").click()
    cal = page.get_by_role("tabpanel", name="Calibration")
    expect(cal).to_contain_text("calibration session(s) with a reference coding")
    expect(cal).to_contain_text(re.compile(r"C\d: (meets criterion|not yet)"))
    shot(page, f"reliability-3-calibration-{width}")

    page.get_by_role("tab", name="Drift").click()
    expect(page.get_by_role("tabpanel", name="Drift").locator('[data-testid="stVegaLiteChart"]')).to_have_count(1)
    assert_no_exception(page)
    shot(page, f"reliability-4-drift-{width}")
