"""Deployment: two app servers on one shared store behind Debian's nginx running deploy/nginx-cluster.conf.

Everything is real and on this machine: a throwaway PostgreSQL (the catalog), two `streamlit run app.py` on
their own ports with the same store, audit key and secrets, a local OpenID Connect provider, and nginx with the
shipped config (TLS and the port-80 redirect taken out, the app ports put in). The test's copy adds one header,
X-Rrrs-Upstream (which server answered), and an access log of affinity cookie and upstream per request.

The journey: a browser pinned to server A (its affinity cookie chosen so nginx sends it there) and one pinned to
server B both sign in; B opens the Caseload (cached on B); A uploads a workbook on the Data page; B's Caseload
and Dyad pages show the imported dyad within a few seconds, without a restart; the access log shows every
request of each browser (page loads, websocket, upload) reached its own server. Last, server A stops: its browser
reloads, lands on B and is still signed in (both servers share the secrets' cookie_secret). Both servers
audited sign-ins, views and the import into one chain: `rrrs audit verify` passes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from rrrs_core.auth_setup import new_secret
from tests.concurrency.tables import renamed
from tests.e2e.conftest import (
    ACTION_TIMEOUT,
    CHROMIUM,
    ROOT,
    STARTUP_TIMEOUT,
    _free_port,
    _local_get,
    assert_no_exception,
    goto,
    grid_rows,
    local_context,
    page_text,
    process,
    shot,
    sidebar,
    wait_ready,
)
from tests.tables import write_xlsx

pytestmark = pytest.mark.browser

NGINX = Path("/usr/sbin/nginx")
CONFIG = ROOT / "deploy" / "nginx-cluster.conf"
ADMIN = "admin-sub"
UPSTREAM = "x-rrrs-upstream"
PROVIDER_CDN = "cdn.jsdelivr.net"  # the mock provider's login page styles itself from here (aborted, harmless)
FRESH_WITHIN = 10.0  # seconds for an import on one server to show on the other (README promises about one)


def cluster_config(app_ports: list[int], port: int, work: Path) -> Path:
    """deploy/nginx-cluster.conf as shipped, minus TLS and the port-80 redirect, on 127.0.0.1:`port` in front of
    `app_ports`, plus the upstream header and a log of (affinity cookie, upstream, request) per request."""
    site = CONFIG.read_text()
    site = re.sub(r"server \{\s*listen 80;.*?\n\}\n", "", site, count=1, flags=re.S)
    site = re.sub(r"# --- TLS.*?# --- end TLS ---", f"listen 127.0.0.1:{port};", site, flags=re.S)
    upstreams = re.findall(r"^\s*server 127\.0\.0\.1:\d+ [^;]*;$", site, flags=re.M)
    assert len(upstreams) == 2, upstreams
    for line, app in zip(upstreams, app_ports, strict=True):
        site = site.replace(line, re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{app}", line))
    site = site.replace("; Secure;", ";")  # plain http on loopback here; the shipped file is TLS only
    site = site.replace("    server_tokens off;\n", "    server_tokens off;\n"
                        f"    add_header X-Rrrs-Upstream $upstream_addr always;\n"
                        f"    access_log {work / 'affinity.log'} affinity;\n")
    temp = "\n".join(f"    {kind}_temp_path {work / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                          "scgi"))
    conf = work / "nginx.conf"
    conf.write_text(f"""{"user root root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {work / "nginx.pid"};
error_log {work / "error.log"} warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    log_format affinity '$cookie_rrrs_affinity $upstream_addr $status "$request"';
    access_log {work / "access.log"};
{temp}
{site}
}}
""")
    return conf


def _upstream_of(url: str, cookie: str) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(f"{url}/_stcore/health", headers={"Cookie": f"rrrs_affinity={cookie}"})
    with opener.open(request, timeout=5) as resp:
        return resp.headers[UPSTREAM]


def pinned_cookies(url: str, app_ports: list[int]) -> dict[int, str]:
    """An affinity cookie value per app server: values are tried until nginx's hash sends one to each."""
    found: dict[int, str] = {}
    for i in range(200):
        value = f"pin{i:04d}"
        port = int(_upstream_of(url, value).rsplit(":", 1)[1])
        found.setdefault(port, value)
        if len(found) == len(app_ports):
            return found
    pytest.fail(f"no affinity cookie reached every server: {found}")


@contextmanager
def app_server(cmd: list[str], port: int, log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """`streamlit run app.py` on `port` until the block ends (or the test stops it), ready when healthy."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            assert proc.poll() is None, f"app server on {port} exited: {log.read_text(errors='replace')[-2000:]}"
            try:
                if _local_get(f"http://127.0.0.1:{port}/_stcore/health").strip() == "ok":
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"app server on {port} not ready: {log.read_text()[-2000:]}"
            time.sleep(0.25)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


@pytest.fixture
def cluster(lake_env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, object]]:
    """The shared store with the demo clinic and an admin, the provider, two app servers and nginx."""
    if not NGINX.exists() or not CHROMIUM.exists():
        pytest.skip("nginx or chromium missing: run `make browser-deps`")
    env = {**lake_env, "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost",
           "no_proxy": "127.0.0.1,localhost"}
    env.pop("RRRS_FORCE_DEMO", None)
    rrrs = str(Path(sys.executable).parent / "rrrs")
    for args in (["demo", "--out", str(tmp_path / "demo"), "--dyads", "6"], ["import", str(tmp_path / "demo")],
                 ["users", "add", ADMIN, "--role", "admin"]):
        done = subprocess.run([rrrs, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr

    provider_port, nginx_port = _free_port(), _free_port()
    app_ports = [_free_port(), _free_port()]
    provider, url = f"http://127.0.0.1:{provider_port}", f"http://127.0.0.1:{nginx_port}"
    secrets = tmp_path / "secrets.toml"  # one file for both servers: its cookie_secret signs the sign-in cookie
    secrets.write_text("[auth]\n"
                       f'redirect_uri = "{url}/oauth2callback"\n'
                       f'cookie_secret = "{new_secret()}"\n'
                       'client_id = "rrrs"\nclient_secret = "x"\n'
                       f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n')
    work = tmp_path / "nginx"
    work.mkdir()
    conf = cluster_config(app_ports, nginx_port, work)

    def app(port: int) -> list[str]:
        return [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none", "--secrets.files", str(secrets)]

    health = {"ready": lambda body: body.strip() == "ok"}
    with (process([sys.executable, "-m", "oidc_provider_mock", "--port", str(provider_port), "--host", "127.0.0.1"],
                  f"{provider}/.well-known/openid-configuration", tmp_path / "provider.log", "oidc-provider-mock",
                  ready=lambda body: provider in body, cwd=tmp_path, env=env),
          app_server(app(app_ports[0]), app_ports[0], tmp_path / "app-a.log", env) as server_a,
          app_server(app(app_ports[1]), app_ports[1], tmp_path / "app-b.log", env) as server_b,
          process([str(NGINX), "-c", str(conf), "-p", str(work), "-e", str(work / "error.log")],
                  f"{url}/_stcore/health", work / "nginx.out", "nginx", cwd=work, **health)):
        yield {"url": url, "app_ports": app_ports, "work": work, "servers": [server_a, server_b], "env": env}


def sign_in(page, url: str) -> None:
    page.goto("")
    wait_ready(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/oauth2/authorize"))
    page.locator('input[name="sub"]').fill(ADMIN)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(url) + r"/(caseload)?(\?.*)?$"))
    wait_ready(page)
    expect(sidebar(page)).to_contain_text("Signed in as")


def upload_and_import(page, path: Path) -> None:
    """The Data page's upload and Import button, as a user does it (a fresh Streamlit session)."""
    goto(page, "data")
    uploader = page.locator('[data-testid="stFileUploader"]').first
    uploader.locator('input[type="file"]').set_input_files(str(path))
    expect(uploader).to_contain_text(path.name)
    wait_ready(page)
    button = page.get_by_role("button", name="Import", exact=True)
    expect(button).to_be_enabled()
    button.click()
    wait_ready(page)


def caseload_dyads(page) -> list[str]:
    return [r[0].rsplit("dyad=", 1)[-1].split("&")[0] for r in grid_rows(page)]


def test_upload_through_one_server_shows_on_the_other(browser, cluster: dict[str, object], tmp_path: Path) -> None:
    url, ports, work = str(cluster["url"]), list(cluster["app_ports"]), Path(cluster["work"])  # type: ignore[arg-type]
    a, b = ports
    cookies = pinned_cookies(url, ports)
    expect.set_options(timeout=ACTION_TIMEOUT)
    blocked: list[str] = []
    contexts, pages, answered = {}, {}, {port: [] for port in ports}  # answered: X-Rrrs-Upstream of each response
    for port in ports:
        context = local_context(browser, url, blocked)
        context.add_cookies([{"name": "rrrs_affinity", "value": cookies[port], "url": url}])
        contexts[port] = context
        pages[port] = context.new_page()
        pages[port].on("response", lambda r, seen=answered[port]: seen.append(r.headers.get(UPSTREAM, "")))
    try:
        for port in ports:
            sign_in(pages[port], url)
        goto(pages[b], "caseload")
        before = caseload_dyads(pages[b])
        assert before and not {"LAKE-1", "LAKE-2"} & set(before), before
        shot(pages[b], "deploy-1-server-b-caseload-before")

        upload_and_import(pages[a], write_xlsx(tmp_path / "cluster-3rs.xlsx", renamed("LAKE")))
        success = pages[a].locator('[data-testid="stAlert"]').filter(has_text="new codings")
        expect(success).to_contain_text("4 new codings")
        assert_no_exception(pages[a])
        shot(pages[a], "deploy-2-server-a-imported")
        imported_at = time.monotonic()

        while True:  # a new browser session on B each time, as a colleague opening the page would
            goto(pages[b], "caseload")
            if "LAKE-1" in caseload_dyads(pages[b]):
                break
            assert time.monotonic() - imported_at < FRESH_WITHIN, "server B still shows the caseload before the import"
            pages[b].wait_for_timeout(500)
        shown_after = time.monotonic() - imported_at
        assert_no_exception(pages[b])
        shot(pages[b], "deploy-3-server-b-caseload-after")

        goto(pages[b], "dyad?dyad=LAKE-1")
        expect(pages[b].locator('[data-testid="stMain"]')).to_contain_text("Dyad LAKE-1")
        assert "LAKE-T1" in page_text(pages[b])
        assert_no_exception(pages[b])
        shot(pages[b], "deploy-4-server-b-dyad")
        pages[b].set_viewport_size({"width": 1024, "height": 900})
        goto(pages[b], "dyad?dyad=LAKE-1")
        shot(pages[b], "deploy-5-server-b-dyad-1024")

        for port in ports:  # every HTTP answer each browser got came from its own server
            seen = {u for u in answered[port] if u}
            assert seen == {f"127.0.0.1:{port}"}, (port, seen)

        logged_before_failover = len((work / "affinity.log").read_text().splitlines())
        servers = cluster["servers"]  # type: ignore[index]
        servers[0].terminate()  # server A goes down: its browser reloads and nginx sends it to B,
        servers[0].wait(timeout=30)  # where the same sign-in cookie is valid (one cookie_secret)
        answered[a].clear()
        goto(pages[a], "dyad?dyad=LAKE-1")
        expect(sidebar(pages[a])).to_contain_text("Signed in as")
        expect(pages[a].locator('[data-testid="stMain"]')).to_contain_text("Dyad LAKE-1")
        assert_no_exception(pages[a])
        assert {u.rsplit(", ", 1)[-1] for u in answered[a] if u} == {f"127.0.0.1:{b}"}, answered[a]
        shot(pages[a], "deploy-6-server-a-down-browser-on-b")
    finally:
        for context in contexts.values():
            context.close()
    unexpected = [u for u in blocked if urlsplit(u).hostname != PROVIDER_CDN]
    assert not unexpected, "the page tried to reach other hosts (aborted): " + ", ".join(unexpected)
    log = (work / "affinity.log").read_text().splitlines()[:logged_before_failover]
    for port in ports:
        mine = [ln for ln in log if ln.startswith(cookies[port] + " ")]
        assert any("/_stcore/stream" in ln for ln in mine), "the websocket went through nginx"
        strays = [ln for ln in mine if f" 127.0.0.1:{port} " not in ln]
        assert not strays, f"requests of the browser pinned to {port} reached another server: {strays[:5]}"
    uploads = [ln for ln in log if "/_stcore/upload_file" in ln and ln.startswith(cookies[a] + " ")]
    assert uploads and all(f"127.0.0.1:{a} " in ln for ln in uploads), uploads
    verified = subprocess.run([str(Path(sys.executable).parent / "rrrs"), "audit", "verify"], env=cluster["env"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)  # type: ignore[arg-type]
    assert verified.returncode == 0, verified.stdout + verified.stderr  # both servers appended to one chain
    print(f"imported on server A, shown on server B after {shown_after:.1f} s")
