"""`rrrs import` bounds DuckDB's memory (issue #20: a million sessions under 2 GB), and says so when the
limit it was given is not one."""

from __future__ import annotations

import duckdb
import pytest

from rrrs_core import cli, importing, store
from rrrs_core.errors import RrrsError
from rrrs_core.importing import api
from tests.tables import write_folder


def _shown(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]


def _as_duckdb_shows(limit: str) -> str:
    """How DuckDB shows `limit` once set (e.g. 1GB is '953.6 MiB')."""
    ref = duckdb.connect()
    try:
        ref.execute("SET memory_limit = ?", [limit])
        return _shown(ref)
    finally:
        ref.close()


def test_the_cli_imports_under_the_cap(tmp_path, monkeypatch):
    seen: list[str] = []
    real = importing.import_path

    def spy(con, *args, **kwargs):
        seen.append(_shown(con))
        return real(con, *args, **kwargs)

    monkeypatch.setattr(importing, "import_path", spy)
    monkeypatch.delenv(api.MEMORY_ENV, raising=False)
    db = tmp_path / "x.duckdb"
    assert cli.main(["import", str(write_folder(tmp_path / "ok")), "--db", str(db)]) == 0
    assert seen == [_as_duckdb_shows(api.IMPORT_MEMORY)] and api.IMPORT_MEMORY == "1GB"
    assert _as_duckdb_shows("1GB") != _shown(duckdb.connect())  # not DuckDB's own default
    con = store.connect(db)
    try:
        assert con.execute("SELECT count(*) FROM coding").fetchall()[0][0] == 4
    finally:
        con.close()


def test_the_cap_can_be_raised_and_a_wrong_one_is_a_message(tmp_path, monkeypatch, capsys):
    con = duckdb.connect()
    monkeypatch.setenv(api.MEMORY_ENV, "3GB")
    assert api.cap_memory(con) == "3GB" and _shown(con) == _as_duckdb_shows("3GB")
    assert api.cap_memory(con, "500MB") == "500MB" and _shown(con) == _as_duckdb_shows("500MB")
    monkeypatch.setenv(api.MEMORY_ENV, "plenty")
    with pytest.raises(RrrsError, match=r"\$RRRS_IMPORT_MEMORY is 'plenty'.*e\.g\. 1GB"):
        api.cap_memory(con)
    db = tmp_path / "y.duckdb"
    assert cli.main(["import", str(write_folder(tmp_path / "ok")), "--db", str(db)]) == 1
    assert "RRRS_IMPORT_MEMORY is 'plenty'" in capsys.readouterr().err
    con = store.connect(db)
    try:
        assert con.execute("SELECT count(*) FROM coding").fetchall()[0][0] == 0  # refused before reading
    finally:
        con.close()
