"""One therapist report per therapist, on every core: `report_all`.

Workers are separate processes (spawned, not forked: a forked DuckDB connection or vl-convert runtime
is not safe to share), each opening the database read-only once and writing its PDFs itself, so only
file names cross process boundaries. Files are written under a temporary name and renamed, so an
interrupted batch never leaves a half-written PDF behind.
"""

from __future__ import annotations

import multiprocessing
import os
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from rrrs_core import store
from rrrs_core.queries.caseload import caseload
from rrrs_core.reports import data
from rrrs_core.reports.layout import resolve_now
from rrrs_core.reports.therapist import build_therapist_report
from rrrs_core.scope import CLINIC

Progress = Callable[[int, int], None]   # (reports done, reports in total)



@dataclass
class _Worker:
    con: duckdb.DuckDBPyConnection
    generated_by: str
    threshold: int
    now: datetime
    cases: pd.DataFrame     # the whole clinic's caseload, computed once per worker


_worker: _Worker | None = None


def file_names(therapist_ids: list[str]) -> dict[str, str]:
    """A safe, unique file name per therapist id ('therapist-T01.pdf')."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for tid in therapist_ids:
        stem = "therapist-" + (re.sub(r"[^A-Za-z0-9_.-]+", "_", tid).strip("._") or "unnamed")
        name, n = f"{stem}.pdf", 1
        while name.lower() in used:
            n += 1
            name = f"{stem}-{n}.pdf"
        used.add(name.lower())
        out[tid] = name
    return out


def write_atomic(path: Path, content: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_bytes(content)
    tmp.replace(path)


def _write_one(con: duckdb.DuckDBPyConnection, therapist_id: str, path: Path, generated_by: str,
               threshold: int, now: datetime, cases: pd.DataFrame) -> str:
    pdf = build_therapist_report(con, therapist_id, generated_by=generated_by, threshold=threshold, now=now,
                                 clinic_caseload=cases)
    write_atomic(path, pdf)
    return str(path)


def _init_worker(db_path: str, generated_by: str, threshold: int, now: datetime) -> None:
    global _worker
    con = store.connect(db_path, read_only=True)
    # One DuckDB thread per worker: the workers already use every core, and a report's queries are small
    # (a second thread per worker only adds scheduling on an oversubscribed machine).
    con.execute("SET threads = 1")
    _worker = _Worker(con, generated_by, threshold, now, caseload(con, CLINIC, threshold))


def _run_worker(therapist_id: str, path: str) -> str:
    if _worker is None:
        raise RuntimeError("report worker used before its initializer ran")
    w = _worker
    return _write_one(w.con, therapist_id, Path(path), w.generated_by, w.threshold, w.now, w.cases)


def report_all(db_path: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, generated_by: str,
               workers: int = 2, progress: Progress | None = None, threshold: int = 4,
               now: datetime | None = None) -> list[Path]:
    """Write one therapist report per therapist with at least one dyad; returns the files in therapist order.

    `workers` processes share the work (1 runs in this process). Every report carries the same `now`.
    Workers are spawned, so a script calling this needs the usual `if __name__ == "__main__":` guard.
    """
    con = store.connect(db_path, read_only=True)
    try:
        ids = data.therapists_with_dyads(con)
    finally:
        con.close()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = file_names(ids)
    paths = {tid: out / names[tid] for tid in ids}
    stamp = resolve_now(now)
    total, done = len(ids), 0
    if progress:
        progress(0, total)
    if workers <= 1 or total <= 1:
        con = store.connect(db_path, read_only=True)
        try:
            cases = caseload(con, CLINIC, threshold)
            for tid in ids:
                _write_one(con, tid, paths[tid], generated_by, threshold, stamp, cases)
                done += 1
                if progress:
                    progress(done, total)
        finally:
            con.close()
        return [paths[t] for t in ids]

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, total), mp_context=context, initializer=_init_worker,
                             initargs=(str(db_path), generated_by, threshold, stamp)) as pool:
        futures = [pool.submit(_run_worker, tid, str(paths[tid])) for tid in ids]
        try:
            for future in as_completed(futures):
                future.result()
                done += 1
                if progress:
                    progress(done, total)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return [paths[t] for t in ids]
