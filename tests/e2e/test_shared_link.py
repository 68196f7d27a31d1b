"""Journey 6: a link a supervisor sends opens the same session, with the same threshold, elsewhere."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_exception, shot, threshold_slider, wait_ready

pytestmark = pytest.mark.browser

LINK = "session?dyad=D1&session=3&tc=3"


def test_shared_session_link_in_a_fresh_browser(new_context) -> None:
    page = new_context().new_page()  # no cookies, no Streamlit session: as a colleague opening the link
    page.goto(LINK)
    wait_ready(page)
    main = page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("Session detail")
    expect(main).to_contain_text("Dyad D1 - session 3")
    expect(page).to_have_url(re.compile(r"dyad=D1"))
    expect(page).to_have_url(re.compile(r"session=3"))
    expect(page).to_have_url(re.compile(r"tc=3"))
    assert_no_exception(page)
    shot(page, "journey6-1-shared-session")

    # The threshold travels on: the way back to the dyad carries tc=3 and the dyad page applies it.
    back = page.get_by_role("link", name=re.compile(r"Dyad D1 trajectory"))
    expect(back).to_have_attribute("href", re.compile(r"tc=3"))
    back.click()
    wait_ready(page)
    expect(page).to_have_url(re.compile(r"/dyad\?.*tc=3"))
    expect(threshold_slider(page)).to_have_value("3")
    expect(main).to_contain_text("Therapist contribution at or above 3:")
    assert_no_exception(page)
    shot(page, "journey6-2-dyad-tc3")
