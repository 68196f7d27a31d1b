"""Harness for the browser journeys: one real `streamlit run app.py` on a temporary database for the whole
test session, Debian's headless Chromium driven by Playwright, and helpers to wait for Streamlit's
asynchronous reruns, to check for errors and to save screenshots (artifacts/e2e/<name>.png).

Nothing here reaches the internet: the server listens on 127.0.0.1 only, Chromium runs with its
background networking switched off, and every browser request to another host is aborted and fails the
test that made it.

Journeys: test_pages (every page), test_navigation (caseload -> dyad -> session), test_pdf, test_threshold,
test_shared_link, test_links_and_shell (README links, refusals, toolbar, demo switcher; a restarted server
with sign-in of its own), test_cold_start (own server) and test_upload (writes to the database: runs last).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-gpu", "--no-first-run"]
VIEWPORT = {"width": 1400, "height": 1000}
STARTUP_TIMEOUT = 60.0  # seconds for the server to answer /_stcore/health
READY_TIMEOUT = 30_000  # ms for a page's script run to finish
ACTION_TIMEOUT = 20_000  # ms for clicks, fills and expect() assertions
SETTLE_MS = 250  # quiet time after a run, for charts and grids to paint
DEMO_DYADS = 12  # a small synthetic clinic next to tests.builders.small_clinic, so lists look realistic
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


# --- ordering: journeys that write to the server's database run last -------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "writes_db: browser journey that changes the shared server's database "
                                       "(run after the read-only journeys)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("writes_db") is not None)  # stable: order otherwise kept


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)  # lets new_context screenshot failures
    return report


# --- the app server -----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def e2e_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made small clinic plus a small synthetic demo clinic, in a closed database file.

    Built before the server starts: the app then holds DuckDB's write lock, so this process cannot open
    the file again (not even read-only) and checks everything through the UI.
    """
    from rrrs_core import demo, store
    from rrrs_core.importing import import_path
    from tests.builders import small_clinic

    root = tmp_path_factory.mktemp("e2e")
    path = root / "e2e.duckdb"
    con = store.connect(path)
    try:
        small_clinic(con)  # D1..D4, T1/T2, S1/S2: no clash with the demo's D0001.., T01..
        demo.write(root / "demo", n_dyads=DEMO_DYADS, seed=7)
        import_path(con, root / "demo")
    finally:
        con.close()
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _local_get(url: str) -> str:
    """GET without any proxy from the environment (the server is on loopback)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=2) as resp:
        return resp.read().decode()


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no server log)"


@contextmanager
def process(cmd: list[str], ready_url: str, log_path: Path, name: str, ready=lambda body: True,
            **popen) -> Iterator[None]:
    """Run `cmd` until the block ends; wait until GET `ready_url` answers and `ready(body)` holds."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **popen)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with code {proc.returncode} before it was ready:\n{_tail(log_path)}")
            try:
                if ready(_local_get(ready_url)):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} not ready after {STARTUP_TIMEOUT:.0f} s:\n{_tail(log_path)}")
            time.sleep(0.25)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@contextmanager
def serve(db: Path, log_dir: Path) -> Iterator[str]:
    """Run `streamlit run app.py` on `db` at a free loopback port; yields the base URL (no trailing slash)."""
    port = _free_port()
    # RRRS_FORCE_DEMO: the upload journey imports non-demo data, after which demo mode (no sign-in) would
    # otherwise refuse to run.
    env = {**os.environ, "RRRS_DB": str(db), "RRRS_FORCE_DEMO": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("RRRS_DB_KEY", None)  # the test database is not encrypted
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    url = f"http://127.0.0.1:{port}"
    with process(cmd, f"{url}/_stcore/health", log_dir / "streamlit.log", "streamlit",
                 ready=lambda body: body.strip() == "ok", cwd=ROOT, env=env):
        yield url


@pytest.fixture(scope="session")
def app_url(e2e_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The server all journeys share, serving `e2e_db`; stopped at the end of the session."""
    with serve(e2e_db, tmp_path_factory.mktemp("e2e-server")) as url:
        yield url


@pytest.fixture
def cold_app_url(tmp_path: Path) -> Iterator[str]:
    """A server of its own that no browser has visited yet (small clinic only: starts in seconds)."""
    from tests.builders import small_clinic_db

    with serve(small_clinic_db(tmp_path / "cold.duckdb"), tmp_path) as url:
        yield url


# --- the browser --------------------------------------------------------------------------------------

# `browser` (one headless Chromium for the whole test session) is in tests/conftest.py: the security tests
# (tests/security) drive it too, and Playwright admits one sync instance per process.


@pytest.fixture(scope="session")
def warm_app_url(browser, app_url: str) -> str:
    """`app_url` after one visit to its home page.

    Until app.py has run once, Streamlit serves a deep link (/dyad?...) by running pages/<name>.py on its own
    (old multipage mode: the pages/ folder next to app.py), without app.py's sign-in, role filter and
    layout. Journeys use a warmed-up server so they do not depend on test order; test_cold_start covers
    the cold case on a server of its own.
    """
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(app_url + "/")
        wait_ready(page)
    finally:
        context.close()
    return app_url


def local_context(browser, base_url: str, blocked: list[str]):
    """A browser context that may only reach this machine: any other request is aborted and recorded in
    `blocked`, so a test can prove the app works offline."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, base_url=base_url + "/")
    context.set_default_timeout(ACTION_TIMEOUT)

    def only_local(route) -> None:
        target = route.request.url
        if target.startswith(("data:", "blob:")) or urlsplit(target).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(target)
            route.abort()

    context.route("**/*", only_local)
    return context


@pytest.fixture
def new_context(browser, request: pytest.FixtureRequest) -> Iterator:
    """Factory for fresh browser contexts (own cookies, storage and Streamlit session), closed at the end.

    `make(base_url)` defaults to the shared, warmed-up server. At teardown: every open page of a failed
    test is saved as artifacts/e2e/FAILED-<test>-<n>.png, and any request to another host (aborted) fails
    the test, so the app is known to work offline."""
    from playwright.sync_api import expect

    expect.set_options(timeout=ACTION_TIMEOUT)
    contexts, blocked = [], []

    def make(base_url: str | None = None):
        context = local_context(browser, base_url or request.getfixturevalue("warm_app_url"), blocked)
        contexts.append(context)
        return context

    yield make
    report = getattr(request.node, "rep_call", None)
    pages = [p for c in contexts for p in c.pages if not p.is_closed()]
    if report is not None and report.failed:
        for i, p in enumerate(pages):
            shot(p, f"FAILED-{_safe(request.node.name)}-{i}")
    for context in contexts:
        context.close()
    assert not blocked, "the page tried to reach other hosts (aborted): " + ", ".join(blocked)


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def page(context):
    return context.new_page()


# --- helpers for the journeys -------------------------------------------------------------------------

_READY_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app) return false;
  if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (document.querySelector('[data-testid="stSpinner"], [data-testid="stSkeleton"]')) return false;
  return !document.querySelector('[data-testid="stElementContainer"][data-stale="true"]');
}"""


def wait_ready(page, timeout: int = READY_TIMEOUT) -> None:
    """Wait until Streamlit has connected and finished the current script run, then let it settle.

    Ready = stApp CONNECTED with script state notRunning, no status widget ("Running..."), no spinner or
    skeleton, no stale (greyed-out) element. Checked twice around a short pause, because right after a click
    the app can still look idle for a moment before the rerun starts.
    """
    for _ in range(2):
        page.wait_for_function(_READY_JS, timeout=timeout, polling=100)
        page.wait_for_timeout(SETTLE_MS)


def goto(page, path: str) -> None:
    """Open `path` (relative to the app, e.g. "dyad?dyad=D1") and wait for the run to finish."""
    page.goto(path.lstrip("/"))
    wait_ready(page)


def assert_no_exception(page) -> None:
    """No traceback element, and no error the app's guard turned into a message (which hides tracebacks)."""
    assert page.locator('[data-testid="stException"]').count() == 0, page_text(page)[:2000]
    guarded = page.locator('[data-testid="stAlert"]').filter(has_text="Something went wrong (")
    assert guarded.count() == 0, guarded.first.inner_text()


def page_text(page) -> str:
    """The visible text of the main area (not the sidebar or navigation)."""
    return page.locator('[data-testid="stMain"]').inner_text()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def shot(page, name: str) -> Path:
    """Full-page PNG in artifacts/e2e/<name>.png (Streamlit scrolls inside stMain, so grow the viewport)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{_safe(name)}.png"
    size = page.viewport_size or VIEWPORT
    height = page.evaluate("""() => {
      const main = document.querySelector('[data-testid="stMain"]');
      const side = document.querySelector('[data-testid="stSidebarContent"]');
      return Math.max(main ? main.scrollHeight : 0, side ? side.scrollHeight : 0, window.innerHeight);
    }""")
    try:
        if height > size["height"]:
            page.set_viewport_size({"width": size["width"], "height": min(int(height), 8000)})
            page.wait_for_timeout(SETTLE_MS)
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
    return path


def require_tool(name: str, package: str) -> str:
    """Path of a command-line tool; missing fails in CI and skips elsewhere (`make browser-deps`)."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} not found: run `make browser-deps` (installs {package})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def sidebar(page):
    return page.locator('[data-testid="stSidebar"]')


def nav_links(page):
    """The sidebar's page links (rrrs draws them with st.page_link; Streamlit's own list is switched off)."""
    return sidebar(page).locator('[data-testid="stPageLink-NavLink"]')


def selectbox(page, label: str):
    return page.locator('[data-testid="stSelectbox"]').filter(
        has=page.locator('[data-testid="stWidgetLabel"]', has_text=label))


def choose(page, label: str, option: str) -> None:
    """Pick `option` (its visible text) in the selectbox labelled `label`, then wait for the rerun.

    Streamlit 1.67's selectbox is a react-aria ComboBox: a click opens its list only in the focused tab (a
    tab opened by a link stays in the background in headless Chromium), so ArrowDown opens it otherwise.
    Typing into it (`fill`) does not open the list at all. Retried if the list does not show.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect

    combo = selectbox(page, label).get_by_role("combobox")
    item = page.get_by_role("option", name=option, exact=True)
    for attempt in range(3):
        combo.click()
        if combo.get_attribute("aria-expanded") != "true":
            page.keyboard.press("ArrowDown")
        try:
            item.click(timeout=3_000)
            break
        except PlaywrightError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            wait_ready(page)
    expect(combo).to_have_value(option)
    wait_ready(page)


def threshold_slider(page):
    """The sidebar's therapist-contribution threshold: an <input type=range role=slider> (check its value)."""
    return (page.locator('[data-testid="stSlider"]').filter(has_text="Therapist-contribution threshold")
            .get_by_role("slider"))


def grid(page, index: int = 0):
    return page.locator('[data-testid="stDataFrame"]').nth(index)


def grid_rows(page, index: int = 0) -> list[list[str]]:
    """Cell texts of a st.dataframe, read from the accessible table glide-data-grid keeps next to its
    canvas (rendered rows only, which is every row of the small tables used here)."""
    table = grid(page, index).locator("table")
    table.wait_for(state="attached")
    return table.evaluate("t => Array.from(t.querySelectorAll('tbody tr')).map("
                          "r => Array.from(r.querySelectorAll('td')).map(c => c.textContent))")


def grid_headers(page, index: int = 0) -> list[str]:
    """Column titles of a st.dataframe, once the grid has drawn them (under load it can lag the run's end:
    read at once, an empty list failed a clean-clone run)."""
    heads = grid(page, index).locator("table thead th")
    heads.first.wait_for(state="attached", timeout=60_000)
    return heads.all_text_contents()


GRID_HEADER_PX = 35  # Streamlit's st.dataframe header and row heights
GRID_ROW_PX = 35


def click_grid_cell(page, index: int, row: int, x_offset: int = 14) -> None:
    """Click a cell of the grid's first column (row 0 = first data row): the canvas has no DOM cells."""
    box = grid(page, index).locator('[data-testid="data-grid-canvas"]').bounding_box()
    assert box is not None, "data grid canvas not visible"
    x, y = box["x"] + x_offset, box["y"] + GRID_HEADER_PX + GRID_ROW_PX * row + GRID_ROW_PX / 2
    page.mouse.move(x, y)  # glide shows the link as hoverable first
    page.mouse.click(x, y)
