"""Who may see what: principals from the database, their roles, the pages and the data scope each gets.

The role is read from the `principal` table on every app run, so revoking a role takes effect at once.
Scoping is enforced where data is read (every identified query takes the Scope from `scope_for`);
pages are only registered for roles allowed to use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core.errors import PermissionDeniedError, RrrsError
from rrrs_core.queries.directory import supervisor_scope, therapist_scope
from rrrs_core.scope import CLINIC, Scope
from rrrs_core.store import one, scalar, transaction

ROLES = ("admin", "supervisor", "therapist", "coder", "qi")
DASHBOARD = ("caseload", "dyad", "session", "contribution")
PAGES: dict[str, tuple[str, ...]] = {
    "admin": (*DASHBOARD, "clinic", "data", "scoresheet", "audit", "users"),
    "supervisor": (*DASHBOARD, "clinic", "data", "scoresheet"),
    "therapist": DASHBOARD,
    "coder": ("scoresheet",),
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

    @property
    def name(self) -> str:
        return self.display_name or self.subject

    def may(self, page: str) -> bool:
        return page in PAGES.get(self.role, ())


DEMO = Principal("demo", "admin", display_name="Demo user (no sign-in)")


def resolve(con: duckdb.DuckDBPyConnection, subject: str | None, email: str | None = None) -> Principal | None:
    """Match an identity by subject, then by e-mail (case-insensitive); inactive principals get nothing."""
    row = one(con, "SELECT subject, role, therapist_id, coder_id, display_name FROM principal WHERE active AND "
                   "(subject = ? OR (? IS NOT NULL AND lower(email) = lower(?))) ORDER BY subject = ? DESC LIMIT 1",
              [subject, email, email, subject])
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
           active: bool = True) -> None:
    """Create or change a principal (admin action); validates the role and the therapist link."""
    if role not in ROLES:
        raise RrrsError(f"Unknown role '{role}'; roles are {', '.join(ROLES)}.")
    if not subject.strip():
        raise RrrsError("A principal needs a subject (the sign-in identity or e-mail).")
    if role in ("supervisor", "therapist") and not therapist_id:
        raise RrrsError(f"A {role} must be linked to a therapist id.")
    if therapist_id and not scalar(con, "SELECT count(*) FROM therapist WHERE therapist_id = ?", [therapist_id]):
        raise RrrsError(f"No therapist '{therapist_id}' in the database.")
    with transaction(con):
        con.execute("DELETE FROM principal WHERE subject = ?", [subject])
        con.execute("INSERT INTO principal VALUES (?, ?, ?, ?, ?, ?, ?, current_localtimestamp())",
                    [subject.strip(), email, display_name, role, therapist_id, coder_id, active])


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
    with transaction(con):
        con.execute("INSERT OR IGNORE INTO coding_assignment VALUES (?, ?, ?)", [dyad_id, session_number, coder_id])
