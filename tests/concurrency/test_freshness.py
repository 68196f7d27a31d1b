"""Freshness: the app's data cache is keyed on the store's data version, so a write made by another process
shows on this server's pages within `glue.FRESH_SECONDS`, without a restart; and asking for the version costs
at most one call per rerun (embedded mode stays fast)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from rrrs_core import store
from rrrs_ui import glue
from tests.apptest import caseload_dyads, open_clean
from tests.concurrency.tables import renamed
from tests.tables import write_folder

ROOT = Path(__file__).resolve().parents[2]
RRRS = str(Path(sys.executable).parent / "rrrs")


def _caseload_dyads(at) -> list[str]:
    return caseload_dyads(at.dataframe[0].value)


def _import(env: dict[str, str], folder: Path) -> None:
    done = subprocess.run([RRRS, "import", str(folder)], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr


def test_import_by_another_process_shows_on_the_page_without_restart(monkeypatch, lake_env, tmp_path) -> None:
    monkeypatch.setenv("RRRS_DATA_PATH", lake_env["RRRS_DATA_PATH"])
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")
    monkeypatch.setattr(glue, "FRESH_SECONDS", 0.3)
    subprocess.run([RRRS, "demo", "--out", str(tmp_path / "demo"), "--dyads", "3"], check=True, capture_output=True)
    _import(lake_env, tmp_path / "demo")
    at = open_clean(monkeypatch, lake_env["RRRS_DB"], "caseload")
    before = _caseload_dyads(at)
    assert before and "NEW-1" not in before

    _import(lake_env, write_folder(tmp_path / "new", renamed("NEW")))  # another process: `rrrs import`
    time.sleep(0.4)
    at.run()
    assert not at.exception
    assert {"NEW-1", "NEW-2"} <= set(_caseload_dyads(at)), _caseload_dyads(at)


def test_a_rerun_asks_the_store_for_its_version_at_most_once(monkeypatch, clinic_db) -> None:
    calls: list[float] = []
    real = store.data_version

    def counted(con):
        calls.append(time.monotonic())
        return real(con)

    monkeypatch.setattr(store, "data_version", counted)
    monkeypatch.setattr(glue, "FRESH_SECONDS", 60.0)
    at = open_clean(monkeypatch, clinic_db, "dyad", dyad="D1")  # a page with a dozen cached queries
    calls.clear()
    glue.data_changed()  # as after a save here: the next query asks again, once
    at.run()
    assert not at.exception
    assert len(calls) == 1
    at.run()
    assert len(calls) == 1, "within FRESH_SECONDS the version is not asked again"


def test_a_write_made_here_without_data_changed_still_shows_within_the_window(monkeypatch, clinic_db) -> None:
    """The embedded file's version moves with every committed write in this process, so a write path that forgot
    `data_changed()` is still seen after `FRESH_SECONDS`."""
    from rrrs_core.queries import dyad
    from rrrs_core.scope import CLINIC

    monkeypatch.setenv("RRRS_DB", str(clinic_db))
    monkeypatch.setattr(glue, "FRESH_SECONDS", 0.2)
    before = glue.query(dyad.dyads, CLINIC)
    with store.writing(glue.connection()) as con:
        con.execute("INSERT INTO therapist VALUES ('TX', NULL, false)")
        con.execute("INSERT INTO dyad VALUES ('DX', 'TX', 'P-DX', 'CBT')")
    assert glue.query(dyad.dyads, CLINIC).equals(before)
    time.sleep(0.3)
    assert len(glue.query(dyad.dyads, CLINIC)) == len(before) + 1
