"""`make bench`'s browser part (#20): the main pages as a supervisor sees them, in headless Chromium, against a
one-metric Streamlit page served by the same machine in the same run.

Readiness rule (the issue's): from navigation (the page's own `performance.now()` origin) until the page's
first table, chart or metric (`stDataFrame`, `stVegaLiteChart`, `stMetric`) is visible and Streamlit is idle
(connected, script not running, no status widget, spinner, skeleton or stale element). The Data page shows none
of those: for it, the last line of the page (the summary export's size) stands in. Median of 3 (RRRS_BENCH_RUNS
caps it), 1400 px wide.

- first visit: a new browser context (new Streamlit session: sign-in, audit; empty browser cache);
- repeat visit: the same address again in that context (browser cache warm, a new Streamlit session);
- server cold: the first visit of each page after the server started (one run: Python imports, empty caches).

Concurrency: N sessions opening the same page at once. Both clients are measured and their CPU split shown:
N Chromium contexts on one headless browser (on 2 cores Chromium's own rendering competes with the server,
so this partly measures Chromium), and N light clients that speak Streamlit's websocket protocol (what the
server does for N laptops, with each laptop's rendering on its own CPU, as in a real meeting).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
PAGES = ("caseload", "dyad", "session", "contribution", "clinic", "data")
ONE_METRIC = """import streamlit as st
st.metric("Sessions", 100000)
"""
TIMEOUT_MS = int(os.environ.get("RRRS_BENCH_PAGE_TIMEOUT", "300")) * 1000  # a page not ready by then: "timed out"

# Returns performance.now() (ms since navigation) once ready, else false.
_READY_JS = """(dataPage) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSpinner"], '
                             + '[data-testid="stSkeleton"]')) return false;
  if (document.querySelector('[data-testid="stElementContainer"][data-stale="true"]')) return false;
  const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  let found;
  if (dataPage) {
    found = [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
      .some((el) => el.innerText.includes('with every 3RS metric') && shown(el));
  } else {
    found = [...document.querySelectorAll('[data-testid="stDataFrame"], [data-testid="stVegaLiteChart"], '
                                          + '[data-testid="stMetric"]')].some(shown);
  }
  return found ? performance.now() : false;
}"""


def free_port() -> int:
    base = os.environ.get("RRRS_BENCH_PORT")  # a fixed range on a shared machine (e.g. 8651)
    if base:
        for port in range(int(base), int(base) + 10):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) != 0:
                    return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(script: Path, db: Path | None, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run script` on a free port until the block ends; yields its base URL and process."""
    port = free_port()
    env = dict(os.environ)
    if db is not None:
        env["RRRS_DB"] = str(db)
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
                                 "--server.headless", "true", "--browser.gatherUsageStats", "false",
                                 "--server.fileWatcherType", "none"],
                                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory now (VmRSS) and at its peak (VmHWM) of the server process, from /proc."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(line.split()[1]) / 1024
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (/proc/<pid>/stat, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree_cpu(root: int) -> float:
    """CPU of a process and all its descendants (Chromium's browser, renderer and GPU processes)."""
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError):
            total += cpu_seconds(pid)
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError):
                    todo += [int(c) for c in (task / "children").read_text().split()]
    return total


def visit(page, url: str, data_page: bool) -> float:
    """Seconds from navigation until ready (see the module docstring); infinity when not ready in time (a cold
    page of a huge clinic on a busy machine), so the table says so instead of the bench stopping."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.goto(url, wait_until="commit")
    try:
        ready = page.wait_for_function(_READY_JS, arg=data_page, timeout=TIMEOUT_MS, polling=50)
    except PlaywrightTimeout:
        return math.inf
    return float(ready.json_value()) / 1000


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s" if math.isfinite(seconds) else f"timed out (> {TIMEOUT_MS // 1000} s)"


def _x(ratio: float) -> str:
    return f"{ratio:.1f}x" if math.isfinite(ratio) else "-"


def measure_pages(browser, base: str, targets: dict[str, str], runs: int) -> dict[str, dict[str, float]]:
    """Per page: server cold (first run), first visit and repeat visit (medians of `runs`)."""
    results: dict[str, dict[str, float]] = {}
    for name, path in targets.items():
        first, repeat, cold = [], [], None
        for _ in range(runs):
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            t = visit(page, f"{base}/{path}", name == "data")
            if cold is None:
                cold = t
            first.append(t)
            repeat.append(visit(page, f"{base}/{path}", name == "data"))
            context.close()
        results[name] = {"cold": cold or 0.0, "first": statistics.median(first), "repeat": statistics.median(repeat)}
    return results


def concurrent_browser(browser, url: str, data_page: bool, n: int) -> list[float]:
    """N contexts on one browser navigate at once; each one's time to ready (Playwright's sync API drives them
    from one thread, so the gotos are issued back to back and then all are awaited)."""
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(n)]
    pages = [c.new_page() for c in contexts]
    for p in pages:  # warm each context's HTTP cache first: the measured visits are repeat visits
        p.goto(url, wait_until="commit")
    for p in pages:
        p.wait_for_function(_READY_JS, arg=data_page, timeout=TIMEOUT_MS, polling=50)
    handles = []
    for p in pages:
        p.evaluate("() => 0")
    for p in pages:
        p.goto(url, wait_until="commit")
    for p in pages:
        handles.append(p.wait_for_function(_READY_JS, arg=data_page, timeout=TIMEOUT_MS, polling=100))
    times = [float(h.json_value()) / 1000 for h in handles]
    for c in contexts:
        c.close()
    return times


async def _light_session(ws_url: str, page: str, query: str) -> float:
    """One Streamlit session over the websocket, without a browser: connect, ask for the page, wait for the
    run that ends successfully. Returns seconds from connecting."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    start = time.perf_counter()
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None,
                                  origin="http://127.0.0.1") as ws:
        msg = BackMsg()
        msg.rerun_script.query_string = query
        msg.rerun_script.page_name = page
        await ws.send(msg.SerializeToString())
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await ws.recv())
            if fwd.WhichOneof("type") == "script_finished" and fwd.script_finished in (
                    ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR):
                return time.perf_counter() - start


async def _light_many(ws_url: str, page: str, query: str, n: int) -> list[float]:
    return list(await asyncio.gather(*(_light_session(ws_url, page, query) for _ in range(n))))


def concurrent_light(base: str, path: str, n: int) -> list[float]:
    page, _, query = path.partition("?")
    ws_url = base.replace("http://", "ws://") + "/_stcore/stream"
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API already runs an event loop in this thread
        return pool.submit(asyncio.run, _light_many(ws_url, page, query, n)).result()


def _row(name: str, r: dict[str, float], floor: dict[str, float]) -> str:
    return (f"| {name} | {_s(r['first'])} | {_x(r['first'] / floor['first'])} | {_s(r['repeat'])} | "
            f"{_x(r['repeat'] / floor['repeat'])} | {_s(r['cold'])} |")


def bench_browser(db: Path, size: str, runs: int, work: Path, concurrency: int = 20,
                  pages: tuple[str, ...] = PAGES) -> str:
    """The section for one clinic size: page table, memory, concurrency."""
    from playwright.sync_api import sync_playwright

    from tests.bench.pages import _pick_targets

    work.mkdir(parents=True, exist_ok=True)
    floor_script = work / "one_metric.py"
    floor_script.write_text(ONE_METRIC)
    params = _pick_targets(db)
    targets = {name: name + ("?" + "&".join(f"{k}={v}" for k, v in params[name].items()) if params[name] else "")
               for name in pages}
    runs = max(1, min(runs, 3))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            with serve(floor_script, None, work / "one-metric.log") as (base, _):
                floor = measure_pages(browser, base, {"one-metric": ""}, runs)["one-metric"]
                floor_conc = concurrent_light(base, "", concurrency)
            with serve(ROOT / "app.py", db, work / f"app-{size}.log") as (base, proc):
                results = measure_pages(browser, base, targets, runs)
                mem_after_pages = memory_mb(proc.pid)
                conc_page = "caseload" if "caseload" in targets else next(iter(targets))
                url = f"{base}/{targets[conc_page]}"
                lone = statistics.median(concurrent_light(base, targets[conc_page], 1)[0] for _ in range(runs))
                cpu0, bcpu0, t0 = cpu_seconds(proc.pid), _tree_cpu(browser_pid(browser)), time.perf_counter()
                many_light = concurrent_light(base, targets[conc_page], concurrency)
                light_wall = time.perf_counter() - t0
                light_server_cpu = cpu_seconds(proc.pid) - cpu0
                lone_browser = results[conc_page]["repeat"]
                cpu0, bcpu0 = cpu_seconds(proc.pid), _tree_cpu(browser_pid(browser))
                many_browser = concurrent_browser(browser, url, conc_page == "data", concurrency)
                browser_server_cpu = cpu_seconds(proc.pid) - cpu0
                browser_cpu = _tree_cpu(browser_pid(browser)) - bcpu0
                mem = memory_mb(proc.pid)
        finally:
            browser.close()
    lines = [f"\n### {size} sessions\n",
             f"Median of {runs}, seconds from navigation to ready, and the ratio to the one-metric page "
             f"(first visit {floor['first']:.2f} s, repeat visit {floor['repeat']:.2f} s, server cold "
             f"{floor['cold']:.2f} s).\n",
             "| page | first visit | / one-metric | repeat visit | / one-metric | server cold (1 run) |",
             "|---|---|---|---|---|---|"]
    lines += [_row(name, r, floor) for name, r in results.items()]
    med_light, med_browser = statistics.median(many_light), statistics.median(many_browser)
    lines += ["",
              f"App server memory: {mem_after_pages['VmRSS']:.0f} MB resident after the page visits, "
              f"{mem['VmRSS']:.0f} MB after the concurrency runs, peak {mem['VmHWM']:.0f} MB (VmHWM).",
              "",
              f"{concurrency} sessions opening `{targets[conc_page]}` at once:\n",
              "| client | lone session | median of the concurrent | ratio | slowest | server CPU | client CPU |",
              "|---|---|---|---|---|---|---|",
              f"| light websocket client (no rendering) | {lone:.2f} s | {med_light:.2f} s | {med_light / lone:.1f}x | "
              f"{max(many_light):.2f} s | {light_server_cpu:.1f} s in {light_wall:.1f} s | - |",
              f"| Chromium contexts, one browser | {lone_browser:.2f} s | {med_browser:.2f} s | "
              f"{med_browser / lone_browser:.1f}x | {max(many_browser):.2f} s | {browser_server_cpu:.1f} s | "
              f"{browser_cpu:.1f} s |",
              f"| one-metric page, light client | | {statistics.median(floor_conc):.2f} s | | "
              f"{max(floor_conc):.2f} s | | |",
              ""]
    text = "\n".join(lines) + "\n"
    (work / f"browser-{size}.md").write_text(text)
    return text


def browser_pid(browser) -> int:
    """The Chromium browser process Playwright started (its children are the renderers)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            if cmd and cmd[0].endswith(b"chromium") and b"--remote-debugging-pipe" in cmd \
                    and os.getppid() != int(proc.name) and _is_descendant(int(proc.name), os.getpid()):
                return int(proc.name)
    return os.getpid()


def _is_descendant(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            return False
    return False


def browser_sizes(sizes: list[str]) -> list[str]:
    """$RRRS_BENCH_BROWSER_SIZES, else 100k and 1m when the run includes 100k, else the run's largest size."""
    default = "100k,1m" if "100k" in sizes else sizes[-1]
    return [s for s in os.environ.get("RRRS_BENCH_BROWSER_SIZES", default).split(",") if s]


def browser_section(sizes: list[str], runs: int) -> str:
    from tests.bench.common import WORK, clinic_db

    concurrency = int(os.environ.get("RRRS_BENCH_CONCURRENCY", "20"))
    parts = [bench_browser(clinic_db(size), size, runs, WORK / "browser", concurrency) for size in sizes]
    text = ("\n## Pages in a browser (#20)\n\n"
            "Headless Debian Chromium (Playwright), 1400 px wide, against `streamlit run app.py` in demo mode. "
            "Ready = the page's first table, chart or metric is visible and Streamlit is idle (the Data page: "
            "its last line); see tests/bench/browser.py. The one-metric page (a script with one `st.metric`) is "
            "served by the same machine in the same run.\n" + "".join(parts))
    print(text, flush=True)
    return text
