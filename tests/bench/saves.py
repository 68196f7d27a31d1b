"""Scoresheet saves: one save's time, and the throughput of saves from several OS processes at once.

A save is what the Scoresheet page does on "Save": load the coding's current version, change it (here a segment
note, which makes a new version and passes validation), and `coding_edit.save_coding` with the version opened.
Each process saves its own codings (coders code their own sessions); a save the store refuses (ConflictError:
someone else's version, or a concurrent commit) is counted, never retried, as a user would be told to reload.

The workers are separate processes (`python -m tests.bench.saves WORKER ...`) started together: each opens the
store, then waits for a go line on stdin so that connecting is not part of the measured window.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def connect(db: str, data_path: str | None, read_only: bool = False):  # -> duckdb.DuckDBPyConnection
    """The store as the app opens it (`data_path` only matters for a shared store)."""
    from rrrs_core import store

    return store.connect(db, read_only=read_only, data_path=data_path or None)


def coding_keys(db: str, data_path: str | None, n: int, offset: int = 0) -> list[tuple[str, int, str]]:
    """`n` current codings (dyad, session, coder), the same ones for every backend of one clinic."""
    con = connect(db, data_path, read_only=True)
    try:
        rows = con.execute("SELECT dyad_id, session_number, coder_id FROM coding WHERE is_current "
                           "ORDER BY dyad_id, session_number, coder_id LIMIT ? OFFSET ?", [n, offset]).fetchall()
    finally:
        con.close()
    return [(str(d), int(s), str(c)) for d, s, c in rows]


def save_once(con, key: tuple[str, int, str], note: str) -> int:  # noqa: ANN001 - a DuckDB connection
    """One scoresheet save of `key` with a changed segment note; returns the new version."""
    from rrrs_core import coding_edit as ce

    draft, version = ce.load_coding(con, *key)
    draft.segment_notes = {1: note}
    return ce.save_coding(con, draft, user="bench", expected_version=version, status=draft.status)


def median_save(db: str, data_path: str | None, keys: list[tuple[str, int, str]]) -> tuple[float, float]:
    """Median wall time and median CPU time (this process, all threads) of one save (load + change + save),
    each on another coding, one process. The CPU time is the steadier figure on a shared machine."""
    con = connect(db, data_path)
    times, cpus = [], []
    try:
        save_once(con, keys[0], "bench warm-up")  # the first save also loads the validation code
        for i, key in enumerate(keys[1:]):
            start, start_cpu = time.perf_counter(), time.process_time()
            save_once(con, key, f"bench save {i}")
            times.append(time.perf_counter() - start)
            cpus.append(time.process_time() - start_cpu)
    finally:
        con.close()
    return statistics.median(times), statistics.median(cpus)


def worker(db: str, data_path: str, seconds: float, keys_json: str) -> None:
    """Save the given codings round-robin for `seconds` after the go line; print counts as JSON."""
    from rrrs_core.errors import ConflictError

    keys = [tuple(k) for k in json.loads(keys_json)]
    con = connect(db, data_path or None)
    print("ready", flush=True)
    sys.stdin.readline()
    saved = refused = failed = 0
    messages: list[str] = []
    deadline = time.perf_counter() + seconds
    start, start_cpu = time.perf_counter(), time.process_time()
    i = 0
    while time.perf_counter() < deadline:
        key = keys[i % len(keys)]
        i += 1
        try:
            save_once(con, key, f"pid {os.getpid()} save {i}")  # type: ignore[arg-type]
            saved += 1
        except ConflictError as exc:
            refused += 1
            messages.append(str(exc)[:200])
        except Exception as exc:  # noqa: BLE001 - counted and named, the bench goes on
            failed += 1
            messages.append(f"{type(exc).__name__}: {str(exc)[:200]}")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    con.close()
    print(json.dumps({"saved": saved, "refused": refused, "failed": failed, "elapsed": elapsed, "cpu": cpu,
                      "messages": messages[:5]}), flush=True)


def concurrent_saves(db: str, data_path: str | None, processes: int = 4, seconds: float = 30.0,
                     per_process: int = 20) -> dict[str, object]:
    """`processes` workers saving their own codings at once for `seconds`: saves/s over all, CPU seconds per save
    (all threads of the workers; with it, the machine's cores bound the throughput), refused, failed."""
    keys = coding_keys(db, data_path, processes * per_process, offset=10)  # not the codings `median_save` used
    if len(keys) < processes:
        raise RuntimeError(f"the store has too few codings for {processes} save workers ({len(keys)})")
    per_process = len(keys) // processes
    env = {k: v for k, v in os.environ.items() if k not in ("RRRS_DB", "RRRS_DB_KEY")}
    procs = []
    for i in range(processes):
        mine = keys[i * per_process:(i + 1) * per_process]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "tests.bench.saves", "worker", db, data_path or "", str(seconds), json.dumps(mine)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env))
    try:
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"a save worker did not start: {line!r}")
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, _ = p.communicate(timeout=seconds + 600)
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    saved = sum(r["saved"] for r in results)
    elapsed = max(r["elapsed"] for r in results)
    cpu = sum(r["cpu"] for r in results)
    return {"processes": processes, "seconds": elapsed, "saved": saved, "saves_per_s": saved / elapsed,
            "cpu_per_save": cpu / saved if saved else float("nan"),
            "refused": sum(r["refused"] for r in results), "failed": sum(r["failed"] for r in results),
            "messages": [m for r in results for m in r["messages"]][:5]}


if __name__ == "__main__" and len(sys.argv) == 6 and sys.argv[1] == "worker":
    worker(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5])
