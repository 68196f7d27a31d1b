"""Append-only audit trail of access to identified data: who, in which role, did what, to what, when.

Rows are only ever inserted (this module has no update or delete of rows, and nothing else writes the table).
Each row is signed with HMAC-SHA256 over its fields, its id and the previous row's signature, under a key the
database does not hold (`audit_key`). The table `trail_anchor` keeps the row count, last id and last signature,
signed too and changed in the same transaction as each insert, so deleting rows (even the last ones, or all)
no longer verifies. `check` also takes a signed head printed earlier (`rrrs audit verify`, the Audit page) and
stored with the backups: the one thing that catches deleting the rows and rolling back the anchor together.

What a verify proves, and what not:
- Without the key, an edit of any row, a deletion anywhere (middle, last rows, all rows), a forged or
  re-chained row (plain SHA-256 or a guessed HMAC) and an edit of the anchor are all detected.
- Restoring an older copy of the whole database (rows and anchor together) is detected only against a
  signed head taken after it; so is re-creating the pre-keyed state (un-recording migration 8).
- Someone with the key AND write access to the database can rewrite everything, signatures included.
- Rows written before migration 8 ("legacy") keep their unkeyed SHA-256 chain; the migration recorded how
  many there were and signed that boundary, and the first keyed row chains onto the last legacy row.
  Without the key, edits of legacy rows are detected, but legacy rows can be rewritten with a recomputed
  SHA-256 chain by someone who also rewrites every row after them: only the external head catches that.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import re
from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core import audit_key
from rrrs_core.errors import RrrsError
from rrrs_core.storage.locking import AUDIT
from rrrs_core.store import next_id, one, scalar, writing

ACTIONS = ("view dyad", "view session", "import", "edit coding", "export csv", "generate pdf", "manage users",
           "view audit", "export audit", "sign in", "role change", "view scoresheet", "download scoresheet",
           "add note", "view caseload", "view reliability", "mark reference",
           "enter self-report", "export self-reports",
           "attach transcript", "view transcript", "search transcripts", "export transcript", "delete transcript",
           "attach recording", "play recording", "decide suggestion")
GENESIS = "0" * 64
CLI_ROLE = "cli"  # rows written by the command line: no sign-in, so the OS account is recorded beside the actor
_ROW = "rrrs-audit-v2"
# One record at a time, in this process and across processes (`store.writing(con, AUDIT)`): two writers
# auditing at once would otherwise both chain onto the same previous row, or one would fail on the anchor.
_HEAD = re.compile(r"rrrs-audit-head:v1:(\d+):(\d+):([0-9a-f]{64}):([0-9a-f]{64})")


def os_account() -> str:
    """The OS account running this process, from the real uid (not $USER/$LOGNAME, which anyone can set)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):  # no passwd entry (containers), or not POSIX
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "unknown"


def _head_mac(secret: bytes, n_rows: int, last_id: int, head: str) -> str:
    return audit_key.mac(secret, "rrrs-audit-head", "v1", n_rows, last_id, head)


def _legacy_mac(secret: bytes, n_rows: int, last_id: int, head: str) -> str:
    return audit_key.mac(secret, "rrrs-audit-legacy", n_rows, last_id, head)


def seal(con: duckdb.DuckDBPyConnection) -> None:
    """Sign the anchor and the legacy boundary that migration 8 recorded (in the migration's transaction),
    creating the installation's key file if there is neither a key file nor $RRRS_AUDIT_KEY."""
    secret = audit_key.key(con, create=True)
    n, last, head, ln, llast, lhead = one(con, "SELECT n_rows, last_id, head, legacy_rows, legacy_last_id, "
                                               "legacy_head FROM trail_anchor")  # type: ignore[misc]
    con.execute("UPDATE trail_anchor SET mac = ?, legacy_mac = ?",
                [_head_mac(secret, n, last, head), _legacy_mac(secret, ln, llast, lhead)])


def _anchor(con: duckdb.DuckDBPyConnection, columns: str) -> tuple | None:
    """The anchor's one row, or None when it is missing, doubled, or its table dropped (all outside rrrs)."""
    try:
        rows = con.execute(f"SELECT {columns} FROM trail_anchor LIMIT 2").fetchall()
    except duckdb.CatalogException:
        return None
    return rows[0] if len(rows) == 1 else None


def record(con: duckdb.DuckDBPyConnection, actor: str, role: str, action: str, target: str | None = None,
           detail: str | None = None, *, os_user: str | None = None) -> None:
    """Append one signed audit row and move the anchor, in one transaction of its own (so a later failure
    never erases the trail)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    secret = audit_key.key(con)
    with writing(con, AUDIT):
        anchor = _anchor(con, "n_rows, head")
        if anchor is None:
            raise RrrsError("The audit trail's anchor row is missing (the database was edited outside rrrs); "
                            "nothing can be audited until an administrator restores it from a backup.")
        n_rows, prev = anchor
        audit_id = next_id(con, "audit", "audit_id")
        at = dt.datetime.now().replace(tzinfo=None)
        row_hash = audit_key.mac(secret, _ROW, audit_id, prev, at.isoformat(timespec="microseconds"), actor,
                                 role, action, target or "", detail or "", os_user or "")
        con.execute(
            "INSERT INTO audit (audit_id, occurred_at, actor, role, action, target, detail, prev_hash, row_hash, "
            "os_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [audit_id, at, actor, role, action, target, detail, prev, row_hash, os_user])
        con.execute("UPDATE trail_anchor SET n_rows = ?, last_id = ?, head = ?, mac = ?",
                    [n_rows + 1, audit_id, row_hash, _head_mac(secret, n_rows + 1, audit_id, row_hash)])


def record_cli(con: duckdb.DuckDBPyConnection, actor: str, action: str, target: str | None = None,
               detail: str | None = None) -> None:
    """A command-line row: the actor as given (`--by`, `--user`: taken on trust), role "cli", and the OS
    account that really ran the command in its own column."""
    record(con, actor, CLI_ROLE, action, target, detail, os_user=os_account())


# Both chains in SQL, over a row and the row_hash expected before it, so verification runs in DuckDB and not
# in a Python loop over a trail that grows with every page view. Rows up to the legacy boundary use the
# unkeyed SHA-256 of before migration 8; later rows HMAC-SHA256 (`audit_key.hmac_sql`), over the same text
# `record` signs.
_FIELDS = ["strftime(occurred_at, '%Y-%m-%dT%H:%M:%S.%f')", "actor", "role", "action", "coalesce(target, '')",
           "coalesce(detail, '')"]
_LEGACY_SQL = "sha256(" + " || chr(31) || ".join(["expected_prev", *_FIELDS]) + ")"
_KEYED_SQL = audit_key.hmac_sql(" || chr(31) || ".join(
    [f"'{_ROW}'", "audit_id::VARCHAR", "expected_prev", *_FIELDS, "coalesce(os_user, '')"]))
_CHAIN_SQL = f"""
    SELECT min(audit_id) FROM (
        SELECT *, coalesce(lag(row_hash) OVER (ORDER BY audit_id), $genesis) AS expected_prev FROM audit)
    WHERE prev_hash IS DISTINCT FROM expected_prev OR row_hash IS DISTINCT FROM
        CASE WHEN audit_id <= $legacy_last THEN {_LEGACY_SQL} ELSE {_KEYED_SQL} END"""


@dataclass(frozen=True)
class Verdict:
    """The outcome of `check`: what does not hold, the first row concerned, and, only when everything holds,
    the signed head of the trail as it is now (to store outside the database)."""

    problems: tuple[str, ...]
    first_bad: int | None
    head: str | None
    n_rows: int
    legacy_rows: int

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_head(text: str) -> tuple[int, int, str, str]:
    """(row count, last id, last row's signature, signature of the head) from a printed signed head."""
    match = _HEAD.fullmatch(text.strip())
    if match is None:
        raise RrrsError("That is not a signed audit head; copy the whole line that starts with "
                        "'rrrs-audit-head:v1:' from `rrrs audit verify` or the Audit page.")
    return int(match[1]), int(match[2]), match[3], match[4]


def _expected(con: duckdb.DuckDBPyConnection, secret: bytes, expect: str) -> list[str]:
    n, last, head, sig = parse_head(expect)
    if sig != _head_mac(secret, n, last, head):
        return ["The expected head's signature does not match this installation's audit key: it was forged, "
                "mistyped, or comes from another installation. Nothing was checked against it."]
    row = one(con, "SELECT row_hash, (SELECT count(*) FROM audit WHERE audit_id <= $id) FROM audit "
                   "WHERE audit_id = $id", {"id": last})  # type: ignore[arg-type]
    if row is None or row[0] != head or row[1] != n:
        return [f"The trail no longer holds the expected head (row {last} as the {n}th row): rows up to it "
                "were deleted or changed since that head was taken."]
    return []


def check(con: duckdb.DuckDBPyConnection, expect: str | None = None) -> Verdict:
    """Verify every row's signature and link, the legacy boundary, the anchor, and (optionally) that the trail
    still holds an earlier signed head at its position."""
    secret = audit_key.key(con)
    anchor = _anchor(con, "n_rows, last_id, head, mac, legacy_rows, legacy_last_id, legacy_head, legacy_mac")
    if anchor is None:
        anchor = (-1, 0, "", "", 0, 0, GENESIS, "")
    n, last, head, sig, ln, llast, lhead, lsig = anchor
    found = one(con, "SELECT count(*), coalesce(max(audit_id), 0), coalesce(arg_max(row_hash, audit_id), $g), "
                     "count(*) FILTER (audit_id <= $l), coalesce(max(audit_id) FILTER (audit_id <= $l), 0), "
                     "coalesce(arg_max(row_hash, audit_id) FILTER (audit_id <= $l), $g) FROM audit",
                {"g": GENESIS, "l": llast})  # type: ignore[arg-type]
    assert found is not None
    broken = scalar(con, _CHAIN_SQL, {"genesis": GENESIS, "legacy_last": llast,  # type: ignore[arg-type]
                                      **audit_key.pads(secret)})
    problems: list[str] = []
    if broken is not None:
        problems.append(f"Row {broken} was changed, or rows just before it were deleted: its signature or its "
                        "link to the row before it does not hold.")
    if n < 0:
        problems.append("The audit anchor is missing, or not a single row: the table trail_anchor was edited "
                        "outside rrrs.")
    elif sig != _head_mac(secret, n, last, head):
        problems.append("The audit anchor (row count and last row) was changed outside rrrs: its signature "
                        "does not match.")
    elif found[:3] != (n, last, head):
        problems.append(f"The trail has {found[0]} rows up to row {found[1]}, but {n} rows up to row {last} were "
                        "written: rows were deleted" + ("." if found[0] < n else " or the anchor replaced."))
    if n >= 0 and (lsig != _legacy_mac(secret, ln, llast, lhead) or found[3:] != (ln, llast, lhead)):
        problems.append("The rows written before keyed auditing (migration 8) are not those it recorded: "
                        "legacy rows or their recorded boundary were changed.")
    expected = _expected(con, secret, expect) if expect is not None else []
    problems += expected
    first_bad = None  # the first row concerned: a broken link, else the last row that should be there
    if broken is not None:
        first_bad = int(broken)
    elif expected and expect is not None:
        first_bad = parse_head(expect)[1]
    elif problems:
        first_bad = max(int(last), 1)
    signed = None if problems else f"rrrs-audit-head:v1:{n}:{last}:{head}:{sig}"
    return Verdict(tuple(problems), first_bad, signed, int(found[0]), int(ln))


def verify(con: duckdb.DuckDBPyConnection) -> int | None:
    """The id of the first row that does not hold (for a truncated trail, the last id that was written), or
    None when the whole trail and its anchor are intact."""
    return check(con).first_bad


def listing(con: duckdb.DuckDBPyConnection, *, actor: str | None = None, action: str | None = None,
            since: dt.date | None = None, until: dt.date | None = None, limit: int = 5000) -> pd.DataFrame:
    """Audit rows, newest first, filtered by the admin's choices (all filters are bound parameters)."""
    return con.execute(
        """
        SELECT audit_id, occurred_at, actor, role, action, target, detail, os_user FROM audit
        WHERE (? IS NULL OR actor = ?) AND (? IS NULL OR action = ?)
          AND (? IS NULL OR occurred_at >= ?::DATE) AND (? IS NULL OR occurred_at < ?::DATE + INTERVAL 1 DAY)
        ORDER BY audit_id DESC LIMIT ?
        """,
        [actor, actor, action, action, since, since, until, until, limit],
    ).df()
