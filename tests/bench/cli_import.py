"""The import as a user runs it: `rrrs import FOLDER --db FILE` as a new process, against DuckDB's `read_csv`
of the same three files into plain tables in a new Python process of its own.

The in-process figure (tests/bench/imports.py) leaves out what every user pays once per command: Python's start,
the imports of rrrs (pandas, DuckDB), opening and migrating the store and the audit row. Runs alternate (ours,
theirs, ours, ...) so load from other work falls on both alike. CPU is the child's user + system time.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

READ_CSV = """
import sys
import duckdb
con = duckdb.connect(sys.argv[1])
for name in ("sessions", "marks", "ratings"):
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv(?)", [f"{sys.argv[2]}/{name}.csv"])
con.close()
"""


def rrrs_script() -> str:
    """The installed console script, next to this Python."""
    return str(Path(sys.executable).with_name("rrrs"))


def clean_env() -> dict[str, str]:
    """The user's environment without a store or key of their own: the bench names its files itself."""
    return {k: v for k, v in os.environ.items() if k not in ("RRRS_DB", "RRRS_DB_KEY", "RRRS_DATA_PATH")}


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one child process; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env if env is not None else clean_env())
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _fresh(*paths: Path) -> None:
    """Remove database files with their write-ahead log and the audit key made beside them."""
    for p in paths:
        for suffix in ("", ".wal", ".audit-key"):
            p.with_name(p.name + suffix).unlink(missing_ok=True)


def bench_cli_import(folder: Path, work: Path, runs: int = 3) -> dict[str, float]:
    """Median wall and CPU of `rrrs import` and of read_csv, each a whole new process, over `runs` pairs."""
    ours_db, base_db = work / "cli-import.duckdb", work / "cli-read-csv.duckdb"
    jobs = {"ours": [rrrs_script(), "import", str(folder), "--db", str(ours_db), "--user", "bench"],
            "base": [sys.executable, "-c", READ_CSV, str(base_db), str(folder)]}
    wall: dict[str, list[float]] = {k: [] for k in jobs}
    cpu: dict[str, list[float]] = {k: [] for k in jobs}
    for _ in range(runs):
        for name, cmd in jobs.items():
            _fresh(ours_db, base_db)
            w, c = timed(cmd)
            wall[name].append(w)
            cpu[name].append(c)
    _fresh(ours_db, base_db)
    ours, base = statistics.median(wall["ours"]), statistics.median(wall["base"])
    ours_cpu, base_cpu = statistics.median(cpu["ours"]), statistics.median(cpu["base"])
    return {"rrrs import": ours, "duckdb read_csv": base, "ratio": ours / base,
            "rrrs cpu": ours_cpu, "duckdb cpu": base_cpu, "cpu ratio": ours_cpu / base_cpu}


def bench_start(runs: int = 7) -> dict[str, float]:
    """Median wall time of the CLI's start as whole processes, beside bare Python and `import duckdb`."""
    cmds = {"rrrs --help": [rrrs_script(), "--help"],
            "rrrs audit --help": [rrrs_script(), "audit", "--help"],
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import duckdb'": [sys.executable, "-c", "import duckdb"]}
    return {name: statistics.median(timed(cmd)[0] for _ in range(runs)) for name, cmd in cmds.items()}
