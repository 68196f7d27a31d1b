"""Therapist pseudonyms for de-identified outputs: a keyed hash (HMAC-SHA256) of the therapist id.

An unkeyed hash of short ids like "T1" is reversible by anyone holding the staff list: hash every id and
compare. Keyed with a clinic secret, a pseudonym can only be recomputed by someone who has the secret, so
the QI slides and the clinic PDF name therapists without letting readers map names back to ids.

The key is `$RRRS_PSEUDONYM_KEY` when set; otherwise a random secret generated once per database and kept
in its `clinic_secret` table (created here on first use, by a writable connection). The same database
therefore always gives the same pseudonym, in the app and in the clinic PDF alike; another database (or
another key) gives different ones. Read-only connections (`rrrs report clinic`) cannot create the
secret: without it and without the variable they raise an `RrrsError` asking to open the app once. (Set
the variable alike for the app and the CLI, or not at all, so the page and the PDF agree.)

The hash is computed in SQL, so therapist ids never leave the database in de-identified queries; the key
only ever travels as bound parameters (HMAC's inner and outer padded keys), never in SQL text.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

import duckdb

from rrrs_core.errors import RrrsError
from rrrs_core.store import writing

KEY_ENV = "RRRS_PSEUDONYM_KEY"
TABLE = "clinic_secret"
SECRET_NAME = "pseudonym_key"
PREFIX = "Therapist "
DIGITS = 6  # 24 bits: short enough to read out in a meeting, collisions negligible for a clinic's staff
_BLOCK = 64  # SHA-256 block size, for HMAC's padded keys

# No key constraint (a shared store has none): the one row is written under the write lock, checked first.
CREATE_SQL = f"CREATE TABLE IF NOT EXISTS {TABLE} (name VARCHAR NOT NULL, value VARCHAR NOT NULL)"


def _stored(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        rows = con.execute(f"SELECT value FROM {TABLE} WHERE name = ?", [SECRET_NAME]).fetchall()
    except duckdb.CatalogException:  # no table yet
        return None
    return str(rows[0][0]) if rows else None


def _read_only(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT readonly FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return bool(rows and rows[0][0])


def ensure_secret(con: duckdb.DuckDBPyConnection) -> str:
    """The database's stored secret, generating and storing it (once, in a transaction) if missing.

    Raises `RrrsError` on a read-only connection to a database that has none yet.
    """
    found = _stored(con)
    if found:
        return found
    if _read_only(con):
        raise RrrsError(
            "This database has no pseudonym secret yet, and a read-only connection cannot create one. "
            f"Open the app's Clinic page on it once (that creates the secret), or set ${KEY_ENV} to the "
            "clinic's key, then try again.")
    with writing(con):  # the lock, then a second look: another server may have stored it meanwhile
        con.execute(CREATE_SQL)
        if _stored(con) is None:
            con.execute(f"INSERT INTO {TABLE} VALUES (?, ?)", [SECRET_NAME, secrets.token_hex(32)])
    found = _stored(con)
    if not found:
        raise RrrsError("Could not store the pseudonym secret in the database; try again.")
    return found


def key(con: duckdb.DuckDBPyConnection) -> bytes:
    """The pseudonym key: `$RRRS_PSEUDONYM_KEY` when set, else the database's stored secret."""
    env = os.environ.get(KEY_ENV)
    if env:
        return env.encode()
    return ensure_secret(con).encode()


def _padded(key_bytes: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's outer and inner padded keys (RFC 2104)."""
    k = hashlib.sha256(key_bytes).digest() if len(key_bytes) > _BLOCK else key_bytes
    k = k.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x5C for b in k), bytes(b ^ 0x36 for b in k)


def pseudonym(therapist_id: str, key_bytes: bytes) -> str:
    """The pseudonym in Python (for tests and checks): 'Therapist ' + HMAC-SHA256(key, id)[:6] in hex."""
    return PREFIX + hmac.new(key_bytes, therapist_id.encode(), hashlib.sha256).hexdigest()[:DIGITS]


KEY_CTE = "pseudonym_key AS (SELECT ?::BLOB AS opad, ?::BLOB AS ipad)"
"""A CTE binding the padded keys: put it first in a WITH (its two parameters come first) and cross join
`pseudonym_key` where `sql()` is used."""


def params(con: duckdb.DuckDBPyConnection) -> list[bytes]:
    """The parameters of `KEY_CTE`, in order."""
    return list(_padded(key(con)))


def sql(column: str) -> str:
    """SQL for the pseudonym of `column` (ours, never user text), HMAC-SHA256 computed with `KEY_CTE`."""
    inner = f"unhex(sha256(pseudonym_key.ipad || encode({column})))"
    return f"'{PREFIX}' || left(sha256(pseudonym_key.opad || {inner}), {DIGITS})"
