"""A deep link that is the first request after the server starts must still go through app.py."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_exception, nav_links, shot, wait_ready

pytestmark = pytest.mark.browser


def test_deep_link_first_after_start_goes_through_app_py(new_context, cold_app_url: str) -> None:
    """Streamlit learns of app.py's navigation only once app.py has run; until then a deep link runs the page
    script alone, which hands itself to app.py (auth.require_page) so the sidebar is the titled one."""
    page = new_context(cold_app_url).new_page()
    page.goto("dyad?dyad=D1")
    wait_ready(page)
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("Dyad D1")
    assert_no_exception(page)
    shot(page, "cold-start-deep-link")
    titles = [t.strip() for t in nav_links(page).all_inner_texts()]
    assert "Dyad trajectory" in titles and "app" not in titles, titles  # app.py's st.navigation, titled
    assert page.get_by_text("Demo mode - no sign-in").count() == 1  # app.py's auth.banner ran
    assert page.url.endswith("/dyad?dyad=D1"), page.url  # the link a supervisor shares still reads the same


def test_cold_deep_link_is_guarded(new_context, cold_app_url: str) -> None:
    """Even when a page runs without app.py, it goes through sign-in/demo checks and shows the banner."""
    page = new_context(cold_app_url).new_page()
    page.goto("users")
    wait_ready(page)
    assert_no_exception(page)
    assert page.get_by_text("Demo mode - no sign-in").count() == 1
