"""Encryption at rest: with a key the file holds no plaintext and cannot be opened without the key."""

from __future__ import annotations

import pytest

from rrrs_core import store
from rrrs_core.errors import RrrsError
from rrrs_core.importing import import_path
from tests.tables import write_folder


def test_encrypted_store_round_trip(tmp_path):
    db = tmp_path / "secret.duckdb"
    con = store.connect(db, key="correct horse battery staple")
    import_path(con, write_folder(tmp_path / "ok"))
    assert store.scalar(con, "SELECT count(*) FROM v_session_metrics") == 3
    cur = store.cursor(con)
    assert store.scalar(cur, "SELECT count(*) FROM dyad") == 2, "cursors see the encrypted catalog"
    con.close()

    raw = db.read_bytes()
    for plaintext in (b"P-ALPHA", b"P-BRAVO", b"minimal_response", b"therapist_contribution"):
        assert plaintext not in raw

    with pytest.raises(RrrsError, match="RRRS_DB_KEY|key"):
        store.connect(db, key="")
    with pytest.raises(RrrsError, match="key"):
        store.connect(db, key="wrong key")
    again = store.connect(db, key="correct horse battery staple", read_only=True)
    assert store.scalar(again, "SELECT count(*) FROM dyad") == 2
    again.close()


def test_key_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("RRRS_DB_KEY", "env-key")
    db = tmp_path / "env.duckdb"
    store.connect(db).close()
    monkeypatch.delenv("RRRS_DB_KEY")
    with pytest.raises(RrrsError):
        store.connect(db)
