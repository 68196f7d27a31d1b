"""The audit trail's HMAC key: held outside the database, so write access to the file alone cannot re-sign it.

Where the key comes from, in order:
1. `$RRRS_AUDIT_KEY` (at least 32 characters), for deployments: keep it in the same secret store as the
   OIDC secrets, never with the database or its backups.
2. Otherwise the key file named by `$RRRS_AUDIT_KEY_FILE`, created (mode 0600) when the trail is first sealed
   if it does not exist yet.
3. Otherwise a per-installation key file `<database>.audit-key` beside the database, created (mode 0600) the
   first time the database is migrated, so `make run` and tests need no setup. It protects against anyone
   holding only the database file (a copied file, a backup); someone who can write the data folder can read
   it too, which is why deployments set `$RRRS_AUDIT_KEY`.
4. A database in memory gets a random key for the life of the process.

A shared store (DuckLake on PostgreSQL) has no database file to keep a key beside: it needs 1 or 2, the same
on every server and command-line job (a key made per process would make every other process's rows look
forged).

A missing key is never replaced silently (a new key would make every signed row look forged): records and
verification stop with a message naming what to restore.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import duckdb

from rrrs_core.errors import RrrsError

KEY_ENV = "RRRS_AUDIT_KEY"
FILE_ENV = "RRRS_AUDIT_KEY_FILE"
MIN_KEY_CHARS = 32
_EPHEMERAL = secrets.token_bytes(32)  # in-memory databases only
_BLOCK = 64  # SHA-256 block size, for the HMAC pads


class _Lake:
    """`key_file`'s answer for a shared store: no file beside it."""


LAKE = _Lake()
LAKE_NEEDS_KEY = (f"A shared store's audit trail is signed with ${KEY_ENV} or the key file named by ${FILE_ENV} (there "
                  "is no database file to keep a key beside); set one, the same on every server and job.")


def key_file(con: duckdb.DuckDBPyConnection) -> Path | _Lake | None:
    """`$RRRS_AUDIT_KEY_FILE`, else `<database>.audit-key` for a database file; LAKE for a shared store; None
    for a database in memory."""
    if os.environ.get(FILE_ENV):
        return Path(os.environ[FILE_ENV])
    row = con.execute("SELECT path, type FROM duckdb_databases() WHERE database_name = current_database()"
                      ).fetchall()
    if row and row[0][1] == "ducklake":
        return LAKE
    path = row[0][0] if row else None
    return Path(f"{path}.audit-key") if path else None


def _create(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_hex(32) + "\n")


def key(con: duckdb.DuckDBPyConnection, *, create: bool = False) -> bytes:
    """The key for this database's audit trail; `create` only when the trail is first sealed (migration 8)."""
    env = os.environ.get(KEY_ENV)
    if env:
        if len(env) < MIN_KEY_CHARS:
            raise RrrsError(f"${KEY_ENV} is too short ({len(env)} characters); use at least {MIN_KEY_CHARS} "
                            "random characters, e.g. the output of `openssl rand -hex 32`.")
        return env.encode("utf-8")
    path = key_file(con)
    if path is None:
        return _EPHEMERAL
    if isinstance(path, _Lake):
        raise RrrsError(LAKE_NEEDS_KEY)
    if create and not path.exists():
        _create(path)
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise RrrsError(f"The audit key is missing: set ${KEY_ENV}, or restore {path} (the key file made when "
                        "this database was created). Without it the audit trail cannot be signed or checked."
                        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RrrsError(f"Cannot read the audit key file {path}: {exc}") from exc
    if len(text) < MIN_KEY_CHARS:
        raise RrrsError(f"The audit key file {path} is damaged (too short).")
    return text.encode("ascii")


def source(con: duckdb.DuckDBPyConnection) -> str:
    """Where this database's audit key comes from, for `rrrs audit verify` to say what to keep safe."""
    if os.environ.get(KEY_ENV):
        return f"${KEY_ENV}"
    path = key_file(con)
    if isinstance(path, _Lake):
        return "nowhere: " + LAKE_NEEDS_KEY
    return f"the key file {path}" if path else "a key for this process only (database in memory)"


def mac(secret: bytes, *parts: object) -> str:
    """HMAC-SHA256 (hex) over the parts joined with the unit separator."""
    return hmac.new(secret, "\x1f".join(map(str, parts)).encode("utf-8"), hashlib.sha256).hexdigest()


def pads(secret: bytes) -> dict[str, bytes]:
    """The HMAC inner and outer pads, so SQL can compute HMAC-SHA256 with DuckDB's sha256 (DuckDB 1.5.5 has
    no hmac function): sha256(opad || sha256(ipad || message)). Bound as parameters, never stored."""
    block = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    block = block.ljust(_BLOCK, b"\0")
    return {"ipad": bytes(b ^ 0x36 for b in block), "opad": bytes(b ^ 0x5C for b in block)}


def hmac_sql(message_sql: str) -> str:
    """A SQL expression: the HMAC-SHA256 (hex) of `message_sql` (a VARCHAR) under the pads `$ipad`/`$opad`."""
    return f"sha256($opad || unhex(sha256($ipad || encode({message_sql}))))"
