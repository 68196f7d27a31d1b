"""The README's backup of a shared store, done as written: the audit head, `pg_dump` of the catalog, then a copy
of the data path; later writes; a restore of both; the restored store holds exactly the backed-up data and
`rrrs audit verify --expect <head>` passes. The catalog without its data files is not a backup."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rrrs_core import coding_edit as ce
from rrrs_core import store
from tests.concurrency.tables import renamed
from tests.support.postgres import bin_dir
from tests.tables import write_folder

ROOT = Path(__file__).resolve().parents[2]
RRRS = str(Path(sys.executable).parent / "rrrs")


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([RRRS, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _counts(location: str) -> dict[str, int]:
    con = store.connect(location)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in ("dyad", "coding", "mark", "rating_value", "audit")}
    finally:
        con.close()


def test_backup_and_restore_as_the_readme_says(pg_server, lake_env: dict[str, str], tmp_path: Path) -> None:
    location, data = lake_env["RRRS_DB"], Path(lake_env["RRRS_DATA_PATH"])
    _cli(lake_env, "import", str(write_folder(tmp_path / "first", renamed("B1"))))
    con = store.connect(location)  # a scoresheet save: its marks and ratings go to a small file of their own
    draft, version = ce.load_coding(con, "B1-1", 1, "C1")
    draft.marks[(3, "denial")] = "check"
    ce.save_coding(con, draft, user="backup-test", expected_version=version)
    con.close()

    head = re.search(r"rrrs-audit-head:\S+", _cli(lake_env, "audit", "verify").stdout)[0]  # 1. the head first
    dsn = location.removeprefix("ducklake:postgres:")
    dump = tmp_path / "rrrs.dump"
    subprocess.run([str(bin_dir() / "pg_dump"), "--format=custom", "--file", str(dump), "-d", dsn], check=True)  # 2.
    shutil.copytree(data, tmp_path / "backup-data")  # 3. then the data files
    backed_up = _counts(location)

    _cli(lake_env, "import", str(write_folder(tmp_path / "later", renamed("B2"))))  # written after the backup
    assert _counts(location)["coding"] > backed_up["coding"]

    restored = pg_server.create_database()
    subprocess.run([str(bin_dir() / "pg_restore"), "--no-owner", "-d", pg_server.dsn(restored), str(dump)],
                   check=True)
    shutil.rmtree(data)
    shutil.copytree(tmp_path / "backup-data", data)  # back under the same path
    restored_location = f"ducklake:postgres:{pg_server.dsn(restored)}"
    after = _counts(restored_location)
    assert after == backed_up
    env = {**lake_env, "RRRS_DB": restored_location}
    verified = _cli(env, "audit", "verify", "--expect", head)
    assert "still holds the expected head" in verified.stdout

    shutil.rmtree(data)  # the catalog alone: the rows in data files are gone
    with pytest.raises(Exception, match=r"(?i)no such file|not found|cannot open|does not exist"):
        _counts(restored_location)
