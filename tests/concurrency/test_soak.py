"""Soak: real separate processes on one shared store (DuckLake on a throwaway PostgreSQL) for about a minute.

Two app-like coders save scoresheets (some codings both edit; duels where both open the same version), and run
the pages' queries; an importer runs `rrrs import` of new tables (twice at once, and one that fails after
writing) and `rrrs import --replace` of codings the coders edit; a reporter runs `rrrs report all`. Then: nothing lost or written twice, every refused save names who
saved, `rrrs audit verify` passes, and the cached per-coding metrics equal a recount from the stored marks.
The workers are in worker.py, the checks in checks.py.

RRRS_SOAK_SECONDS sets how long the workers run (default 60).

The embedded file admits one writing process, so the same workload cannot run on it: the last test shows a
second process there gets the busy message instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rrrs_core import store
from tests.concurrency import checks

pytestmark = pytest.mark.soak

ROOT = Path(__file__).resolve().parents[2]
RRRS = str(Path(sys.executable).parent / "rrrs")
SECONDS = float(os.environ.get("RRRS_SOAK_SECONDS", "60"))
CODERS = ["W1", "W2"]
AUDIT_KEY = "soak-" + "k" * 40  # the embedded test's key (the shared store's comes from lake_location)
ARTIFACTS = ROOT / "artifacts" / "concurrency"


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RRRS, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _plan(con) -> dict[str, object]:
    """Codings for the coders: two both edit at random, one for the duels, two of each coder's own."""
    keys = [list(r) for r in con.execute(
        "SELECT dyad_id, session_number, coder_id FROM coding WHERE is_current ORDER BY dyad_id, session_number, "
        "coder_id LIMIT 7").fetchall()]
    return {"shared": keys[:2], "duel": keys[2],
            "own": {"W1": keys[3:5], "W2": keys[5:7]}}


def _spawn(role: str, name: str, env: dict[str, str], until: float, work: Path, plan: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tests.concurrency.worker", role, "--name", name, "--until", str(until),
           "--log", str(work / "logs" / f"{name}.jsonl"), "--shared", str(work / "shared"), "--plan", str(plan),
           "--duellists", str(len(CODERS))]
    with open(work / f"{name}.out", "wb") as out:  # the child keeps its own copy of the file
        return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def test_soak_four_processes_on_one_shared_store(lake_env: dict[str, str], tmp_path: Path) -> None:
    env = {**lake_env, "PYTHONUNBUFFERED": "1"}
    for sub in ("logs", "shared"):
        (tmp_path / sub).mkdir()
    demo = _cli(env, "demo", "--out", str(tmp_path / "demo"), "--dyads", "6")
    assert demo.returncode == 0, demo.stderr
    seeded = _cli(env, "import", str(tmp_path / "demo"), "--user", "seed")
    assert seeded.returncode == 0, seeded.stderr

    con = store.connect(env["RRRS_DB"])
    plan_file = tmp_path / "plan.json"
    start = time.time()
    plan_file.write_text(json.dumps(_plan(con)))
    con.close()

    until = start + SECONDS
    procs = {name: _spawn("coder", name, env, until, tmp_path, plan_file) for name in CODERS}
    procs["IMP"] = _spawn("importer", "IMP", env, until, tmp_path, plan_file)
    procs["REP"] = _spawn("reporter", "REP", env, until, tmp_path, plan_file)
    try:
        for proc in procs.values():
            proc.wait(timeout=SECONDS + 600)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    took = time.time() - start
    outputs = {name: (tmp_path / f"{name}.out").read_text(errors="replace")[-3000:] for name in procs}
    assert all(p.returncode == 0 for p in procs.values()), outputs

    events = checks.read_logs(tmp_path / "logs")
    verify = _cli(env, "audit", "verify")
    con = store.connect(env["RRRS_DB"])
    try:
        n_duels, duel_failures = checks.duels(events, len(CODERS))
        n_reports, report_failures = checks.reports(events)
        failures = {
            "worker errors": checks.worker_errors(events, list(procs)),
            "duplicate rows": checks.no_duplicate_rows(con),
            "scoresheet saves": checks.scoresheet_saves(con, events, CODERS, "IMP"),
            "refused saves": checks.refusals(con, events, [*CODERS, "IMP"]),
            "duels": duel_failures,
            "imports": checks.imports(con, events),
            "reports": report_failures,
            "metrics": checks.metrics(con),
            "audit verify": [] if verify.returncode == 0 else [verify.stdout + verify.stderr],
        }
        n_codings = con.execute("SELECT count(*) FROM coding").fetchall()[0][0]
    finally:
        con.close()

    summary = _summary(events, took, n_duels, n_reports, n_codings)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "soak-summary.json").write_text(json.dumps({**summary, "failures": failures}, indent=2))
    print(json.dumps(summary, indent=2))
    assert not any(failures.values()), json.dumps({k: v for k, v in failures.items() if v}, indent=2)[:20000]
    # The run did what it is for: saves from both coders, duels fought, named refusals, every kind of import,
    # reports built while the rest ran.
    assert all(summary["saves"].get(w, 0) >= 1 for w in CODERS), summary
    assert n_duels >= 1 and summary["refused"] >= n_duels, summary
    assert summary["imports"]["imported"] >= 1 and summary["imports"]["failed_late"] >= 1, summary
    assert n_reports >= 1, summary


def _summary(events: list[dict], took: float, n_duels: int, n_reports: int, n_codings: int) -> dict[str, object]:
    reads = sorted(e["seconds"] for e in events if e["event"] == "read")
    saves = sorted(e["seconds"] for e in events if e["event"] in ("saved", "refused"))
    kinds = ("imported", "imported_twice", "failed_late", "replaced")
    return {
        "seconds": round(took, 1), "soak_seconds": SECONDS, "codings_in_store": n_codings,
        "saves": {w: sum(1 for e in events if e["event"] == "saved" and e["worker"] == w) for w in CODERS},
        "refused": sum(1 for e in events if e["event"] == "refused"), "duels": n_duels,
        "save_median_s": saves[len(saves) // 2] if saves else None, "save_max_s": saves[-1] if saves else None,
        "page_reads": len(reads), "page_read_median_s": reads[len(reads) // 2] if reads else None,
        "imports": {k: sum(1 for e in events if e["event"] == k) for k in kinds},
        "report_all_runs": n_reports,
        "report_all_seconds": [e["seconds"] for e in events if e["event"] == "reported"],
    }


def test_embedded_file_admits_one_writer_and_says_so(tmp_path: Path) -> None:
    """The soak's workload needs several writing processes; on the embedded file a second one is told the file is
    busy, and what to do, instead of waiting or failing with DuckDB's lock error."""
    db = tmp_path / "clinic.duckdb"
    env = {**os.environ, "RRRS_DB": str(db), "RRRS_AUDIT_KEY": AUDIT_KEY}
    env.pop("RRRS_DATA_PATH", None)
    assert _cli(env, "demo", "--out", str(tmp_path / "demo"), "--dyads", "2").returncode == 0
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from rrrs_core import store; "
                               f"con = store.connect({str(db)!r}); print('open', flush=True); time.sleep(120)"],
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        imported = _cli(env, "import", str(tmp_path / "demo"))
        assert imported.returncode == 1, imported
        said = imported.stderr.lower()
        assert "in use by another process" in said and "traceback" not in said, imported.stderr
        assert "data page" in said and "shared store" in said, "the message says what to do instead"
        app_like = subprocess.run([sys.executable, "-c", "from rrrs_core import store\n"
                                   "from rrrs_core.errors import DatabaseBusyError\n"
                                   f"try:\n    store.connect({str(db)!r})\nexcept DatabaseBusyError as e:\n"
                                   "    print(e)"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert "in use by another process" in app_like.stdout, app_like
    finally:
        holder.kill()
        holder.wait()
