"""`make bench`: measure import, page reruns, PDFs and memory at clinic scale; write BENCHMARKS.md.

Not part of `make test`: this is measurement, on a shared 2-core machine, so every figure is a median.
Set RRRS_BENCH_SIZES=1k,10k to skip the 100k-session clinic, RRRS_BENCH_RUNS to change repetitions,
RRRS_BENCH_PARTS to measure some parts only.
The part `browser` (pages in headless Chromium, tests/bench/browser.py) leads; RRRS_BENCH_BROWSER_SIZES picks its
clinics (default 100k,1m: the 1M clinic is `rrrs demo --dyads 50000`, generated once under RRRS_BENCH_DIR). The parts `cli` (the CLI as whole processes) and `lake` (the shared
store beside the embedded file) are tests/bench/lake.py, sized by RRRS_BENCH_SESSIONS (default 100,000).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import WORK, clinic_db, git_rev, load_average, machine, median_time

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "BENCHMARKS.md"


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _section(name: str, text: str | None = None) -> str:
    """Each part's table is kept under WORK so parts can be re-measured alone (RRRS_BENCH_PARTS)."""
    path = WORK / f"section-{name}.md"
    if text is not None:
        path.write_text(text)
    return path.read_text() if path.exists() else ""


def _release_app_connection() -> None:
    """Page runs leave the app's read-write connection cached; workers and the server need the file."""
    import gc

    import streamlit as st

    st.cache_resource.clear()
    gc.collect()


MAIN = sys.modules["__main__"]


def bench_reliability_cli(db: Path, size: str, runs: int) -> str:
    """`rrrs reliability` (routine double-coding over the whole clinic) as a user runs it: a new process,
    wall time including Python's start-up and the audit row. Goal: under 10 s on the 100k clinic."""
    import subprocess

    from rrrs_core import store
    from rrrs_core.reliability.design import ROUTINE
    from rrrs_core.reliability.extract import design_size

    con = store.connect(db, read_only=True)
    n_sessions, n_coders, _ = design_size(con, ROUTINE)
    con.close()
    rrrs = Path(sys.executable).with_name("rrrs")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(rrrs), "reliability", "--out", str(Path(tmp) / "rel.csv"), "--db", str(db), "--by", "bench"]

        def once() -> None:
            subprocess.run(cmd, check=True, capture_output=True)

        t = median_time(once, max(1, min(runs, 3)))
    return (f"\n## Coder reliability\n\n| command | time |\n|---|---|\n"
            f"| `rrrs reliability` ({size} clinic: {n_sessions:,} double-coded sessions, {n_coders} coders; "
            f"median of {max(1, min(runs, 3))}, wall, new process) | {_fmt(t)} |\n"
            "\nThe Reliability page's warm rerun is in the page table above (row `reliability`).\n")


def main() -> None:
    from tests.bench.imports import bench_import
    from tests.bench.pages import _pick_targets, apptest_floor, bench_pages

    WORK.mkdir(parents=True, exist_ok=True)
    sizes = os.environ.get("RRRS_BENCH_SIZES", "1k,10k,100k").split(",")
    parts = os.environ.get("RRRS_BENCH_PARTS",
                           "browser,cli,lake,import,pages,pdf,reliability,memory,suggest").split(",")
    runs = int(os.environ.get("RRRS_BENCH_RUNS", "5"))
    head = (f"# Benchmarks\n\nMeasured {dt.date.today():%Y-%m-%d} at commit `{git_rev()}` on {machine()}; "
            f"load average at start {load_average()} (a shared machine: figures are medians). Reproduce with `make bench` (`RRRS_BENCH_RUNS={runs}`). Every figure is the "
            f"median of {runs} runs unless noted; compare figures side by side within one table.\n")

    if "browser" in parts:
        from tests.bench.browser import browser_section, browser_sizes

        _section("browser", browser_section(browser_sizes(sizes), runs))

    if "import" in parts:
        lines = ["\n## Import vs DuckDB's read_csv of the same files\n\n"
                 "Runs alternate between the two. CPU is the process's user + system time over all threads.\n\n"
                 "| clinic | sessions | rrrs import (validate + load) | DuckDB read_csv into plain tables | ratio "
                 "| rrrs CPU | read_csv CPU | CPU ratio |\n"
                 "|---|---|---|---|---|---|---|---|"]
        for size in sizes:
            r = bench_import(size, runs)
            lines.append(f"| {size} | ~{size.replace('k', ',000')} | {_fmt(r['rrrs import'])} | "
                         f"{_fmt(r['duckdb read_csv'])} | {r['ratio']:.1f}x | {_fmt(r['rrrs cpu'])} | "
                         f"{_fmt(r['duckdb cpu'])} | {r['cpu ratio']:.1f}x |")
            print(lines[-1], flush=True)
        _section("import", "\n".join(lines) + "\n")

    if "pages" in parts:
        lines = []
        for size in sizes:
            db = clinic_db(size)
            lines.append(f"\n## Page reruns under AppTest, {size} sessions\n\n"
                         "| page | cold (cache cleared) | warm rerun | its SQL alone | queries | warm / SQL |\n"
                         "|---|---|---|---|---|---|")
            floor = apptest_floor(runs)
            for page, r in bench_pages(db, runs).items():
                ratio = r["warm"] / r["sql"] if r["sql"] > 0 else float("nan")
                flag = " (page raised an exception!)" if r["error"] else ""
                lines.append(f"| {page}{flag} | {_fmt(r['cold'])} | {_fmt(r['warm'])} | {_fmt(r['sql'])} | "
                             f"{r['queries']} | {ratio:.1f}x |")
                print(lines[-1], flush=True)
            lines.append(f"| *(a page with no query, for reference: AppTest's own floor)* | | {_fmt(floor)} | | 0 | |")
        _section("pages", "\n".join(lines) + "\n")
        _release_app_connection()

    big = sizes[-1]
    db = clinic_db(big) if {"pdf", "reliability", "memory"} & set(parts) else None
    if "pdf" in parts:
        # AppTest (the pages part) runs app.py as `__main__`; spawned report workers re-import `__main__`,
        # so without this they would start the app instead of the bench.
        sys.modules["__main__"] = MAIN
        from rrrs_core import reports, store
        from rrrs_core.reports import images

        con = store.connect(db, read_only=True)
        dyad = store.scalar(con, "SELECT dyad_id FROM v_session_metrics GROUP BY dyad_id HAVING count(*) >= 25 "
                                 "ORDER BY sum(rupture_segments) DESC LIMIT 1")
        n = store.scalar(con, "SELECT count(*) FROM v_session_metrics WHERE dyad_id = ?", [dyad])

        def dyad_report() -> bytes:
            return reports.dyad_report(con, dyad, generated_by="bench")

        # The first report in a process also starts vl-convert's JavaScript runtime: measured apart. A
        # supervisor opening another dyad does not hit the in-process chart image cache, so the headline
        # figure clears it before each run; "cached" is the same report generated again.
        images._png_cache.clear()
        start = time.perf_counter()
        dyad_report()
        t_first = time.perf_counter() - start
        dyad_report()                                    # warm-up
        t_dyad = median_time(dyad_report, runs, setup=images._png_cache.clear)
        t_cached = median_time(dyad_report, runs)
        con.close()
        batch_size = "10k" if "10k" in sizes else sizes[0]
        batch_db = clinic_db(batch_size)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            written = reports.report_all(batch_db, Path(tmp), generated_by="bench", workers=2)
            t_all = time.perf_counter() - start
        label = f"dyad report, {n} sessions ({big} clinic)"
        text = (f"\n## PDF reports\n\n| report | time |\n|---|---|\n"
                f"| {label}, chart images not cached (another dyad) | {_fmt(t_dyad)} |\n"
                f"| {label}, chart images cached (the same report again) | {_fmt(t_cached)} |\n"
                f"| {label}, first report in the process (also starts vl-convert; single run) | {_fmt(t_first)} |\n"
                f"| `rrrs report all`, {len(written)} therapist reports ({batch_size} clinic), 2 workers, single run "
                f"| {_fmt(t_all)} ({_fmt(t_all / max(len(written), 1))} per report, "
                f"{_fmt(t_all / max(len(written), 1) * 100)} per 100) |\n")
        print(text, flush=True)
        _section("pdf", text)

    if "reliability" in parts:
        text = bench_reliability_cli(db, big, runs)
        print(text, flush=True)
        _section("reliability", text)

    if "memory" in parts:
        from tests.bench.memory import peak_memory_mb

        mem = peak_memory_mb(db, _pick_targets(db))
        text = (f"\n## App memory\n\nPeak resident memory (VmHWM) of the `streamlit run app.py` process after "
                f"opening every page in headless Chromium on the {big} clinic: **{mem:.0f} MB** (single run).\n")
        print(text, flush=True)
        _section("memory", text)

    if "suggest" in parts:  # #19: `rrrs suggest` on a 300-turn transcript (tests/bench/suggest.py)
        from tests.bench.suggest import bench_suggest

        text = bench_suggest(runs)
        print(text, flush=True)
        _section("suggest", text)

    if "cli" in parts or "lake" in parts:
        from tests.bench import lake

        lake.main(tuple(p for p in ("cli", "lake") if p in parts))  # writes WORK/section-cli.md, section-lake.md

    OUT.write_text(head + "".join(_section(p) for p in ("browser", "cli", "lake", "import", "pages", "pdf",
                                                        "reliability", "memory", "suggest")))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
