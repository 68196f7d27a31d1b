"""`rrrs users` and `rrrs audit`: managing who may sign in, coder assignments, and the audit trail."""

from __future__ import annotations

import argparse
from pathlib import Path

from rrrs_core import access, audit, export, store
from rrrs_core.importing import idrules


def _users(args: argparse.Namespace) -> int:
    con = store.connect(args.db)
    if args.action == "list":
        print(access.listing(con).to_string(index=False))
    elif args.action == "add":
        access.upsert(con, args.subject, args.role, email=args.email, therapist_id=args.therapist,
                      coder_id=args.coder, display_name=args.name)
        audit.record(con, args.by, "admin", "manage users", args.subject, f"role={args.role} (cli)")
        print(f"{args.subject} may now sign in as {args.role}.")
    elif args.action == "revoke":
        row = store.one(con, "SELECT role, email, therapist_id, coder_id, display_name FROM principal "
                             "WHERE subject = ?", [args.subject])
        if row is None:
            print(f"No user {args.subject}.")
            return 1
        access.upsert(con, args.subject, row[0], email=row[1], therapist_id=row[2], coder_id=row[3],
                      display_name=row[4], active=False)
        audit.record(con, args.by, "admin", "manage users", args.subject, "revoked (cli)")
        print(f"{args.subject} can no longer sign in (takes effect on their next click).")
    elif args.action == "assign":
        access.assign(con, args.coder, args.dyad, args.session)
        print(f"Coder {args.coder} assigned dyad {args.dyad} session {args.session}.")
    return 0


def _audit(args: argparse.Namespace) -> int:
    con = store.connect(args.db, read_only=True)
    if args.action == "verify":
        broken = audit.verify(con)
        print("The audit trail is intact." if broken is None else f"The audit trail was altered at row {broken}.")
        return 0 if broken is None else 1
    rows = audit.listing(con, limit=10_000_000)
    Path(args.out).write_bytes(export.to_csv(rows))
    print(f"Wrote {len(rows)} audit rows to {args.out}")
    return 0


def _plain(max_len: int):
    """An argparse type: plain visible text of at most `max_len` characters (as the importer's ids)."""

    def check(value: str) -> str:
        if problem := idrules.id_problem(value, max_len):
            raise argparse.ArgumentTypeError(problem)
        return value

    return check


def add_admin_parsers(sub: argparse._SubParsersAction, with_db) -> None:  # type: ignore[type-arg]
    users = sub.add_parser("users", help="who may sign in, with which role").add_subparsers(dest="action",
                                                                                           required=True)
    p = with_db(users.add_parser("list", help="list users"))
    p = with_db(users.add_parser("add", help="add or change a user"))
    p.add_argument("subject", type=_plain(idrules.MAX_SUBJECT),
                   help="the identity provider's subject (or e-mail) for this person")
    p.add_argument("--role", required=True, choices=access.ROLES)
    p.add_argument("--therapist", type=_plain(idrules.MAX_ID), help="therapist id (supervisors and therapists)")
    p.add_argument("--coder", type=_plain(idrules.MAX_ID), help="coder id (coders)")
    p.add_argument("--email", type=_plain(idrules.MAX_SUBJECT))
    p.add_argument("--name", type=_plain(idrules.MAX_NAME), help="display name")
    p = with_db(users.add_parser("revoke", help="stop a user signing in"))
    p.add_argument("subject")
    p = with_db(users.add_parser("assign", help="assign a session to a coder"))
    p.add_argument("--coder", required=True)
    p.add_argument("--dyad", required=True)
    p.add_argument("--session", required=True, type=int)
    for name in ("list", "add", "revoke", "assign"):
        users.choices[name].set_defaults(func=_users)
        users.choices[name].add_argument("--by", default="cli", help="who is making the change (audited)")

    aud = sub.add_parser("audit", help="the audit trail").add_subparsers(dest="action", required=True)
    with_db(aud.add_parser("verify", help="check that no audit row was altered")).set_defaults(func=_audit)
    p = with_db(aud.add_parser("export", help="write the audit trail as CSV"))
    p.add_argument("--out", required=True)
    p.set_defaults(func=_audit)
