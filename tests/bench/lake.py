"""The shared store (DuckLake on a throwaway PostgreSQL) side by side with the embedded file, and the CLI's
own cost as a user meets it.

Parts (`python -m tests.bench.lake`, or `make bench`, which runs them as its `cli` and `lake` parts):
- `cli`: `rrrs --help` as a whole process, and `rrrs import` as a whole command against DuckDB's `read_csv` of
  the same files in a process of its own (tests/bench/cli_import.py);
- `lake`: per store, `rrrs import` (whole command), warm page reruns (tests/bench/pages.py), one scoresheet
  save and `rrrs report all`; then scoresheet saves from 4 OS processes at once on the shared store.

Size: $RRRS_BENCH_SESSIONS sessions (default 100,000; a few hundred for a smoke run, as tests/test_bench_smoke.py
does), $RRRS_BENCH_RUNS repetitions (default 3), $RRRS_BENCH_PAGES to measure only some pages. Goal (issue #17):
the shared store within 2x of the embedded file on each figure.
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.bench import common
from tests.bench.cli_import import _fresh, bench_cli_import, bench_start, clean_env, rrrs_script, timed
from tests.bench.common import bench_sessions, demo_folder, plain_folder

GOAL = 2.0
_fresh_ids = itertools.count()


@dataclass(frozen=True)
class Store:
    """One store to measure: `db` as --db/$RRRS_DB takes it, and a DuckLake store's data path."""

    name: str
    db: str
    data_path: str | None = None

    def cli_args(self) -> list[str]:
        return ["--db", self.db] + (["--data-path", self.data_path] if self.data_path else [])

    def env(self) -> dict[str, str]:
        env = clean_env()
        env["RRRS_DB"] = self.db
        if self.data_path:
            env["RRRS_DATA_PATH"] = self.data_path
        return env


def fresh_file() -> Store:
    path = common.WORK / f"side-{next(_fresh_ids)}.duckdb"
    _fresh(path)
    return Store("embedded file", str(path))


def remove(target: Store) -> None:
    """Delete a measured store's files (a 100k clinic is a few hundred MB); its catalog database goes with the
    throwaway cluster."""
    if target.data_path:
        shutil.rmtree(target.data_path, ignore_errors=True)
    else:
        _fresh(Path(target.db))


def fresh_lake(pg) -> Store:  # noqa: ANN001 - tests.support.postgres.PgServer
    """A new database on the throwaway cluster and an empty data folder."""
    data = common.WORK / f"lake-data-{next(_fresh_ids)}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    return Store("DuckLake on PostgreSQL", f"ducklake:postgres:{pg.dsn(pg.create_database())}", str(data))


def _fmt(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def _ratio(lake: float, file: float) -> str:
    r = lake / file if file > 0 else float("nan")
    return f"{r:.2f}x" + (" **over 2x**" if r > GOAL else "")


def import_side_by_side(folder: Path, pg, runs: int) -> tuple[dict[str, float], dict[str, Store]]:  # noqa: ANN001
    """Median wall and CPU time of `rrrs import` into a fresh store of each kind, alternating ("file", "lake",
    "file cpu", "lake cpu"); the last stores are kept (and returned) for the other measurements."""
    times: dict[str, list[float]] = {"file": [], "lake": [], "file cpu": [], "lake cpu": []}
    kept: dict[str, Store] = {}
    for _ in range(runs):
        for kind, make in (("file", fresh_file), ("lake", lambda: fresh_lake(pg))):
            target = make()
            wall, cpu = timed([rrrs_script(), "import", str(folder), *target.cli_args(), "--user", "bench"],
                              env=target.env())
            times[kind].append(wall)
            times[f"{kind} cpu"].append(cpu)
            if kind in kept:
                remove(kept[kind])
            kept[kind] = target
    return {k: statistics.median(v) for k, v in times.items()}, kept


def report_all(target: Store, workers: int = 2) -> tuple[float, float, int]:
    """`rrrs report all` as a user runs it, single run: wall time, CPU time of it and its workers, reports."""
    with tempfile.TemporaryDirectory(dir=common.WORK) as out:
        wall, cpu = timed([rrrs_script(), "report", "all", "--out-dir", out, *target.cli_args(), "--user", "bench",
                           "--workers", str(workers)], env=target.env())
        return wall, cpu, len(list(Path(out).glob("*.pdf")))


def pages(target: Store, runs: int) -> dict[str, dict[str, float]]:
    """Warm page reruns under AppTest (tests/bench/pages.py) on this store; the app's connection is released
    after, so the next command may open the file."""
    import gc

    import streamlit as st

    from tests.bench import pages as page_bench

    wanted = [p for p in os.environ.get("RRRS_BENCH_PAGES", "").split(",") if p]
    before = {k: os.environ.get(k) for k in ("RRRS_DB", "RRRS_DATA_PATH", "RRRS_FORCE_DEMO")}
    # The clinic was imported without its synthetic marker (as a clinic's own data): demo mode, which has no
    # sign-in, would refuse to show it.
    os.environ["RRRS_FORCE_DEMO"] = "1"
    if target.data_path:
        os.environ["RRRS_DATA_PATH"] = target.data_path
    try:
        return page_bench.bench_pages(target.db, runs, only=wanted or None)
    finally:
        st.cache_resource.clear()
        gc.collect()
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def lake_section(sessions: int, runs: int, pg, processes: int = 4, seconds: float = 30.0,  # noqa: ANN001
                 workers: int = 2) -> str:
    """The side-by-side table and the concurrent saves, as BENCHMARKS.md shows them."""
    import secrets

    from tests.bench import saves

    # A shared store signs its audit trail with $RRRS_AUDIT_KEY (the same in every process); the file uses it too.
    os.environ.setdefault("RRRS_AUDIT_KEY", secrets.token_hex(32))
    folder = plain_folder(sessions)
    load_start = common.load_average()
    rows: list[tuple[str, float, float]] = []

    def row(name: str, file: float, lake: float) -> None:
        rows.append((name, file, lake))
        print(f"| {name} | {_fmt(file)} | {_fmt(lake)} | {_ratio(lake, file)} |", flush=True)

    imported, kept = import_side_by_side(folder, pg, runs)
    row(f"`rrrs import` of the clinic (whole command; median of {runs})", imported["file"], imported["lake"])
    row("... its CPU time (user + system)", imported["file cpu"], imported["lake cpu"])
    n_saves = max(3, runs + 1)
    keys = saves.coding_keys(kept["file"].db, None, n_saves)
    save = {k: saves.median_save(s.db, s.data_path, keys) for k, s in kept.items()}
    row(f"one scoresheet save (load, change, save; median of {n_saves - 1})", save["file"][0], save["lake"][0])
    row("... its CPU time", save["file"][1], save["lake"][1])
    reports = {k: report_all(s, workers) for k, s in kept.items()}
    row(f"`rrrs report all` ({reports['file'][2]} therapist reports, {workers} workers; single run)", reports["file"][0],
        reports["lake"][0])
    row("... its CPU time (the command and its workers)", reports["file"][1], reports["lake"][1])
    page_times = {k: pages(s, runs) for k, s in kept.items()}
    for page in page_times["file"]:
        f, lk = page_times["file"][page], page_times["lake"][page]
        err = " (page raised an exception!)" if f["error"] or lk["error"] else ""
        row(f"{page} page, warm rerun (median of {runs}){err}", f["warm"], lk["warm"])
    lines = [f"\n## Shared store (DuckLake on PostgreSQL) beside the embedded file, {sessions:,} sessions\n",
             f"Goal: the shared store within {GOAL:.0f}x of the embedded file on each row. The PostgreSQL is a "
             "throwaway cluster on this machine (tests/support/postgres.py: fsync off), the data path a local "
             f"folder. Load average {load_start} at the start, {common.load_average()} at the end (a shared 2-core "
             "machine: compare the two columns of one row, measured minutes apart).\n", "| measure | embedded file | DuckLake on PostgreSQL | shared / file |", "|---|---|---|---|"]
    lines += [f"| {name} | {_fmt(f)} | {_fmt(lk)} | {_ratio(lk, f)} |" for name, f, lk in rows]
    over = [name for name, f, lk in rows if f > 0 and lk / f > GOAL]
    conc = saves.concurrent_saves(kept["lake"].db, kept["lake"].data_path, processes=processes, seconds=seconds)
    for target in kept.values():
        remove(target)
    lines += ["", f"Over the goal: {', '.join(over)}." if over else "Every row within the goal.", "",
              f"### Concurrent scoresheet saves on the shared store\n\n{processes} OS processes, each saving its own "
              f"codings for {seconds:.0f} s (an embedded file admits one writing process, so it has no such row).\n",
              "| processes | saves | saves/s (all processes) | CPU per save (all threads) | refused (ConflictError) "
              "| failed |", "|---|---|---|---|---|---|",
              f"| {conc['processes']} | {conc['saved']} | {conc['saves_per_s']:.1f} | {_fmt(conc['cpu_per_save'])} | "
              f"{conc['refused']} | {conc['failed']} |"]
    if conc["messages"]:
        lines.append("\nFirst refusals or failures: " + "; ".join(f"`{m}`" for m in conc["messages"]))  # type: ignore[union-attr]
    return "\n".join(lines) + "\n"


def cli_section(sessions: int, runs: int) -> str:
    start = bench_start(7)
    lines = ["\n## The CLI as a user runs it (whole processes)\n",
             "| command | time (median of 7) |", "|---|---|"]
    lines += [f"| `{name}` | {_fmt(t)} |" for name, t in start.items()]
    lines += ["", f"`rrrs import` as a new process against DuckDB's `read_csv` of the same three files into plain "
              f"tables, in a new Python process of its own; {sessions:,}-session demo (`rrrs demo --dyads "
              f"{max(1, round(sessions / 20))}`), median of {runs}, runs alternating. CPU is the child's user + "
              "system time; peak memory its maximum resident set (as `/usr/bin/time -v` gives it).\n",
              "| folder | rrrs import | read_csv | ratio | rrrs CPU | read_csv CPU | CPU ratio | rrrs peak memory "
              "| read_csv peak memory |",
              "|---|---|---|---|---|---|---|---|---|"]
    for label, folder in (("the demo as written (with SYNTHETIC.txt: the import re-runs the generator to prove "
                           "it synthetic)", demo_folder(sessions)),
                          ("the same CSVs without the marker (as a clinic's own data)", plain_folder(sessions))):
        r = bench_cli_import(folder, common.WORK, runs)
        lines.append(f"| {label} | {_fmt(r['rrrs import'])} | {_fmt(r['duckdb read_csv'])} | {r['ratio']:.1f}x | "
                     f"{_fmt(r['rrrs cpu'])} | {_fmt(r['duckdb cpu'])} | {r['cpu ratio']:.1f}x | "
                     f"{r['rrrs peak MB']:,.0f} MB | {r['duckdb peak MB']:,.0f} MB |")
        print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


def main(parts: tuple[str, ...] = ("cli", "lake")) -> dict[str, str]:
    common.WORK.mkdir(parents=True, exist_ok=True)
    sessions, runs = bench_sessions(), int(os.environ.get("RRRS_BENCH_RUNS", "3"))
    out: dict[str, str] = {}
    if "cli" in parts:
        out["cli"] = cli_section(sessions, runs)
        print(out["cli"], flush=True)
    if "lake" in parts:
        from tests.support import postgres

        pg = postgres.start()
        try:
            out["lake"] = lake_section(sessions, runs, pg, seconds=float(os.environ.get("RRRS_BENCH_SAVE_SECONDS",
                                                                                        "30")))
        finally:
            pg.stop()
        print(out["lake"], flush=True)
    for name, text in out.items():
        (common.WORK / f"section-{name}.md").write_text(text)
    return out


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or ("cli", "lake"))
