"""Metric views against values computed by hand from tests/builders.small_clinic and tiny codings."""

from __future__ import annotations

from rrrs_core import codebook as cb
from rrrs_core import export, store
from rrrs_core.migrations import MIGRATIONS
from rrrs_core.scope import Scope
from rrrs_core.views import CACHE, metric_columns, refresh_metrics
from tests.builders import add_dyad, add_session, add_therapist, globals_


def row(con, dyad, session, coder=None):
    sql = "SELECT * FROM v_coding_metrics WHERE dyad_id = ? AND session_number = ? AND is_current"
    params = [dyad, session]
    if coder:
        sql += " AND coder_id = ?"
        params.append(coder)
    return con.execute(sql, params).df().iloc[0]


def test_family_segments_count_checks_and_possible_counts_check_minus_only(con):
    add_therapist(con, "T")
    add_dyad(con, "X", "T")
    add_session(con, "X", 1, [
        (1, "denial", "check"), (1, "deferential", "check_minus"),        # seg 1: withdrawal check
        (2, "deferential", "check_minus"),                                 # seg 2: withdrawal possible only
        (3, "complaint_therapist", "check"), (3, "minimal_response", "check"),  # seg 3: both families
        (4, "complaint_progress", "check_minus"), (4, "invite_feelings", "check"),
        (5, "redirect_refocus", "check_minus"),
        (6, "denial", "check"),
    ], globals_(w=3, c=2, r=3, tc=1, denial=3))
    m = row(con, "X", 1)
    assert (m.withdrawal_segments, m.confrontation_segments, m.rupture_segments) == (3, 1, 3)
    assert (m.withdrawal_possible_segments, m.confrontation_possible_segments) == (1, 1)
    assert (m.resolution_segments, m.resolution_possible_segments) == (1, 1)
    assert m.n_segments == 10 and not m.ratings_pending
    # Per-code segment counts are the summary export's, counted from the marks when exported.
    e = export.summary(con).iloc[0]
    assert (e.seg_denial, e.seg_deferential, e.seg_minimal_response, e.seg_complaint_therapist) == (2, 0, 1, 1)
    assert (e.seg_invite_feelings, e.seg_redirect_refocus, e.withdrawal_segments) == (1, 0, 3)


def test_pending_and_no_rupture_sessions(clinic_con):
    pending = row(clinic_con, "D3", 2)
    assert pending.ratings_pending and pending.overall_resolution is None or str(pending.overall_resolution) == "<NA>"
    assert pending.withdrawal_segments == 1
    quiet = row(clinic_con, "D4", 1)
    assert quiet.rupture_segments == 0 and quiet.overall_resolution == 3 and quiet.n_segments == 9


def test_primary_coding_rule(clinic_con):
    # D1/3 has C1 (imported first) and C2: C1 is used by dashboards.
    chosen = store.one(clinic_con, "SELECT coder_id, n_codings FROM v_primary_coding WHERE dyad_id='D1' AND "
                       "session_number=3")
    assert chosen == ("C1", 2)
    # A consensus-flagged coding wins over the first one.
    add_session(clinic_con, "D1", 3, [(1, "complaint_therapist", "check")], globals_(c=3, tc=4), coder_id="CONS",
                consensus=True)
    assert store.scalar(clinic_con, "SELECT coder_id FROM v_primary_coding WHERE dyad_id='D1' AND session_number=3") \
        == "CONS"
    # Drafts never feed dashboards.
    add_session(clinic_con, "D4", 2, [], globals_(), status="draft")
    assert store.scalar(clinic_con, "SELECT count(*) FROM v_session_metrics WHERE dyad_id='D4'") == 1


def test_session_metrics_has_one_row_per_session(clinic_con):
    assert store.scalar(clinic_con, "SELECT count(*) FROM v_session_metrics") == 10
    assert store.scalar(clinic_con, "SELECT count(*) FROM v_coding_metrics") == 11


def test_metric_columns_contract():
    cols = metric_columns()
    assert cols[:8] == ["n_segments", "withdrawal_segments", "confrontation_segments", "rupture_segments",
                        "resolution_segments", "withdrawal_possible_segments", "confrontation_possible_segments",
                        "resolution_possible_segments"]
    assert cols[8:12] == ["overall_withdrawal", "overall_confrontation", "overall_resolution", "therapist_contribution"]
    assert len(cols) == 12 + 24 and cols[12] == "seg_denial"


def test_migrations_are_recorded_and_idempotent(empty_db):
    path, con = empty_db

    assert store.schema_version(con) == MIGRATIONS[-1][0] >= 2
    assert store.migrate(con) == []
    assert store.scalar(con, "SELECT name FROM schema_migrations WHERE version = 1") == "core 3RS schema"


def test_metrics_cache_is_rebuilt_and_topped_up(clinic_db):
    con = store.connect(clinic_db)
    expected = con.execute("SELECT * FROM v_coding_metrics ORDER BY coding_id").df()
    con.execute(f"DROP TABLE {CACHE}")
    con.close()
    con = store.connect(clinic_db)  # a missing cache is rebuilt from the live definition
    assert con.execute("SELECT * FROM v_coding_metrics ORDER BY coding_id").df().equals(expected)
    con.execute(f"DELETE FROM {CACHE} WHERE coding_id = (SELECT min(coding_id) FROM coding)")
    con.close()
    con = store.connect(clinic_db)  # codings written without a refresh are topped up on connect
    assert store.scalar(con, "SELECT count(*) FROM v_coding_metrics") == len(expected)


def test_cache_matches_live_definition(clinic_con):
    cached = clinic_con.execute("SELECT * EXCLUDE (coding_id) FROM coding_metrics_cache ORDER BY coding_id").df()
    live = clinic_con.execute("SELECT * EXCLUDE (coding_id) FROM v_coding_metrics_live ORDER BY coding_id").df()
    assert cached.equals(live)


def test_refresh_of_some_codings_recomputes_only_them(clinic_con):
    """refresh_metrics filters inside the metrics query; the rows it writes must equal the live view's."""
    ids = [r[0] for r in clinic_con.execute("SELECT coding_id FROM coding ORDER BY coding_id LIMIT 2").fetchall()]
    clinic_con.execute(f"UPDATE {CACHE} SET withdrawal_segments = -1")
    refresh_metrics(clinic_con, ids)
    cached = clinic_con.execute(f"SELECT * FROM {CACHE} WHERE withdrawal_segments <> -1 ORDER BY coding_id").df()
    live = clinic_con.execute("SELECT * FROM v_coding_metrics_live WHERE coding_id IN (SELECT unnest(?::BIGINT[])) "
                              "ORDER BY coding_id", [ids]).df()
    assert cached["coding_id"].tolist() == ids and cached.equals(live)


def test_summary_export_keeps_to_its_scope(clinic_con):
    every = export.summary(clinic_con)
    assert export.summary_size(clinic_con) == len(every) == 11
    one = sorted(every.therapist_id.unique())[0]
    mine = export.summary(clinic_con, Scope.therapists({one}, "one"))
    assert len(mine) == export.summary_size(clinic_con, Scope.therapists({one}, "one")) == (every.therapist_id == one).sum()
    assert set(mine.therapist_id) == {one}
    # The per-code counts follow each coding, whatever the scope.
    key = ["dyad_id", "session_number", "coder_id"]
    assert mine.set_index(key).equals(every[every.therapist_id == one].set_index(key))


def _database_at(path, version: int):
    """A database file as a release at schema `version` left it (no views, no codebook): open connection."""
    import duckdb

    old = duckdb.connect(str(path))
    old.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                "applied_at TIMESTAMP NOT NULL)")
    for number, name, sql in MIGRATIONS[:version]:
        old.execute(sql)
        old.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)", [number, name])
    return old


def test_migration_6_keeps_every_rating_behind_the_rating_view(tmp_path):
    """A database from before migration 6 (ratings stored with their item text) keeps every rating."""
    path = tmp_path / "v5.duckdb"
    old = _database_at(path, 5)
    rows = [(1, "denial", 3), (1, "overall_withdrawal", 2), (2, "therapist_contribution", 5), (2, "old_item", 4)]
    old.executemany("INSERT INTO rating VALUES (?, ?, ?)", rows)
    old.close()
    con = store.connect(path)
    assert store.schema_version(con) == MIGRATIONS[-1][0]
    assert con.execute("SELECT coding_id, item, rating FROM rating ORDER BY ALL").fetchall() == sorted(rows)
    assert con.execute("SELECT typeof(rating) FROM rating LIMIT 1").fetchall() == [("INTEGER",)]
    # Every current codebook item has an id too, so imports and the scoresheet can store it.
    assert store.scalar(con, "SELECT count(*) FROM rating_item") == len(set(cb.DEFAULT.rating_items) | {"old_item"})
    store.insert_ratings(con, 3, {"denial": 1, "new_item": 2})
    assert con.execute("SELECT item, rating FROM rating WHERE coding_id = 3 ORDER BY item").fetchall() == [
        ("denial", 1), ("new_item", 2)]


def test_migration_7_keeps_codings_and_sessions_and_drops_only_their_key_indexes(tmp_path):
    """A database from before migration 7 keeps every coding and session; coding_id stays a primary key."""
    path = tmp_path / "v6.duckdb"
    old = _database_at(path, 6)
    old.execute("INSERT INTO session VALUES ('D1', 1, DATE '2026-01-05', 5, 10), ('D1', 2, NULL, 5, 12)")
    old.execute("""INSERT INTO coding (dyad_id, session_number, coder_id, version, is_current, codebook_id,
                       codebook_version, content_hash, created_at, created_by)
                   VALUES ('D1', 1, 'C1', 1, false, 'x', '1', 'import', TIMESTAMP '2026-01-06', 'cli'),
                          ('D1', 1, 'C1', 2, true, 'x', '1', 'scoresheet', TIMESTAMP '2026-01-07', 'ann')""")
    before = {t: old.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("coding", "session")}
    old.close()
    con = store.connect(path)
    assert store.schema_version(con) == MIGRATIONS[-1][0]
    assert {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("coding", "session")} == before
    constraints = con.execute("SELECT table_name, constraint_type FROM duckdb_constraints() WHERE table_name IN "
                              "('coding', 'session') AND constraint_type IN ('PRIMARY KEY', 'UNIQUE')").fetchall()
    assert constraints == [("coding", "PRIMARY KEY")]
    # New codings continue the sequence after the migrated ones.
    assert store.scalar(con, "SELECT nextval('coding_id_seq')") == 3
