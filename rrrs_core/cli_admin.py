"""`rrrs users` and `rrrs audit`: managing who may sign in, coder assignments, and the audit trail.

Nothing heavy is imported at parse time (`access` pulls in pandas and DuckDB, `importing` the whole
importer): every `rrrs` command, `--help` included, builds this parser, so the store modules load inside
the commands. The parser's role list and id limits are copies, kept equal to the originals by a test.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from rrrs_core.cli_store import connect
from rrrs_core.errors import RrrsError

ROLES = ("admin", "supervisor", "therapist", "coder", "qi")  # == access.ROLES (tests/test_cli_start.py)
MAX_ID, MAX_SUBJECT, MAX_NAME = 64, 254, 128  # == idrules.MAX_ID, MAX_SUBJECT, MAX_NAME (the same test)


def _users(args: argparse.Namespace) -> int:
    from rrrs_core import access, audit

    con = connect(args)
    if args.action == "list":
        print(access.listing(con).to_string(index=False))
    elif args.action == "add":
        subject = access.upsert(con, args.subject, args.role, email=args.email, therapist_id=args.therapist,
                                coder_id=args.coder, display_name=args.name)
        audit.record_cli(con, args.by, "manage users", subject, f"role={args.role} (cli)")
        print(f"{subject} may now sign in as {args.role}.")
    elif args.action == "revoke":
        subject = access.revoke(con, args.subject)
        if subject is None:
            print(f"No user {args.subject.strip()}.")
            return 1
        audit.record_cli(con, args.by, "manage users", subject, "revoked (cli)")
        print(f"{subject} can no longer sign in (takes effect on their next click).")
    elif args.action == "assign":
        access.assign(con, args.coder, args.dyad, args.session)
        audit.record_cli(con, args.by, "manage users", f"{args.dyad}/{args.session}",
                         f"assigned to coder {args.coder}")
        print(f"Coder {args.coder} assigned dyad {args.dyad} session {args.session}.")
    return 0


def _expected_head(value: str | None) -> str | None:
    """`--expect`: the signed head itself, or a file holding it (e.g. the saved output of `audit verify`)."""
    if value is None or value.startswith("rrrs-audit-head:"):
        return value
    path = Path(value)
    if not path.is_file():
        raise RrrsError(f"--expect {value!r} is neither a signed audit head nor a file.")
    found = re.search(r"rrrs-audit-head:\S+", path.read_text(encoding="utf-8", errors="replace"))
    if found is None:
        raise RrrsError(f"{path} holds no signed audit head (a line starting with 'rrrs-audit-head:').")
    return found[0]


def _verify(args: argparse.Namespace) -> int:
    """`rrrs audit verify`: every problem found (exit 1), or the signed head to store with the backups."""
    from rrrs_core import audit, audit_key

    expect = _expected_head(args.expect)
    con = connect(args, read_only=True)
    verdict = audit.check(con, expect)
    if not verdict.ok:
        print("The audit trail was altered:")
        for problem in verdict.problems:
            print(f"  {problem}")
        return 1
    print("The audit trail is intact.")
    still = ", and it still holds the expected head." if expect else "."
    print(f"{verdict.n_rows} row{'' if verdict.n_rows == 1 else 's'} ({verdict.legacy_rows} from before keyed "
          f"auditing){still}")
    print(f"Signed with {audit_key.source(con)}: back it up apart from the database (a restore needs it; "
          "whoever holds it with write access to the database can re-sign the trail).")
    print("Signed head (store it with your backups; check later with --expect):")
    print(verdict.head)
    return 0


def _audit(args: argparse.Namespace) -> int:
    if args.action == "verify":
        return _verify(args)
    from rrrs_core import audit, export

    con = connect(args)
    rows = audit.listing(con, limit=10_000_000)
    audit.record_cli(con, args.by, "export audit", args.out, f"{len(rows)} rows")
    Path(args.out).write_bytes(export.to_csv(rows))
    print(f"Wrote {len(rows)} audit rows to {args.out}")
    return 0


def _plain(max_len: int):
    """An argparse type: plain visible text of at most `max_len` characters (as the importer's ids). The
    rules load when a value is checked, not when the parser is built."""

    def check(value: str) -> str:
        from rrrs_core.importing import idrules

        if problem := idrules.id_problem(value, max_len):
            raise argparse.ArgumentTypeError(problem)
        return value

    return check


def add_admin_parsers(sub: argparse._SubParsersAction, with_db) -> None:  # type: ignore[type-arg]
    users = sub.add_parser("users", help="who may sign in, with which role").add_subparsers(dest="action",
                                                                                           required=True)
    p = with_db(users.add_parser("list", help="list users"))
    p = with_db(users.add_parser("add", help="add or change a user"))
    p.add_argument("subject", type=_plain(MAX_SUBJECT),
                   help="the identity provider's subject (or e-mail) for this person")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--therapist", type=_plain(MAX_ID), help="therapist id (supervisors and therapists)")
    p.add_argument("--coder", type=_plain(MAX_ID), help="coder id (coders)")
    p.add_argument("--email", type=_plain(MAX_SUBJECT))
    p.add_argument("--name", type=_plain(MAX_NAME), help="display name")
    p = with_db(users.add_parser("revoke", help="stop a user signing in"))
    p.add_argument("subject")
    p = with_db(users.add_parser("assign", help="assign a session to a coder"))
    p.add_argument("--coder", required=True, type=_plain(MAX_ID))
    p.add_argument("--dyad", required=True, type=_plain(MAX_ID))
    p.add_argument("--session", required=True, type=int)
    for name in ("list", "add", "revoke", "assign"):
        users.choices[name].set_defaults(func=_users)
        users.choices[name].add_argument("--by", default="cli", help="who is making the change (audited as "
                                         "given, beside the OS account that ran the command)")

    aud = sub.add_parser("audit", help="the audit trail").add_subparsers(dest="action", required=True)
    p = with_db(aud.add_parser("verify", help="check that no audit row was altered or deleted; print the signed "
                                              "head to store with the backups"))
    p.add_argument("--expect", metavar="HEAD_OR_FILE",
                   help="a signed head printed earlier (or a file holding it): the trail must still hold it")
    p.set_defaults(func=_audit)
    p = with_db(aud.add_parser("export", help="write the audit trail as CSV (audited)"))
    p.add_argument("--out", required=True)
    p.add_argument("--by", default="cli", help="who is exporting (audited, with the OS account)")
    p.set_defaults(func=_audit)
