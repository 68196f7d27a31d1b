"""Issue 14, "Audit trail": truncation and re-chaining went unnoticed, actions went unaudited, and `--by` was
taken on trust. Each test replays the attack from the sweep (items 1-3 of that section)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import pwd
import stat
import threading
from pathlib import Path

import duckdb
import pytest

from rrrs_core import access, audit, store
from rrrs_core.errors import RrrsError
from rrrs_core.migrations import MIGRATIONS
from tests.apptest import all_text, open_page
from tests.conftest import TEST_SECRET
from tests.tables import write_folder
from tests.test_cli import run

pytestmark = pytest.mark.both_backends  # the embedded file and the shared store (tests/conftest.py)

AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": TEST_SECRET,
                 "client_id": "rrrs", "client_secret": "x",
                 "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}
OS_USER = pwd.getpwuid(os.getuid()).pw_name


def _trail(con: duckdb.DuckDBPyConnection, n: int = 4) -> None:
    for i in range(n):
        audit.record(con, f"user{i}@clinic", "supervisor", "view dyad", f"D{i}", f"detail {i}")


def _rows(db: Path) -> list[tuple]:
    con = store.connect(db)
    try:
        return con.execute("SELECT actor, role, action, target, detail, os_user FROM audit ORDER BY audit_id"
                           ).fetchall()
    finally:
        con.close()


def _rechain_unkeyed(con: duckdb.DuckDBPyConnection) -> None:
    """What an attacker with write access did against the old code: recompute the plain SHA-256 chain over
    every row (after editing one), and make the anchor, if any, agree with it."""
    prev = "0" * 64
    for rid, at, actor, role, action, target, detail in con.execute(
            "SELECT audit_id, occurred_at, actor, role, action, target, detail FROM audit ORDER BY audit_id"
    ).fetchall():
        text = "\x1f".join([prev, at.isoformat(timespec="microseconds"), actor, role, action, target or "",
                            detail or ""])
        digest = hashlib.sha256(text.encode()).hexdigest()
        con.execute("UPDATE audit SET prev_hash = ?, row_hash = ? WHERE audit_id = ?", [prev, digest, rid])
        prev = digest
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'trail_anchor'").fetchone()[0]:
        con.execute("UPDATE trail_anchor SET head = ?", [prev])


# --- 1. truncation goes unnoticed ------------------------------------------------------------------------

def test_deleting_the_last_row_is_detected(con):
    _trail(con)
    assert audit.verify(con) is None
    con.execute("DELETE FROM audit WHERE audit_id = (SELECT max(audit_id) FROM audit)")
    assert audit.verify(con) is not None
    verdict = audit.check(con)
    assert not verdict.ok and verdict.head is None
    assert any("rows were deleted" in p for p in verdict.problems)


def test_deleting_every_row_is_detected(con):
    _trail(con)
    con.execute("DELETE FROM audit")
    assert audit.verify(con) is not None
    assert any("rows were deleted" in p for p in audit.check(con).problems)


def test_resetting_the_anchor_after_a_truncation_is_detected(con):
    """The anchor cannot simply be set back to the shorter trail: it is signed."""
    _trail(con)
    con.execute("DELETE FROM audit WHERE audit_id = 4")
    con.execute("UPDATE trail_anchor SET n_rows = 3, last_id = 3, head = (SELECT row_hash FROM audit "
                "WHERE audit_id = 3)")
    assert audit.verify(con) is not None
    assert any("anchor" in p and "signature" in p for p in audit.check(con).problems)


@pytest.mark.parametrize("edit", ["DELETE FROM trail_anchor", "INSERT INTO trail_anchor SELECT * FROM trail_anchor",
                                  "DROP TABLE trail_anchor"])
def test_emptying_doubling_or_dropping_the_anchor_is_detected(con, edit):
    _trail(con)
    con.execute(edit)
    assert audit.verify(con) is not None
    assert any("anchor is missing" in p for p in audit.check(con).problems)
    with pytest.raises(RrrsError, match="anchor row is missing"):
        audit.record(con, "boss", "admin", "view audit")


@pytest.fixture
def file_db(tmp_path):
    """The embedded file (not both backends): these tests use its path and the key file beside it."""
    db = tmp_path / "rrrs.duckdb"
    con = store.connect(db)
    yield db, con
    con.close()


def test_truncating_rows_and_anchor_together_is_caught_by_the_external_head(file_db):
    """Rolling back the rows and a saved copy of the anchor together fools the database's own check (as the
    docs say); the signed head printed by `rrrs audit verify` and kept with the backups catches it."""
    db, con = file_db
    _trail(con, 3)
    old_anchor = con.execute("SELECT * FROM trail_anchor").fetchall()
    audit.record(con, "boss", "admin", "export csv", "summary", "4 codings")
    con.close()
    res = run("audit", "verify", "--db", str(db))
    assert res.returncode == 0, res.stdout + res.stderr
    head = next(line for line in res.stdout.splitlines() if line.startswith("rrrs-audit-head:"))
    (db.parent / "head.txt").write_text(res.stdout)

    con = store.connect(db)
    con.execute("DELETE FROM audit WHERE audit_id = 4")
    con.execute("DELETE FROM trail_anchor")
    con.executemany("INSERT INTO trail_anchor VALUES (?, ?, ?, ?, ?, ?, ?, ?)", old_anchor)
    assert audit.verify(con) is None, "rows and anchor rolled back together look intact from inside"
    verdict = audit.check(con, head)
    assert not verdict.ok and verdict.first_bad == 4
    con.close()
    for expect in (head, str(db.parent / "head.txt")):
        res = run("audit", "verify", "--db", str(db), "--expect", expect)
        assert res.returncode == 1 and "no longer holds the expected head" in res.stdout, res.stdout + res.stderr


def test_rewriting_a_row_and_recomputing_the_unkeyed_chain_is_detected(con):
    _trail(con)
    con.execute("UPDATE audit SET target = 'D-other' WHERE audit_id = 2")
    _rechain_unkeyed(con)
    assert audit.verify(con) == 1, "every re-chained row fails its HMAC; the first is reported"


def test_a_forged_hmac_without_the_key_is_detected(con):
    """The attacker knows the algorithm but not the key: signatures made with any other key do not hold,
    neither for rows, nor for the anchor, nor for a signed head handed to --expect."""
    _trail(con)
    guess = b"a guessed key, not the installation's"
    con.execute("UPDATE audit SET detail = 'nothing to see' WHERE audit_id = 3")
    prev = con.execute("SELECT row_hash FROM audit WHERE audit_id = 2").fetchone()[0]
    for rid, at, actor, role, action, target, detail in con.execute(
            "SELECT audit_id, occurred_at, actor, role, action, target, detail FROM audit WHERE audit_id >= 3 "
            "ORDER BY audit_id").fetchall():
        text = "\x1f".join(["rrrs-audit-v2", str(rid), prev, at.isoformat(timespec="microseconds"), actor, role,
                            action, target or "", detail or "", ""])
        digest = hmac.new(guess, text.encode(), hashlib.sha256).hexdigest()
        con.execute("UPDATE audit SET prev_hash = ?, row_hash = ? WHERE audit_id = ?", [prev, digest, rid])
        prev = digest
    forged = hmac.new(guess, "\x1f".join(["rrrs-audit-head", "v1", "4", "4", prev]).encode(),
                      hashlib.sha256).hexdigest()
    con.execute("UPDATE trail_anchor SET head = ?, mac = ?", [prev, forged])
    assert audit.verify(con) == 3
    assert any("anchor" in p for p in audit.check(con).problems)
    fake_head = f"rrrs-audit-head:v1:4:4:{prev}:{forged}"
    assert any("does not match this installation's audit key" in p for p in audit.check(con, fake_head).problems)


def test_a_legitimate_trail_verifies_and_its_head_still_holds_later(empty_db):
    db, con = empty_db
    _trail(con, 2)
    audit.record(con, "Zoë Ångström", "admin", "sign in")  # non-ASCII, no target or detail
    audit.record_cli(con, "cli", "import", "folder", "4 new codings")
    first = audit.check(con)
    assert first.ok and first.head and first.n_rows == 4 and first.first_bad is None
    audit.record(con, "boss", "admin", "view audit")
    later = audit.check(con, first.head)
    assert later.ok and later.head != first.head and later.n_rows == 5
    con.close()
    res = run("audit", "verify", "--db", str(db), "--expect", first.head)
    assert res.returncode == 0 and "still holds the expected head" in res.stdout
    assert "not a signed audit head" in run("audit", "verify", "--db", str(db), "--expect", "rrrs-audit-head:v1:1").stderr


def test_app_threads_recording_at_once_leave_an_intact_trail(con):
    """Found on the way: two sessions auditing at the same moment chained onto the same row, so a legitimate
    trail reported tampering (and the anchor would now make one of them fail). Records are serialised."""
    def views(i: int) -> None:
        cur = store.cursor(con)
        for j in range(15):
            audit.record(cur, f"user{i}", "supervisor", "view dyad", f"D{j}")

    threads = [threading.Thread(target=views, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    verdict = audit.check(con)
    assert verdict.ok and verdict.n_rows == 60, verdict.problems


def test_the_key_is_outside_the_database(file_db, monkeypatch):
    """Demo and test installs get a 0600 key file beside the database; $RRRS_AUDIT_KEY wins when set; a lost
    key is a clear message, never a silently new key."""
    db, con = file_db
    key_file = Path(f"{db}.audit-key")
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() not in str(con.execute("SELECT * FROM trail_anchor").fetchall())
    _trail(con, 2)
    monkeypatch.setenv("RRRS_AUDIT_KEY", "k" * 40)
    assert audit.verify(con) == 1, "another key makes the trail fail, so the key really signs it"
    monkeypatch.setenv("RRRS_AUDIT_KEY", "short")
    with pytest.raises(RrrsError, match="too short"):
        audit.check(con)
    monkeypatch.delenv("RRRS_AUDIT_KEY")
    key_file.rename(key_file.with_suffix(".moved"))
    with pytest.raises(RrrsError, match="audit key is missing"):
        audit.record(con, "x", "admin", "view audit")
    assert not key_file.exists()


@pytest.mark.parametrize("secret", [b"k" * 32, b"long " * 30, "clé-ünïcode-ключ-0123456789abcdef".encode()])
def test_the_sql_check_computes_the_same_hmac_as_python(secret):
    """DuckDB has no hmac(): verification builds HMAC-SHA256 from its sha256 and the key's pads. It must agree
    with Python's hmac for any key length (a key longer than the 64-byte block is hashed first)."""
    from rrrs_core import audit_key

    message = "rrrs\x1f42\x1fZoë Ångström\x1f"
    sql = duckdb.connect().execute("SELECT " + audit_key.hmac_sql("$m"), {**audit_key.pads(secret), "m": message})
    assert sql.fetchone()[0] == hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def test_legacy_rows_stay_verifiable_up_to_the_signed_boundary(tmp_path):
    """A database audited before migration 8: its unkeyed rows verify as legacy; the keyed rows chain on."""
    db = tmp_path / "old.duckdb"
    raw = duckdb.connect(str(db))
    raw.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, "
                "applied_at TIMESTAMP NOT NULL)")
    for version, name, sql in MIGRATIONS[:7]:
        raw.execute(sql)
        raw.execute("INSERT INTO schema_migrations VALUES (?, ?, now())", [version, name])
    at = dt.datetime(2026, 1, 5, 9, 30)
    for i in range(3):
        raw.execute("INSERT INTO audit (occurred_at, actor, role, action, target, detail, prev_hash, row_hash) "
                    "VALUES (?, 'sup1', 'supervisor', 'view dyad', ?, NULL, 'x', 'x')", [at, f"D{i}"])
    _rechain_unkeyed(raw)
    raw.close()
    con = store.connect(db)
    verdict = audit.check(con)
    assert verdict.ok and verdict.legacy_rows == 3
    audit.record(con, "boss", "admin", "view audit")
    assert audit.check(con).ok
    con.execute("UPDATE audit SET target = 'D9' WHERE audit_id = 2")
    assert audit.verify(con) == 2
    con.execute("UPDATE audit SET target = 'D1' WHERE audit_id = 2")
    con.execute("UPDATE trail_anchor SET legacy_rows = 4, legacy_last_id = 4")  # call the keyed row legacy
    _rechain_unkeyed(con)
    assert any("before keyed auditing" in p for p in audit.check(con).problems)
    con.close()


def test_the_audit_page_shows_the_signed_head_and_the_problems(monkeypatch, clinic_db):
    at = open_page(monkeypatch, clinic_db, "audit")
    assert not at.exception
    heads = [c.value for c in at.code if c.value.startswith("rrrs-audit-head:")]
    assert len(heads) == 1 and "The audit trail is intact" in all_text(at)
    con = store.connect(clinic_db)
    assert audit.check(con, heads[0]).ok
    con.execute("DELETE FROM audit")
    con.close()
    at = open_page(monkeypatch, clinic_db, "audit")
    assert "rows were deleted" in all_text(at) and not [c for c in at.code if "rrrs-audit-head" in c.value]


# --- 2. actions not audited: role changes within a session, and the CLI -----------------------------------

def test_a_role_change_within_one_session_is_audited(monkeypatch, clinic_db):
    con = store.connect(clinic_db)
    access.upsert(con, "sup1", "supervisor", therapist_id="S1")
    con.close()
    at = open_page(monkeypatch, clinic_db, None, secrets=AUTH, user={"is_logged_in": True, "sub": "sup1"})
    assert not at.exception
    con = store.connect(clinic_db)
    access.upsert(con, "sup1", "admin")
    con.close()
    at.run()
    con = store.connect(clinic_db)
    access.upsert(con, "sup1", "supervisor", therapist_id="S1")
    con.close()
    at.run()
    rows = [r for r in _rows(clinic_db) if r[0] == "sup1" and r[2] in ("sign in", "role change")]
    assert [(r[1], r[2], r[4]) for r in rows] == [
        ("supervisor", "sign in", "role=supervisor therapist=S1"),
        ("admin", "role change", "role=supervisor therapist=S1 -> role=admin"),
        ("supervisor", "role change", "role=admin -> role=supervisor therapist=S1"),
    ]


def test_cli_import_export_reports_and_audit_export_are_audited_with_the_os_user(tmp_path):
    db = tmp_path / "x.duckdb"
    env_spoof = {"LOGNAME": "mallory", "USER": "mallory"}
    assert run("import", str(write_folder(tmp_path / "ok")), "--db", str(db), "--user", "ann").returncode == 0
    assert run("export", "summary", "--out", str(tmp_path / "s.csv"), "--db", str(db)).returncode == 0
    for args in (("dyad", "--dyad", "D1", "--out", str(tmp_path / "d.pdf")),
                 ("clinic", "--out", str(tmp_path / "c.pdf"))):
        res = run("report", *args, "--db", str(db), "--user", "erin")
        assert res.returncode == 0, res.stderr
    res = run("report", "all", "--out-dir", str(tmp_path / "all"), "--workers", "2", "--db", str(db),
              "--user", "erin")
    assert res.returncode == 0, res.stderr
    os.environ.update(env_spoof)  # the OS account comes from the real uid, not from these variables
    try:
        assert run("audit", "export", "--out", str(tmp_path / "a.csv"), "--db", str(db)).returncode == 0
    finally:
        for name in env_spoof:
            os.environ.pop(name, None)
    rows = _rows(db)
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in rows] == [
        ("ann", "cli", "import", str(tmp_path / "ok"), OS_USER),
        ("cli", "cli", "export csv", "summary", OS_USER),
        ("erin", "cli", "generate pdf", "dyad D1", OS_USER),
        ("erin", "cli", "generate pdf", "clinic", OS_USER),
        ("erin", "cli", "generate pdf", "therapist reports", OS_USER),
        ("cli", "cli", "export audit", str(tmp_path / "a.csv"), OS_USER),
    ]
    assert "therapist-T1.pdf" in rows[4][4]
    assert "mallory" not in (tmp_path / "a.csv").read_text()


# --- 3. --by is taken on trust --------------------------------------------------------------------------

def test_users_assign_is_audited_and_refuses_invisible_ids(clinic_db):
    """Assigning a session grants a coder access to it: audited like any user change (the sweep found it was
    not), and its ids follow the import's rules (a bidi override in a coder id was stored)."""
    res = run("users", "assign", "--coder", "C9", "--dyad", "D1", "--session", "1", "--by", "lead",
              "--db", str(clinic_db))
    assert res.returncode == 0, res.stderr
    assert ("lead", "cli", "manage users", "D1/1", "assigned to coder C9", OS_USER) in _rows(clinic_db)
    res = run("users", "assign", "--coder", "C\u202e1", "--dyad", "D1", "--session", "1", "--db", str(clinic_db))
    assert res.returncode == 2 and "invisible character" in res.stderr


def test_users_add_by_someone_else_records_the_os_account_too(clinic_db):
    res = run("users", "add", "x@clinic", "--role", "qi", "--by", "somebody-else", "--db", str(clinic_db))
    assert res.returncode == 0, res.stderr
    assert ("somebody-else", "cli", "manage users", "x@clinic", "role=qi (cli)", OS_USER) in _rows(clinic_db)
