"""Benchmark plumbing: medians over repeated runs, demo clinics at several sizes, machine description."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from rrrs_core import demo, store
from rrrs_core.importing import import_path

WORK = Path(os.environ.get("RRRS_BENCH_DIR", "/tmp/rrrs-bench"))
SIZES = {"1k": 50, "10k": 500, "100k": 5000, "1m": 50000}  # dyads -> about 20 sessions each


def median_time(fn: Callable[[], object], runs: int, setup: Callable[[], object] | None = None) -> float:
    """Median wall time of `fn` over `runs` (setup excluded): the machine is shared and noisy."""
    times = []
    for _ in range(runs):
        if setup:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def clinic_folder(size: str) -> Path:
    folder = WORK / f"demo-{size}"
    if not (folder / "selfreports.csv").exists():  # a folder kept from before the demo had self-reports
        demo.write(folder, n_dyads=SIZES[size], seed=7)
    return folder


SESSIONS_PER_DYAD = 20  # the demo's dyads average about 20 sessions (5,000 dyads: 100,218 sessions)


def bench_sessions() -> int:
    """$RRRS_BENCH_SESSIONS: the clinic size of the shared-store bench (100,000; a few hundred for a smoke run)."""
    return int(os.environ.get("RRRS_BENCH_SESSIONS", "100000"))


def demo_folder(sessions: int) -> Path:
    """`rrrs demo --dyads sessions/20` (seed 7), as written, with its SYNTHETIC.txt marker: kept under WORK.
    The 1k/10k/100k folders of `clinic_folder` are the same data."""
    dyads = max(1, round(sessions / SESSIONS_PER_DYAD))
    name = next((f"demo-{size}" for size, n in SIZES.items() if n == dyads), f"demo-{dyads}-dyads")
    folder = WORK / name
    if not (folder / "ratings.csv").exists():
        demo.write(folder, n_dyads=dyads, seed=7)
    return folder


def plain_folder(sessions: int) -> Path:
    """The same CSVs without the synthetic marker (hard links): imported as a clinic's own data would be. With
    the marker, the import also re-runs the demo generator to prove the batch synthetic (demo mode)."""
    source = demo_folder(sessions)
    folder = WORK / f"plain-{source.name.removeprefix('demo-')}"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("sessions.csv", "marks.csv", "ratings.csv"):
        target = folder / name
        if not target.exists():
            try:
                os.link(source / name, target)
            except OSError:
                target.write_bytes((source / name).read_bytes())
    return folder


def clinic_db(size: str) -> Path:
    db = WORK / f"clinic-{size}.duckdb"
    folder = clinic_folder(size)
    if db.exists() and db.stat().st_mtime < (folder / "selfreports.csv").stat().st_mtime:
        db.unlink()  # imported from an older demo folder
    fresh = not db.exists()
    con = store.connect(db)  # also applies any newer migrations to a kept database
    if fresh:
        import_path(con, folder)
    con.close()
    return db


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        mem_gb = f"{int(mem) / 1024 / 1024:.0f} GiB"
    except OSError:
        mem_gb = "?"
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb} RAM, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=False).stdout.strip()
    except OSError:
        return "?"
