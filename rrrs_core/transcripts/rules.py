"""Who may read, attach and delete transcripts and recordings, and how each access is audited.

A transcript is the session in words, so it is scoped exactly like the session (`permits.require`): admins
the clinic, supervisors their own and their trainees' dyads, therapists their own, coders the sessions
assigned to them (the scoresheet shows the segment's words while they code). QI users read aggregates only:
they never see a transcript, not even that one exists (PermissionDeniedError before any lookup).
Attaching: whoever may see the session and records it (admin, supervisor, therapist), never a coder or qi.
Deleting: admins only. The command line (role "cli") acts for the clinic, like every other `rrrs` command,
and is audited with the OS account that ran it.
"""

from __future__ import annotations

import duckdb

from rrrs_core import audit, permits
from rrrs_core.access import Principal
from rrrs_core.errors import PermissionDeniedError
from rrrs_core.permits import OPEN, Permit

QI_NO_TRANSCRIPTS = "Transcripts and recordings are clinical text: the QI role sees aggregates only, never them."
NO_ATTACH = "Attaching a transcript or recording is for the session's therapist, their supervisor or an admin."
ADMIN_ONLY = "Only an administrator may delete a session's transcript."
DEMO_NO_TRANSCRIPTS = ("Demo mode (no sign-in) takes only the demo's synthetic data, and a transcript is clinical "
                       "text: configure sign-in (README, 'Sign-in and roles') to attach transcripts.")
ATTACHERS = ("admin", "supervisor", "therapist", audit.CLI_ROLE)


def cli(by: str = "cli") -> Principal:
    """The principal of an `rrrs` command: the clinic's whole store, audited as role "cli" with the OS user."""
    return Principal(by, audit.CLI_ROLE)


def permit(con: duckdb.DuckDBPyConnection, who: Principal) -> Permit:
    return OPEN if who.role == audit.CLI_ROLE else permits.for_principal(con, who)


def require_read(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str,
                 session_number: int | None = None) -> Permit:
    """The principal's permit when they may read this session's (or dyad's) transcripts; raises otherwise,
    with the same 'not found or not permitted' message for a missing session and one out of scope."""
    if who.role == "qi":
        raise PermissionDeniedError(QI_NO_TRANSCRIPTS)
    p = permit(con, who)
    permits.require(con, p, dyad_id, session_number)
    return p


def require_attach(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, session_number: int) -> None:
    if who.role == "qi":
        raise PermissionDeniedError(QI_NO_TRANSCRIPTS)
    if who.role not in ATTACHERS:
        raise PermissionDeniedError(NO_ATTACH)
    permits.require(con, permit(con, who), dyad_id, session_number)


def require_admin(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, session_number: int) -> None:
    if who.role not in ("admin", audit.CLI_ROLE):
        raise PermissionDeniedError(ADMIN_ONLY)
    permits.require(con, permit(con, who), dyad_id, session_number)


def record(con: duckdb.DuckDBPyConnection, who: Principal, action: str, target: str, detail: str) -> None:
    """One audit row: a command-line principal's with the OS account, any other as signed in."""
    if who.role == audit.CLI_ROLE:
        audit.record_cli(con, who.subject, action, target, detail)
    else:
        audit.record(con, who.subject, who.role, action, target, detail)
