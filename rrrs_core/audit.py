"""Append-only audit trail of access to identified data: who, in which role, did what, to what, when.

Rows are only ever inserted (this module has no update or delete, and nothing else writes the table).
Each row carries a SHA-256 chained over the previous row, so an edit or deletion made outside the app
is detectable with `verify`.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb
import pandas as pd

from rrrs_core.store import one, transaction

ACTIONS = ("view dyad", "view session", "import", "edit coding", "export csv", "generate pdf", "manage users",
           "view audit", "export audit", "sign in", "view scoresheet", "download scoresheet", "add note",
           "view caseload")
GENESIS = "0" * 64


def _digest(prev: str, at: dt.datetime, actor: str, role: str, action: str, target: str | None,
            detail: str | None) -> str:
    text = "\x1f".join([prev, at.isoformat(timespec="microseconds"), actor, role, action, target or "",
                        detail or ""])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record(con: duckdb.DuckDBPyConnection, actor: str, role: str, action: str, target: str | None = None,
           detail: str | None = None) -> None:
    """Append one audit row (its own transaction, so a later failure never erases the trail)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    with transaction(con):
        last = one(con, "SELECT row_hash FROM audit ORDER BY audit_id DESC LIMIT 1")
        prev = last[0] if last else GENESIS
        at = dt.datetime.now().replace(tzinfo=None)
        con.execute(
            "INSERT INTO audit (occurred_at, actor, role, action, target, detail, prev_hash, row_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [at, actor, role, action, target, detail, prev, _digest(prev, at, actor, role, action, target, detail)])


# `_digest` in SQL, over a row and the row_hash expected before it: verification runs in DuckDB, not in a
# Python loop over a trail that grows with every page view.
_DIGEST_SQL = "sha256(" + " || chr(31) || ".join([
    "expected_prev", "strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%f')", "actor", "role", "action",
    "coalesce(target, '')", "coalesce(detail, '')"]) + ")"


def verify(con: duckdb.DuckDBPyConnection) -> int | None:
    """The id of the first row whose chain does not hold, or None when the whole trail is intact."""
    row = one(con, f"""
        SELECT min(audit_id) FROM (
            SELECT *, coalesce(lag(row_hash) OVER (ORDER BY audit_id), ?) AS expected_prev FROM audit)
        WHERE prev_hash IS DISTINCT FROM expected_prev OR row_hash IS DISTINCT FROM {_DIGEST_SQL}""", [GENESIS])
    return int(row[0]) if row and row[0] is not None else None


def listing(con: duckdb.DuckDBPyConnection, *, actor: str | None = None, action: str | None = None,
            since: dt.date | None = None, until: dt.date | None = None, limit: int = 5000) -> pd.DataFrame:
    """Audit rows, newest first, filtered by the admin's choices (all filters are bound parameters)."""
    return con.execute(
        """
        SELECT audit_id, occurred_at, actor, role, action, target, detail FROM audit
        WHERE (? IS NULL OR actor = ?) AND (? IS NULL OR action = ?)
          AND (? IS NULL OR occurred_at >= ?::DATE) AND (? IS NULL OR occurred_at < ?::DATE + INTERVAL 1 DAY)
        ORDER BY audit_id DESC LIMIT ?
        """,
        [actor, actor, action, action, since, since, until, until, limit],
    ).df()
