"""Journey 2: a supervisor goes from the caseload to a flagged dyad, then to its worst session."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    assert_no_exception,
    choose,
    click_grid_cell,
    goto,
    grid_rows,
    shot,
    sidebar,
    wait_ready,
)

pytestmark = pytest.mark.browser


def test_caseload_to_flagged_dyad_to_session(page, context) -> None:
    goto(page, "/")
    sidebar(page).get_by_text("Only dyads with a concern flag").click()
    wait_ready(page)
    expect(page).to_have_url(re.compile(r"flagged=1"))
    rows = grid_rows(page)
    dyads = [r[0].rsplit("dyad=", 1)[-1].split("&")[0] for r in rows]
    assert "D1" in dyads and "D4" not in dyads, rows  # D4 (one quiet session) has no flag
    d1 = dyads.index("D1")
    assert rows[d1][4], "D1 should show its concern flags"  # Dyad, Status, Concern, Last session, Concern flags
    assert_no_exception(page)
    shot(page, "journey2-1-caseload-flagged")

    # The dyad link is a LinkColumn cell on the grid's canvas; Streamlit opens it in a new tab.
    with context.expect_page() as opened:
        click_grid_cell(page, 0, d1)
    dyad_page = opened.value
    dyad_page.bring_to_front()  # as the user now looks at the new tab
    wait_ready(dyad_page)
    expect(dyad_page).to_have_url(re.compile(r"/dyad\?dyad=D1(&|$)"))
    main = dyad_page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("Dyad trajectory")
    expect(main).to_contain_text("Dyad D1")
    expect(main).to_contain_text("session 3 (contribution 5)")
    assert_no_exception(dyad_page)
    shot(dyad_page, "journey2-2-dyad")

    # The picker starts at the worst flagged session (session 3, severity 8); choose another session first,
    # then session 3 again, so the picker really drives the link.
    expect(dyad_page.get_by_role("link", name=re.compile(r"Session 3 detail"))).to_be_visible()
    choose(dyad_page, "Open a session", "Session 2")
    expect(dyad_page.get_by_role("link", name=re.compile(r"Session 2 detail"))).to_be_visible()
    choose(dyad_page, "Open a session", "Session 3 (severity 8)")
    link = dyad_page.get_by_role("link", name=re.compile(r"Session 3 detail"))
    expect(link).to_be_visible()
    link.click()
    wait_ready(dyad_page)

    expect(dyad_page).to_have_url(re.compile(r"/session\?.*session=3"))
    main = dyad_page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("Session detail")
    expect(main).to_contain_text("Dyad D1 - session 3")
    contribution = dyad_page.locator('[data-testid="stColumn"]').filter(
        has=dyad_page.locator('[data-testid="stMetricLabel"]', has_text="Therapist contribution"))
    expect(contribution.locator('[data-testid="stMetricValue"]')).to_have_text("5 / 5")
    expect(contribution).to_contain_text("clearly caused or exacerbated")
    assert_no_exception(dyad_page)
    shot(dyad_page, "journey2-3-session")
