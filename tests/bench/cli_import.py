"""The import as a user runs it: `rrrs import FOLDER --db FILE` as a new process, against DuckDB's `read_csv`
of the same three files into plain tables in a new Python process of its own.

The in-process figure (tests/bench/imports.py) leaves out what every user pays once per command: Python's start,
the imports of rrrs (pandas, DuckDB), opening and migrating the store and the audit row. Runs alternate (ours,
theirs, ours, ...) so load from other work falls on both alike. CPU is the child's user + system time; peak
memory its maximum resident set.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
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
    wall, cpu, _peak = timed_peak(cmd, env)
    return wall, cpu


def timed_peak(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall and CPU seconds and peak memory (max resident set, MB) of one child process; it must succeed. The
    child's own resource usage (`os.wait4`), as `/usr/bin/time -v` reports it."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err,
                                env=env if env is not None else clean_env())
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _fresh(*paths: Path) -> None:
    """Remove database files with their write-ahead log and the audit key made beside them."""
    for p in paths:
        for suffix in ("", ".wal", ".audit-key"):
            p.with_name(p.name + suffix).unlink(missing_ok=True)


def bench_cli_import(folder: Path, work: Path, runs: int = 3) -> dict[str, float]:
    """Median wall, CPU and peak memory of `rrrs import` and of read_csv, each a whole new process, over `runs`
    pairs."""
    ours_db, base_db = work / "cli-import.duckdb", work / "cli-read-csv.duckdb"
    jobs = {"ours": [rrrs_script(), "import", str(folder), "--db", str(ours_db), "--user", "bench"],
            "base": [sys.executable, "-c", READ_CSV, str(base_db), str(folder)]}
    wall: dict[str, list[float]] = {k: [] for k in jobs}
    cpu: dict[str, list[float]] = {k: [] for k in jobs}
    peak: dict[str, list[float]] = {k: [] for k in jobs}
    for _ in range(runs):
        for name, cmd in jobs.items():
            _fresh(ours_db, base_db)
            w, c, m = timed_peak(cmd)
            wall[name].append(w)
            cpu[name].append(c)
            peak[name].append(m)
    _fresh(ours_db, base_db)
    ours, base = statistics.median(wall["ours"]), statistics.median(wall["base"])
    ours_cpu, base_cpu = statistics.median(cpu["ours"]), statistics.median(cpu["base"])
    return {"rrrs import": ours, "duckdb read_csv": base, "ratio": ours / base,
            "rrrs cpu": ours_cpu, "duckdb cpu": base_cpu, "cpu ratio": ours_cpu / base_cpu,
            "rrrs peak MB": statistics.median(peak["ours"]), "duckdb peak MB": statistics.median(peak["base"])}


def bench_start(runs: int = 7) -> dict[str, float]:
    """Median wall time of the CLI's start as whole processes, beside bare Python and `import duckdb`."""
    cmds = {"rrrs --help": [rrrs_script(), "--help"],
            "rrrs audit --help": [rrrs_script(), "audit", "--help"],
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import duckdb'": [sys.executable, "-c", "import duckdb"]}
    return {name: statistics.median(timed(cmd)[0] for _ in range(runs)) for name, cmd in cmds.items()}
