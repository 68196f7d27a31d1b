"""Journey: real OpenID Connect sign-in through st.login against a local provider (oidc-provider-mock).

A therapist (T2) signs in on the provider's login page with the subject "t2-sub", comes back signed in,
and sees only their own dyads (D2, D4); a deep link to another therapist's dyad (D1) is refused.

The app runs on a server of its own, with a secrets file (passed by `--secrets.files`, so nothing is
written into the repository) whose [auth] section points at the provider. Both servers listen on
127.0.0.1 only. The provider's login page links a stylesheet on a CDN; that one request is aborted like
every other non-local request, and the journey fails if anything else tries to leave the machine.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from rrrs_core.auth_setup import new_secret
from tests.e2e.conftest import (
    ACTION_TIMEOUT,
    ROOT,
    _free_port,
    assert_no_exception,
    grid_rows,
    local_context,
    process,
    shot,
    sidebar,
    wait_ready,
)

pytestmark = pytest.mark.browser

SUBJECT = "t2-sub"
PROVIDER_CDN = "cdn.jsdelivr.net"  # the mock's login page styles itself from here (aborted, harmless)


@pytest.fixture
def oidc_app(tmp_path: Path) -> Iterator[str]:
    """The small clinic with a principal for T2, the mock provider, and the app with sign-in configured."""
    from rrrs_core import access, store
    from tests.builders import small_clinic_db

    db = small_clinic_db(tmp_path / "oidc.duckdb")
    con = store.connect(db)
    try:
        access.upsert(con, SUBJECT, "therapist", therapist_id="T2")
    finally:
        con.close()

    env = {**os.environ, "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost",
           "no_proxy": "127.0.0.1,localhost"}
    env.pop("RRRS_FORCE_DEMO", None)
    env.pop("RRRS_DB_KEY", None)

    provider_port, app_port = _free_port(), _free_port()
    provider = f"http://127.0.0.1:{provider_port}"
    app = f"http://127.0.0.1:{app_port}"
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "{app}/oauth2callback"\n'
        f'cookie_secret = "{new_secret()}"\n'
        'client_id = "rrrs"\n'
        'client_secret = "x"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n')

    provider_cmd = [sys.executable, "-m", "oidc_provider_mock", "--port", str(provider_port),
                    "--host", "127.0.0.1"]
    app_cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(app_port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
               "--secrets.files", str(secrets_file)]
    with (process(provider_cmd, f"{provider}/.well-known/openid-configuration", tmp_path / "provider.log",
                   "oidc-provider-mock", ready=lambda body: provider in body, cwd=tmp_path, env=env),
          process(app_cmd, f"{app}/_stcore/health", tmp_path / "streamlit.log", "streamlit",
                   ready=lambda body: body.strip() == "ok", cwd=ROOT, env={**env, "RRRS_DB": str(db)})):
        yield app


def _caseload_dyads(page) -> list[str]:
    return [r[0].rsplit("dyad=", 1)[-1].split("&")[0] for r in grid_rows(page)]


def test_oidc_sign_in_shows_own_caseload_only(browser, oidc_app: str) -> None:
    expect.set_options(timeout=ACTION_TIMEOUT)
    blocked: list[str] = []
    context = local_context(browser, oidc_app, blocked)
    page = context.new_page()
    try:
        page.goto("")
        wait_ready(page)
        sign_in = page.get_by_role("button", name="Sign in")
        expect(sign_in).to_be_visible()
        assert_no_exception(page)
        shot(page, "oidc-1-sign-in")

        sign_in.click()  # st.login sends the browser to the provider's authorize page
        page.wait_for_url(re.compile(r"/oauth2/authorize"))
        page.locator('input[name="sub"]').fill(SUBJECT)
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(re.compile(re.escape(oidc_app) + r"/(caseload)?(\?.*)?$"))  # back from /oauth2callback
        wait_ready(page)

        expect(sidebar(page)).to_contain_text("Signed in as")
        dyads = _caseload_dyads(page)
        assert {"D2", "D4"} <= set(dyads) and "D1" not in dyads and "D3" not in dyads, dyads
        assert_no_exception(page)
        shot(page, "oidc-2-signed-in-caseload")

        page.goto("dyad?dyad=D1")
        wait_ready(page)
        expect(page.locator('[data-testid="stAlert"]')
               .filter(has_text="Not found or not permitted.")).to_be_visible()
        expect(sidebar(page)).to_contain_text("Signed in as")  # still signed in: refused, not logged out
        assert_no_exception(page)
        shot(page, "oidc-3-other-dyad-refused")
    except Exception:
        if not page.is_closed():
            shot(page, "FAILED-test_oidc_sign_in_shows_own_caseload_only")
        raise
    finally:
        context.close()
    unexpected = [u for u in blocked if urlsplit(u).hostname != PROVIDER_CDN]
    assert not unexpected, "the page tried to reach other hosts (aborted): " + ", ".join(unexpected)
