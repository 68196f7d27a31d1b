"""The store's backends: location parsing and redaction, the DDL translation for DuckLake, ids, the data
version, the schema-version refusal, and a shared store's encryption at rest."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from rrrs_core import audit, store
from rrrs_core.errors import RrrsError, SchemaTooNewError
from rrrs_core.migrations import MIGRATIONS
from rrrs_core.storage.lakeddl import for_lake
from rrrs_core.storage.location import LAKE_PREFIX, parse, redact

LAKE = f"{LAKE_PREFIX}dbname=rrrs host=db.example port=5432 user=rrrs"


# ---------------------------------------------------------------- locations


def test_a_plain_path_is_the_embedded_file_and_a_ducklake_location_the_shared_store(monkeypatch, tmp_path):
    monkeypatch.delenv("RRRS_DB", raising=False)
    monkeypatch.setenv("RRRS_DATA_PATH", str(tmp_path / "files"))
    assert parse("some/where.duckdb").kind == "file"
    assert parse(None).target == str(Path("data") / "rrrs.duckdb")
    assert parse(":memory:").kind == "memory"
    lake = parse(LAKE)
    assert (lake.kind, lake.target, lake.data_path) == ("lake", LAKE[len(LAKE_PREFIX):], str(tmp_path / "files"))
    assert parse(LAKE, data_path="/srv/lake").data_path == "/srv/lake"  # the argument beats the variable
    monkeypatch.setenv("RRRS_DB", LAKE)
    assert parse(None).is_lake and store.db_path() == LAKE


def test_other_ducklake_catalogs_and_an_empty_connection_string_are_refused():
    with pytest.raises(RrrsError, match="PostgreSQL catalog"):
        parse("ducklake:sqlite:meta.sqlite")
    with pytest.raises(RrrsError, match="needs a PostgreSQL connection string"):
        parse(LAKE_PREFIX)


@pytest.mark.parametrize("text", [
    "dbname=rrrs host=h password=hunter2 user=u",
    "dbname=rrrs password='hunter2 with spaces' user=u",
    "dbname=rrrs PASSWORD = hunter2",
    "postgresql://rrrs:hunter2@db.example/rrrs",
    "dbname=rrrs sslpassword=hunter2",
    'Unable to connect to Postgres at "dbname=x password=hunter2": FATAL',
])
def test_redact_hides_every_password(text):
    shown = redact(text)
    assert "hunter2" not in shown and "********" in shown
    assert '": FATAL' in shown or "FATAL" not in text  # a quoted message goes on after the password
    assert "dbname=" in shown or "postgresql://rrrs:" in shown  # the rest stays readable


def test_a_lake_location_is_shown_without_its_password():
    location = parse(LAKE + " password=hunter2", data_path="/x")
    assert "hunter2" not in str(location) and "dbname=rrrs" in str(location)
    assert "hunter2" in location.target  # kept for connecting, never shown


# ---------------------------------------------------------------- DDL for DuckLake


def test_the_translation_strips_what_ducklake_lacks_and_keeps_the_rest():
    sql = ("CREATE SEQUENCE s START 1; CREATE TABLE x (a BIGINT PRIMARY KEY DEFAULT nextval('s'), "
           "b VARCHAR NOT NULL UNIQUE, c INTEGER NOT NULL CHECK (c IN (1, (2))), d INTEGER DEFAULT 5, "
           "e VARCHAR PRIMARY KEY NOT NULL, PRIMARY KEY (a, b), UNIQUE (b, c));")
    assert re.sub(r"\s+", " ", for_lake(sql)).strip() == (
        "CREATE TABLE x (a BIGINT NOT NULL, b VARCHAR NOT NULL, c INTEGER NOT NULL, d INTEGER DEFAULT 5, "
        "e VARCHAR NOT NULL);")


@pytest.mark.parametrize(("version", "name", "sql"), MIGRATIONS, ids=[str(m[0]) for m in MIGRATIONS])
def test_every_migration_translates_to_the_same_columns_without_constraints(version, name, sql):
    """Each migration, run on DuckDB as written and as translated, gives the same tables and columns; the
    translation holds no key, check or sequence (DuckLake refuses them)."""
    lake_sql = for_lake(sql)
    assert not re.search(r"(?i)PRIMARY KEY|UNIQUE|CHECK\s*\(|SEQUENCE|nextval", lake_sql)

    def shape(translate) -> list[tuple]:
        con = duckdb.connect()
        for _v, _n, earlier in MIGRATIONS[:version - 1]:
            con.execute(translate(earlier))
        con.execute(translate(sql))
        return con.execute("SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
                           "ORDER BY table_name, ordinal_position").fetchall()

    written, translated = shape(lambda s: s), shape(for_lake)
    assert [r[:3] for r in written] == [r[:3] for r in translated]


# ---------------------------------------------------------------- both backends


@pytest.mark.both_backends
def test_the_store_is_migrated_once_and_every_migration_recorded(empty_db, backend):
    location, con = empty_db
    assert store.schema_version(con) == MIGRATIONS[-1][0]
    assert con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall() == \
        [(m[0],) for m in MIGRATIONS]
    again = store.connect(location)
    assert store.migrate(again) == []
    assert (store.catalog_dsn(con) is not None) == (backend == "lake")
    again.close()


@pytest.mark.both_backends
def test_connecting_again_writes_nothing(clinic_db):
    """Views, the metrics cache, codebooks and the pseudonym secret are checked, not rewritten, at each
    connect: several servers starting on one store neither rewrite them nor fight over them."""
    con = store.connect(clinic_db)
    version = store.data_version(con)
    views = con.execute("SELECT view_name, comment FROM duckdb_views() WHERE database_name = current_database() "
                        "ORDER BY 1").fetchall()
    names = {name for name, _comment in views}
    assert {"rating", "v_coding_metrics", "v_selfreport_scale", "v_selfreport_alert"} <= names
    assert all(comment.startswith("rrrs:") for _name, comment in views)
    store.connect(clinic_db).close()
    assert store.data_version(con) == version
    assert con.execute("SELECT view_name, comment FROM duckdb_views() WHERE database_name = current_database() "
                       "ORDER BY 1").fetchall() == views


@pytest.mark.both_backends
def test_a_newer_schema_than_this_rrrs_knows_is_refused_and_left_alone(empty_db):
    location, con = empty_db
    with store.writing(con):
        con.execute("INSERT INTO schema_migrations VALUES (?, 'from the future', current_localtimestamp())",
                    [MIGRATIONS[-1][0] + 1])
    con.close()
    for read_only in (False, True):
        with pytest.raises(SchemaTooNewError, match=f"schema version {MIGRATIONS[-1][0] + 1}, newer than this"):
            store.connect(location, read_only=read_only)


@pytest.mark.both_backends
def test_the_app_and_the_command_line_refuse_a_newer_schema_plainly(empty_db, monkeypatch, capsys):
    from rrrs_core import cli
    from rrrs_ui.auth import DB_NEWER
    from tests.apptest import all_text, open_page

    location, con = empty_db
    with store.writing(con):
        con.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', current_localtimestamp())")
    con.close()
    at = open_page(monkeypatch, location)
    assert not at.exception and DB_NEWER in all_text(at)
    assert cli.main(["export", "summary", "--out", "/dev/null", "--db", str(location)]) == 1
    err = capsys.readouterr().err
    assert "rrrs: The database " in err and "schema version 999, newer than this rrrs knows" in err


@pytest.mark.both_backends
def test_next_id_follows_the_largest_id_and_only_inside_writing(con):
    with pytest.raises(RuntimeError, match="outside `store.writing`"):
        store.next_id(con, "note", "note_id")
    with store.writing(con):
        assert store.next_id(con, "note", "note_id") == 1
        con.execute("INSERT INTO note VALUES (41, 'D1', NULL, 'a', current_localtimestamp(), 'x')")
        assert store.next_id(con, "note", "note_id") == 42


@pytest.mark.both_backends
def test_data_version_moves_with_each_committed_write_but_not_with_audit_rows_or_rollbacks(con):
    start = store.data_version(con)
    with store.writing(con):
        con.execute("INSERT INTO therapist VALUES ('T9', NULL, false)")
    after_write = store.data_version(con)
    assert after_write != start
    audit.record(con, "ann", "admin", "view dyad", "D1")
    assert store.data_version(con) == after_write  # page views are audited: caches must survive them
    with pytest.raises(ZeroDivisionError), store.writing(con):
        con.execute("INSERT INTO therapist VALUES ('T10', NULL, false)")
        _ = 1 / 0
    assert store.data_version(con) == after_write
    assert con.execute("SELECT count(*) FROM therapist WHERE therapist_id = 'T10'").fetchall() == [(0,)]


@pytest.mark.both_backends
def test_a_read_transaction_keeps_its_temp_tables_and_refuses_a_write_inside(con):
    with store.reading(con):
        con.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS x")
        with pytest.raises(RuntimeError, match="inside store.reading"), store.writing(con):
            pass
    assert con.execute("SELECT x FROM scratch").fetchall() == [(1,)]


def test_a_nested_write_on_the_same_connection_joins_the_open_transaction(con):
    with pytest.raises(ValueError), store.writing(con):
        con.execute("INSERT INTO therapist VALUES ('T1', NULL, false)")
        with store.writing(con):
            con.execute("INSERT INTO therapist VALUES ('T2', NULL, false)")
        raise ValueError
    assert con.execute("SELECT count(*) FROM therapist").fetchall() == [(0,)]


# ---------------------------------------------------------------- the shared store only


def test_a_new_shared_store_needs_a_data_path(pg_server, monkeypatch):
    monkeypatch.delenv("RRRS_DATA_PATH", raising=False)
    location = f"{LAKE_PREFIX}{pg_server.dsn(pg_server.create_database())}"
    with pytest.raises(RrrsError, match="has no data path yet: set \\$RRRS_DATA_PATH"):
        store.connect(location)


def test_a_wrong_data_path_for_an_existing_store_is_refused(lake_location, tmp_path):
    with pytest.raises(RrrsError, match="is not the one the shared store"):
        store.connect(lake_location, data_path=tmp_path / "elsewhere")


def test_errors_about_a_shared_store_never_show_its_password(pg_server, tmp_path):
    location = f"{LAKE_PREFIX}dbname=nowhere host=127.0.0.1 port={pg_server.port} user=postgres password=hunter2"
    with pytest.raises(RrrsError) as caught:
        store.connect(location, data_path=tmp_path)
    assert "hunter2" not in str(caught.value) and "nowhere" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no traceback shows DuckDB's


def test_a_shared_store_without_an_audit_key_says_which_to_set(lake_location, monkeypatch):
    monkeypatch.delenv("RRRS_AUDIT_KEY")
    con = store.connect(lake_location)
    with pytest.raises(RrrsError, match="RRRS_AUDIT_KEY or the key file named by \\$RRRS_AUDIT_KEY_FILE"):
        audit.record(con, "ann", "admin", "view dyad", "D1")


def test_the_shared_store_encrypts_its_data_files(lake_location, tmp_path):
    """An import big enough to be written to Parquet (not inlined into the catalog): no file under the data
    path holds an id in plaintext; the store reads it back."""
    con = store.connect(lake_location)
    with store.writing(con):
        con.execute("INSERT INTO dyad SELECT 'DYADSECRET' || i, 'THERAPISTSECRET', NULL, NULL FROM range(500) r(i)")
    files = [p for p in (tmp_path / "lake-data").rglob("*.parquet") if p.stat().st_size]
    assert files, "the rows were inlined into the catalog, not written to a data file"
    for path in files:
        assert b"DYADSECRET" not in path.read_bytes() and b"THERAPISTSECRET" not in path.read_bytes()
    assert con.execute("SELECT count(*) FROM dyad WHERE therapist_id = 'THERAPISTSECRET'").fetchall() == [(500,)]


def test_a_ducklake_transaction_takes_its_snapshot_at_its_first_statement(lake_location):
    """What `writing` relies on (lock, then BEGIN): a commit made after BEGIN but before the transaction's
    first statement is seen by it; one made after that first statement is not (snapshot isolation)."""
    mine, theirs = store.connect(lake_location), store.connect(lake_location)
    mine.execute("BEGIN TRANSACTION")
    with store.writing(theirs):
        theirs.execute("INSERT INTO therapist VALUES ('EARLY', NULL, false)")
    assert mine.execute("SELECT count(*) FROM therapist WHERE therapist_id = 'EARLY'").fetchall() == [(1,)]
    with store.writing(theirs):
        theirs.execute("INSERT INTO therapist VALUES ('LATE', NULL, false)")
    assert mine.execute("SELECT count(*) FROM therapist WHERE therapist_id = 'LATE'").fetchall() == [(0,)]
    mine.execute("ROLLBACK")


def test_the_app_selects_the_store_once_per_thread_not_on_every_call(lake_location, monkeypatch):
    """`glue.connection()` hands a thread the same cursor on every call (a new cursor's `USE <catalog>` costs
    milliseconds on the shared store, and a page calls it several times a run); another thread gets its own;
    a download's cursor made from it comes from the shared connection, not from the busy thread's cursor."""
    import threading

    import streamlit as st

    from rrrs_ui import glue

    monkeypatch.setenv("RRRS_DB", lake_location)
    st.cache_resource.clear()
    mine = glue.connection()
    assert glue.connection() is mine
    assert store.scalar(mine, "SELECT count(*) FROM schema_migrations") == len(MIGRATIONS)
    other: list[duckdb.DuckDBPyConnection] = []
    thread = threading.Thread(target=lambda: other.extend([glue.connection(), glue.connection()]))
    thread.start()
    thread.join()
    assert other[0] is other[1] and other[0] is not mine
    assert store._ROOT_OF[store.cursor(mine)] is store._ROOT_OF[mine]
    st.cache_resource.clear()
    assert glue.connection() is not mine, "a new shared connection (cache cleared) gets a new cursor"
