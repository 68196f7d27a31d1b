"""The shared store with real separate processes acting at the same moment: migrations run once, the
scoresheet's "saved by X after you opened it" refusal and the import's duplicate checks hold across
processes, and audit rows appended by three processes form one chain that verifies.

Each worker (tests/support/store_worker.py) opens the store, says it is ready, and acts when told, all at
once; the save and import workers hold their check open half a second, so without the cross-process lock
both would check before either wrote (each test says what it would then find; run with
STORE_WORKER_NO_LOCK=1 to see them fail).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rrrs_core import audit, store
from rrrs_core.migrations import MIGRATIONS
from tests.support.postgres import TEST_AUDIT_KEY
from tests.tables import write_folder

ROOT = Path(__file__).resolve().parent.parent


def run_together(location: str, *jobs: list[str], env: dict[str, str] | None = None) -> list[dict]:
    environment = {**os.environ, "RRRS_AUDIT_KEY": TEST_AUDIT_KEY, "PYTHONPATH": str(ROOT), **(env or {})}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.support.store_worker", job[0], location, *job[1:]],
                              cwd=ROOT, env=environment, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for job in jobs]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", proc.stderr.read()
    for proc in procs:  # as close together as the OS allows
        proc.stdin.write("go\n")  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_three_servers_starting_on_a_new_store_migrate_it_once(pg_server, tmp_path):
    """Without the lock (and the second look at the version once it is held) each process would create the
    DuckLake catalog and apply every migration: duplicate rows in schema_migrations, or a failed start."""
    location = f"ducklake:postgres:{pg_server.dsn(pg_server.create_database())}"
    run_together(location, ["connect"], ["connect"], ["connect"], env={"RRRS_DATA_PATH": str(tmp_path / "data")})
    con = store.connect(location)
    assert con.execute("SELECT version, count(*) FROM schema_migrations GROUP BY ALL ORDER BY 1").fetchall() == \
        [(m[0], 1) for m in MIGRATIONS]
    assert con.execute("SELECT count(*) FROM trail_anchor").fetchall() == [(1,)]
    assert con.execute("SELECT count(*) FROM clinic_secret").fetchall() == [(1,)]
    assert con.execute("SELECT count(*) - count(DISTINCT (codebook_id, codebook_version, key)) FROM codebook_code"
                       ).fetchall() == [(0,)]
    assert con.execute("SELECT count(*) - count(DISTINCT item) FROM rating_item").fetchall() == [(0,)]


def test_two_processes_saving_the_same_new_coding_one_is_refused_naming_the_other(lake_clinic_location):
    """Both opened D1 session 3 for coder C9 when it had no coding. Without the lock both would find none
    and store version 1 twice."""
    con = store.connect(lake_clinic_location)
    results = run_together(lake_clinic_location, ["save", "alice"], ["save", "bob"])
    saved = [r for r in results if "saved" in r]
    refused = [r["refused"] for r in results if "refused" in r]
    assert len(saved) == 1 and saved[0]["saved"] == 1 and len(refused) == 1
    winner = con.execute("SELECT created_by FROM coding WHERE dyad_id = 'D1' AND session_number = 3 "
                         "AND coder_id = 'C9'").fetchall()
    assert len(winner) == 1
    assert f"was saved by {winner[0][0]} at" in refused[0] and "after you opened it" in refused[0]


def test_two_processes_importing_the_same_file_store_each_coding_once(lake_location, tmp_path):
    """Without the lock both imports would plan against an empty store and write every coding twice."""
    folder = write_folder(tmp_path / "ok")
    results = run_together(lake_location, ["import", str(folder)], ["import", str(folder)])
    assert sorted((r["new"], r["unchanged"]) for r in results) == [(0, 4), (4, 0)]
    con = store.connect(lake_location)
    assert con.execute("SELECT count(*) - count(DISTINCT (dyad_id, session_number, coder_id, version)) FROM coding"
                       ).fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM coding").fetchall() == [(4,)]


def test_audit_rows_from_three_processes_form_one_chain_that_verifies(lake_location):
    """Without the lock two appends would chain onto the same previous row (or lose the anchor's update)."""
    con = store.connect(lake_location)
    before = con.execute("SELECT count(*) FROM audit").fetchall()[0][0]
    run_together(lake_location, ["audit", "ann", "15"], ["audit", "ben", "15"], ["audit", "cat", "15"])
    assert audit.check(con).ok, audit.check(con).problems
    assert con.execute("SELECT count(*), count(DISTINCT audit_id) FROM audit").fetchall() == [(before + 45,) * 2]
    cli = subprocess.run([str(Path(sys.executable).parent / "rrrs"), "audit", "verify", "--db", lake_location],
                         capture_output=True, text=True, env={**os.environ}, timeout=120)
    assert cli.returncode == 0 and "The audit trail is intact." in cli.stdout, cli.stdout + cli.stderr
