"""A deep link that is the first request after the server starts must still go through app.py."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_exception, shot, sidebar, wait_ready

pytestmark = pytest.mark.browser


@pytest.mark.xfail(strict=True, reason=(
    "known cosmetic limitation: the page scripts live in pages/ (the project's fixed layout), so until app.py "
    "has run once on a freshly started server Streamlit serves a deep link by running pages/<name>.py "
    "directly and the sidebar lists raw file names. Sign-in, the demo-mode refusal, the role check, the wide "
    "layout and the banner still apply: every page calls auth.require_page (see test_cold_deep_link_is_guarded)."))
def test_deep_link_first_after_start_goes_through_app_py(new_context, cold_app_url: str) -> None:
    page = new_context(cold_app_url).new_page()
    page.goto("dyad?dyad=D1")
    wait_ready(page)
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("Dyad D1")
    assert_no_exception(page)
    shot(page, "cold-start-deep-link")
    titles = [t.strip() for t in sidebar(page).locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]
    assert "Dyad trajectory" in titles and "app" not in titles, titles  # app.py's st.navigation, titled
    assert page.get_by_text("Demo mode - no sign-in").count() == 1  # app.py's auth.banner ran


def test_cold_deep_link_is_guarded(new_context, cold_app_url: str) -> None:
    """Even when a page runs without app.py, it goes through sign-in/demo checks and shows the banner."""
    page = new_context(cold_app_url).new_page()
    page.goto("users")
    wait_ready(page)
    assert_no_exception(page)
    assert page.get_by_text("Demo mode - no sign-in").count() == 1
