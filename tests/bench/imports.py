"""Import time against DuckDB's own read_csv of the same files (the three 3RS tables and selfreports.csv) into plain tables, in one run.

The two are interleaved (ours, theirs, ours, ...) so that load from other work on a shared machine falls on
both alike, and each is also measured in process CPU time (all threads), which other processes disturb less
than wall time.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable

import duckdb

from rrrs_core import store
from rrrs_core.importing import import_path
from tests.bench.common import WORK, clinic_folder


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bench_import(size: str, runs: int) -> dict[str, float]:
    folder = clinic_folder(size)
    target = WORK / f"import-{size}.duckdb"
    plain = WORK / f"plain-{size}.duckdb"

    def fresh() -> None:
        for p in (target, plain):
            p.unlink(missing_ok=True)
            p.with_suffix(".duckdb.wal").unlink(missing_ok=True)

    def rrrs_import() -> None:
        con = store.connect(target)
        import_path(con, folder)
        con.close()

    def duckdb_read_csv() -> None:
        con = duckdb.connect(str(plain))
        for path in sorted(folder.glob("*.csv")):  # the same files: the three 3RS tables and the self-reports
            con.execute(f"CREATE TABLE {path.stem} AS SELECT * FROM read_csv(?)", [str(path)])
        con.close()

    wall: dict[str, list[float]] = {"ours": [], "base": []}
    cpu: dict[str, list[float]] = {"ours": [], "base": []}
    jobs: dict[str, Callable[[], None]] = {"ours": rrrs_import, "base": duckdb_read_csv}
    for _ in range(runs):
        for name, job in jobs.items():
            fresh()
            start, start_cpu = time.perf_counter(), _cpu()
            job()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(_cpu() - start_cpu)
    fresh()
    ours, base = statistics.median(wall["ours"]), statistics.median(wall["base"])
    ours_cpu, base_cpu = statistics.median(cpu["ours"]), statistics.median(cpu["base"])
    return {"rrrs import": ours, "duckdb read_csv": base, "ratio": ours / base,
            "rrrs cpu": ours_cpu, "duckdb cpu": base_cpu, "cpu ratio": ours_cpu / base_cpu}
