"""Journey: the links the README promises, the refusal of any other address, no page list after a restart,
no toolbar menu, and the demo role switcher, in Chromium at 1400 and 1024 px."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from rrrs_core import access
from rrrs_ui import shell
from tests.e2e.conftest import (
    ROOT,
    _free_port,
    assert_no_exception,
    choose,
    goto,
    nav_links,
    page_text,
    process,
    shot,
    sidebar,
    wait_ready,
)

pytestmark = pytest.mark.browser

NOT_FOUND = "Not found or not permitted."
TITLES = {name: title for name, (_file, title) in shell.PAGES.items()}

# Every link in the README's table of links ("| `/caseload?flagged=1` | ..."), read from the README itself
README_LINKS = re.findall(r"`/([a-z]*(?:\?[^`]*)?)`", "\n".join(
    line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| `/")))


def no_page_not_found(page) -> None:
    """Streamlit's own answer to an address it has no page for is a "Page not found" dialog."""
    assert page.get_by_role("dialog").count() == 0, page.get_by_role("dialog").first.inner_text()
    assert page.get_by_text("Page not found").count() == 0


def test_readme_lists_the_links():
    assert {"", "caseload?flagged=1", "dyad?dyad=D0001", "session?dyad=D0001&session=4&tc=4", "audit",
            "users"} <= set(README_LINKS), README_LINKS


@pytest.mark.parametrize("address", README_LINKS, ids=[a or "root" for a in README_LINKS])
def test_readme_links_open_their_page(page, address: str) -> None:
    goto(page, address)
    heading = TITLES[address.split("?")[0] or "caseload"]
    expect(page.locator('[data-testid="stMain"] h1').first).to_contain_text(heading)
    no_page_not_found(page)
    assert_no_exception(page)
    assert NOT_FOUND not in page_text(page)
    path = address.split("?")[0] or "caseload"
    assert page.url.split("?")[0].endswith("/" + path), page.url  # the bare address opens /caseload


def test_flagged_link_opens_the_caseload_filtered(page) -> None:
    goto(page, "caseload?flagged=1")
    toggle = sidebar(page).get_by_role("switch", name="Only dyads with a concern flag")
    expect(toggle).to_be_checked()
    no_page_not_found(page)
    shot(page, "links-caseload-flagged-1400")


@pytest.mark.parametrize("address", ["audit?as=therapist", "users?as=supervisor", "no-such-page",
                                     "dyad?as=qi&dyad=D1"])
def test_address_outside_the_role_says_not_found_or_not_permitted(page, address: str) -> None:
    goto(page, address)
    expect(page.locator('[data-testid="stAlert"]').filter(has_text=NOT_FOUND)).to_be_visible()
    no_page_not_found(page)
    assert_no_exception(page)
    text = page_text(page)
    assert "Audit trail" not in text and "Add or change a user" not in text and "P-ALPHA" not in text
    shot(page, "refusal-" + address.split("?")[0])


def test_no_deploy_button_or_toolbar_menu_on_localhost(new_context, warm_app_url: str) -> None:
    """Streamlit shows developer options (Deploy, rerun, clear cache) to a browser on localhost unless told
    otherwise; "minimal" leaves no menu at all."""
    page = new_context(warm_app_url.replace("127.0.0.1", "localhost")).new_page()
    goto(page, "")
    assert page.get_by_role("button", name="Deploy").count() == 0
    assert page.locator('[data-testid="stAppDeployButton"]').count() == 0
    assert page.locator('[data-testid="stMainMenu"]').count() == 0
    assert page.get_by_text("Deploy", exact=True).count() == 0


@pytest.mark.parametrize("role", ["therapist", "supervisor", "qi", "coder", "admin"])
def test_demo_switcher_shows_each_roles_pages(page, role: str) -> None:
    goto(page, "")
    from rrrs_ui.demo_view import LABELS

    if role != "admin":
        choose(page, "View the demo as", LABELS[role])
    titles = [t.strip() for t in nav_links(page).all_inner_texts()]
    assert titles == [TITLES[p] for p in access.PAGES[role]], titles
    assert (f"as={role}" in page.url) is (role != "admin"), page.url
    assert page.get_by_text("Demo mode - no sign-in").count() == 1
    assert_no_exception(page)
    for width in (1400, 1024):
        page.set_viewport_size({"width": width, "height": 900})
        shot(page, f"demo-as-{role}-{width}")
    page.set_viewport_size({"width": 1400, "height": 1000})
    if role == "therapist":  # the role's scope, and a link followed from a table keeps the role
        nav_links(page).filter(has_text="Dyad trajectory").click()
        wait_ready(page)
        assert "as=therapist" in page.url
        goto(page, "dyad?dyad=D2&as=therapist")  # T2's dyad: not the demo therapist's (T1)
        expect(page.locator('[data-testid="stAlert"]').filter(has_text="not found or not permitted")
               .or_(page.locator('[data-testid="stAlert"]').filter(has_text=NOT_FOUND))).to_be_visible()


# --- a restarted server with sign-in configured ----------------------------------------------------------

@pytest.fixture
def signin_app(tmp_path: Path) -> Iterator[str]:
    """A fresh server (no browser has visited it) with sign-in configured; the provider is never reached,
    because nobody clicks "Sign in"."""
    from rrrs_core.auth_setup import new_secret
    from tests.builders import small_clinic_db

    db = small_clinic_db(tmp_path / "signin.duckdb")
    port = _free_port()
    app = f"http://127.0.0.1:{port}"
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'[auth]\nredirect_uri = "{app}/oauth2callback"\ncookie_secret = "{new_secret()}"\n'
                       'client_id = "rrrs"\nclient_secret = "x"\n'
                       'server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"\n')
    env = {**os.environ, "RRRS_DB": str(db), "PYTHONUNBUFFERED": "1"}
    env.pop("RRRS_FORCE_DEMO", None)
    env.pop("RRRS_DB_KEY", None)
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
           "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none", "--secrets.files", str(secrets)]
    with process(cmd, f"{app}/_stcore/health", tmp_path / "streamlit.log", "streamlit",
                 ready=lambda body: body.strip() == "ok", cwd=ROOT, env=env):
        yield app


_NAV_TEXT = """() => Array.from(document.querySelectorAll(
  '[data-testid="stSidebarNav"], [data-testid="stSidebarNavLink"], [data-testid="stPageLink-NavLink"]'))
  .map(e => e.innerText).join('|')"""


@pytest.mark.parametrize("width", [1400, 1024])
def test_first_visitor_after_restart_sees_no_page_list(new_context, signin_app: str, width: int) -> None:
    """Streamlit lists the raw pages/ folder in a restarted server's first run, before app.py runs; watch
    the page from the first byte until the sign-in page is ready, and at no moment may a page name show."""
    page = new_context(signin_app).new_page()
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("caseload?flagged=1", wait_until="commit")
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen.add(page.evaluate(_NAV_TEXT))
        if page.get_by_role("button", name="Sign in").count():
            break
        page.wait_for_timeout(20)
    wait_ready(page)
    seen.add(page.evaluate(_NAV_TEXT))
    assert seen == {""}, seen
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    no_page_not_found(page)
    assert sidebar(page).count() == 0 or not sidebar(page).is_visible()
    shot(page, f"signin-after-restart-{width}")
