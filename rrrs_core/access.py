"""Who may see what: principals from the database, their roles, the pages and the data scope each gets.

The role is read from the `principal` table on every app run, so revoking a role takes effect at once.
Scoping is enforced where data is read (every identified query takes the Scope from `scope_for`);
pages are only registered for roles allowed to use them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core.errors import PermissionDeniedError, RrrsError
from rrrs_core.queries.directory import supervisor_scope, therapist_scope
from rrrs_core.scope import CLINIC, Scope
from rrrs_core.store import one, scalar, writing

ROLES = ("admin", "supervisor", "therapist", "coder", "qi")
DASHBOARD = ("caseload", "dyad", "session", "contribution")
PAGES: dict[str, tuple[str, ...]] = {
    "admin": (*DASHBOARD, "clinic", "data", "scoresheet", "reliability", "audit", "users"),
    "supervisor": (*DASHBOARD, "clinic", "data", "scoresheet", "reliability"),
    "therapist": DASHBOARD,
    "coder": ("scoresheet", "reliability"),
    "qi": ("clinic",),
}
NOBODY = Scope.therapists([], "No identified data")


@dataclass(frozen=True)
class Principal:
    """A signed-in person as the database knows them."""

    subject: str
    role: str
    therapist_id: str | None = None
    coder_id: str | None = None
    display_name: str | None = None
    demo: bool = False  # demo mode (no sign-in): never looked up in, nor audited as, the principal table

    @property
    def name(self) -> str:
        return self.display_name or self.subject

    def may(self, page: str) -> bool:
        return page in PAGES.get(self.role, ())


DEMO = Principal("demo", "admin", display_name="Demo user (no sign-in)", demo=True)


def demo_as(con: duckdb.DuckDBPyConnection, role: str) -> Principal:
    """The demo user viewing the app as `role` (demo mode only, rrrs_ui.demo_view): linked to the first
    supervisor, therapist (one who supervises nobody) or coder (one with assigned sessions first) in the store,
    so the role's pages, scope and permit apply exactly as for a signed-in user with that role and link."""
    if role == "admin":
        return DEMO
    if role not in ROLES:
        raise RrrsError(f"Unknown role '{role}'; roles are {', '.join(ROLES)}.")
    def first(*queries: str) -> str | None:
        return next((str(v) for q in queries if (v := scalar(con, q)) is not None), None)

    therapist = coder = None
    if role == "supervisor":
        therapist = first("SELECT min(supervisor_id) FROM therapist WHERE supervisor_id IN "
                          "(SELECT therapist_id FROM therapist)")
    elif role == "therapist":
        therapist = first("SELECT min(therapist_id) FROM dyad WHERE therapist_id NOT IN "
                          "(SELECT supervisor_id FROM therapist WHERE supervisor_id IS NOT NULL)",
                          "SELECT min(therapist_id) FROM dyad")
    elif role == "coder":
        coder = first("SELECT min(coder_id) FROM coding_assignment", "SELECT min(coder_id) FROM coding")
    link = therapist or coder
    as_whom = f"{role} {link}" if link else role
    return Principal(f"demo (as {as_whom})", role, therapist, coder, f"Demo user viewing as {as_whom}", demo=True)


MAX_PRINCIPAL = 254  # the longest e-mail address SMTP allows; subjects are far shorter in practice
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


# The same principal: the normalised subject, or a row stored before normalisation (mixed case, spaces).
_SAME_SUBJECT = "(subject = ? OR (? AND lower(trim(subject)) = ?))"


def looks_like_email(value: str) -> bool:
    return bool(_EMAIL.fullmatch(value))


def normalise(value: str | None, what: str = "subject") -> str:
    """The one way a subject or e-mail is stored and matched: stripped; e-mail addresses lower-cased.
    Refuses empty, over-long and control-character values (they cannot come from a real sign-in)."""
    text = (value or "").strip()
    if not text:
        raise RrrsError(f"A principal needs a {what} (the sign-in identity or e-mail).")
    if len(text) > MAX_PRINCIPAL:
        raise RrrsError(f"The {what} is {len(text)} characters long; at most {MAX_PRINCIPAL} are allowed.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        raise RrrsError(f"The {what} {text.encode('unicode_escape').decode()!r} holds control characters.")
    if what == "e-mail" and not looks_like_email(text):
        raise RrrsError(f"'{text}' is not an e-mail address.")
    return text.lower() if looks_like_email(text) else text


def resolve(con: duckdb.DuckDBPyConnection, subject: str | None, email: str | None = None, *,
            email_verified: bool = False) -> Principal | None:
    """Match an identity by subject, else by e-mail, but only an e-mail the identity provider verified (an
    unverified address is whatever the account holder typed). Inactive principals get nothing."""
    try:
        subject = normalise(subject) if subject else None
        email = normalise(email, "e-mail") if email and email_verified else None
    except RrrsError:
        return None  # an identity no principal can have
    if subject is None and email is None:
        return None
    # lower(...): rows stored before principals were normalised; an e-mail also matches a subject that is
    # that address (rows added as `rrrs users add carol@...` before the e-mail column was filled from it).
    row = one(con, "SELECT subject, role, therapist_id, coder_id, display_name FROM principal WHERE active AND "
                   "(subject = ? OR (? AND lower(trim(subject)) = ?) OR "
                   "(? IS NOT NULL AND (lower(email) = ? OR lower(trim(subject)) = ?))) "
                   "ORDER BY subject = ? DESC LIMIT 1",
              [subject, bool(subject and looks_like_email(subject)), subject, email, email, email, subject])
    return Principal(*row) if row else None


def scope_for(con: duckdb.DuckDBPyConnection, who: Principal) -> Scope:
    """The identified data a principal may read; qi and coder roles read none through the dashboards."""
    if who.role == "admin":
        return CLINIC
    if who.role == "supervisor" and who.therapist_id:
        return supervisor_scope(con, who.therapist_id)
    if who.role == "therapist" and who.therapist_id:
        return therapist_scope(who.therapist_id)
    return NOBODY


def require(who: Principal, page: str) -> None:
    if not who.may(page):
        raise PermissionDeniedError(f"Your role ({who.role}) does not give access to {page}.")


def upsert(con: duckdb.DuckDBPyConnection, subject: str, role: str, *, email: str | None = None,
           therapist_id: str | None = None, coder_id: str | None = None, display_name: str | None = None,
           active: bool = True) -> str:
    """Create or change a principal (admin action); validates the role and the therapist link. A subject
    that is an e-mail address is also the principal's e-mail unless another is given (the provider's `sub`
    is rarely the address, so sign-in matches on the verified e-mail). Returns the stored subject."""
    if role not in ROLES:
        raise RrrsError(f"Unknown role '{role}'; roles are {', '.join(ROLES)}.")
    subject = normalise(subject)
    email = normalise(email, "e-mail") if email and email.strip() else (subject if looks_like_email(subject)
                                                                       else None)
    if role in ("supervisor", "therapist") and not therapist_id:
        raise RrrsError(f"A {role} must be linked to a therapist id.")
    if therapist_id and not scalar(con, "SELECT count(*) FROM therapist WHERE therapist_id = ?", [therapist_id]):
        raise RrrsError(f"No therapist '{therapist_id}' in the database.")
    with writing(con):
        con.execute(f"DELETE FROM principal WHERE {_SAME_SUBJECT}", [subject, looks_like_email(subject), subject])
        con.execute("INSERT INTO principal VALUES (?, ?, ?, ?, ?, ?, ?, current_localtimestamp())",
                    [subject, email, display_name, role, therapist_id, coder_id, active])
    return subject


def find(con: duckdb.DuckDBPyConnection, subject: str) -> tuple | None:
    """(subject, role, email, therapist_id, coder_id, display_name) of a principal, found the way `upsert`
    stored it; None when there is none."""
    subject = normalise(subject)
    return one(con, "SELECT subject, role, email, therapist_id, coder_id, display_name FROM principal "
                    f"WHERE {_SAME_SUBJECT} ORDER BY subject = ? DESC LIMIT 1",
               [subject, looks_like_email(subject), subject, subject])


def revoke(con: duckdb.DuckDBPyConnection, subject: str) -> str | None:
    """Stop a principal signing in (kept, inactive); returns the stored subject, None when there is none."""
    row = find(con, subject)
    if row is None:
        return None
    return upsert(con, row[0], row[1], email=row[2], therapist_id=row[3], coder_id=row[4], display_name=row[5],
                  active=False)


def listing(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("SELECT subject, email, display_name, role, therapist_id, coder_id, active, created_at "
                       "FROM principal ORDER BY role, subject").df()


def has_real_data(con: duckdb.DuckDBPyConnection) -> bool:
    """True when anything but synthetic demo data was ever imported (demo mode must then refuse to run)."""
    return bool(scalar(con, "SELECT count(*) FROM import_batch WHERE NOT synthetic"))


def assign(con: duckdb.DuckDBPyConnection, coder_id: str, dyad_id: str, session_number: int) -> None:
    """Give a coder a session to code (admins/supervisors); coders see only their assigned sessions."""
    if not scalar(con, "SELECT count(*) FROM session WHERE dyad_id = ? AND session_number = ?",
                  [dyad_id, session_number]):
        raise RrrsError(f"Dyad {dyad_id} has no session {session_number}.")
    with writing(con):  # at most one row per assignment: checked under the write lock (no key constraint)
        con.execute("INSERT INTO coding_assignment SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM "
                    "coding_assignment WHERE dyad_id = $1 AND session_number = $2 AND coder_id = $3)",
                    [dyad_id, session_number, coder_id])
