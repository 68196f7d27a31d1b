"""Who may open and change which codings and notes: the dashboards' scope, applied to writes and side doors.

Reads of identified data take a `Scope` (rrrs_core.scope); the scoresheet and supervision notes also write,
and may create a dyad, a therapist or a session, so they take a `Permit`: the principal's scope plus what they
may create. The checks live here, in the data layer, and the write functions call them themselves
(`coding_edit.save_coding`, `coding_history.restore`, `notes.add`, ...), so a hidden widget is never the only
guard. A dyad that does not exist and one outside the permit give the same NotFoundError message.

    p = permits.for_principal(con, who, synthetic_only=...)
    coding_edit.save_coding(con, draft, user=..., expected_version=..., permit=p)
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from rrrs_core.access import NOBODY, Principal, scope_for
from rrrs_core.errors import NotFoundError, PermissionDeniedError
from rrrs_core.scope import CLINIC, Scope
from rrrs_core.store import scalar

DEMO_NO_CREATE = ("Demo mode takes no new dyads, therapists, sessions or patients typed by hand: there is no "
                  "sign-in to guard real data. Code a session of the demo clinic, or configure sign-in "
                  "(see README) to enter real data.")
CODER_NO_CREATE = "Coders code the sessions assigned to them; ask a supervisor to add a dyad or session."
ROLE_NO_CREATE = "Your role does not add dyads, therapists or sessions."
NO_CODING = "Your role reads codings within your scope; it does not save, restore or import them."
CODER_NO_NOTES = ("Coders code blind: supervision notes are neither shown to coders nor added by them. Ask "
                  "your supervisor to add the note.")


@dataclass(frozen=True)
class Permit:
    """What one principal may open and change through the scoresheet and supervision notes.

    `coder_id` set: a coder, who opens and saves only the sessions assigned to them, under their own coder id
    (their `scope` is not used). `supervisor_id` set: a new therapist must be supervised by this therapist, so
    that it lands inside the creator's scope. `no_create` says why this principal may not create a dyad,
    therapist or session (None: they may, within their scope). `codes` False: the principal reads codings in
    scope but never writes one (a therapist: README, "Who may read and write what")."""

    scope: Scope = CLINIC
    coder_id: str | None = None
    supervisor_id: str | None = None
    no_create: str | None = None
    codes: bool = True

    @property
    def may_create(self) -> bool:
        return self.no_create is None

    @property
    def may_use_notes(self) -> bool:
        """Coders code blind: they neither read nor add supervision notes."""
        return self.coder_id is None


OPEN = Permit()  # the whole clinic, may create: the CLI, imports and tests; the app passes the principal's
NOTHING = Permit(NOBODY, no_create=ROLE_NO_CREATE, codes=False)


def for_principal(con: duckdb.DuckDBPyConnection, who: Principal, *, synthetic_only: bool = False) -> Permit:
    """The permit of a signed-in principal (or the demo user): their dashboard scope for reads and writes."""
    demo = DEMO_NO_CREATE if synthetic_only else None
    if who.role == "coder":
        return Permit(NOBODY, coder_id=who.coder_id, no_create=CODER_NO_CREATE) if who.coder_id else NOTHING
    if who.role == "admin":
        return Permit(CLINIC, no_create=demo)
    if who.role == "supervisor" and who.therapist_id:
        return Permit(scope_for(con, who), supervisor_id=who.therapist_id, no_create=demo)
    if who.role == "therapist" and who.therapist_id:
        return Permit(scope_for(con, who), no_create=ROLE_NO_CREATE, codes=False)
    return NOTHING


def not_found(dyad_id: str, session_number: int | None = None) -> NotFoundError:
    """The one message for 'does not exist' and 'not yours': the two must not be told apart."""
    if session_number is None:
        return NotFoundError(f"No dyad {dyad_id} (not found or not permitted).")
    return NotFoundError(f"Dyad {dyad_id} has no session {session_number} (not found or not permitted).")


@dataclass(frozen=True)
class Facts:
    """What the permit checks need to know about one dyad (and session), asked in one query: on the shared
    store every query costs milliseconds of DuckLake metadata work, and a save used to ask 21 small ones."""

    therapist: str | None  # the dyad's therapist; None: no such dyad
    session: bool  # the session is stored
    assigned_dyad: bool = False  # for a coder: some session of the dyad is assigned to them
    assigned_session: bool = False  # for a coder: this session is assigned to them


def facts(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int | None = None,
          coder_id: str | None = None) -> Facts:
    """The dyad's therapist, whether the session is stored and, for a coder, what is assigned to them."""
    sql = ("SELECT (SELECT list(therapist_id) FROM dyad WHERE dyad_id = $d), "
           "EXISTS (SELECT 1 FROM session WHERE dyad_id = $d AND session_number = $s)")
    params: dict[str, object] = {"d": dyad_id, "s": None if session_number is None else int(session_number)}
    if coder_id is not None:
        sql += (", (SELECT count(*) > 0 FROM coding_assignment WHERE coder_id = $c AND dyad_id = $d), "
                "(SELECT count(*) > 0 FROM coding_assignment WHERE coder_id = $c AND dyad_id = $d "
                "AND session_number = $s)")
        params["c"] = coder_id
    row = con.execute(sql, params).fetchall()[0]
    therapist = None if row[0] is None else str(row[0][0])
    return Facts(therapist, bool(row[1]), *(bool(v) for v in row[2:]))


def check(p: Permit, dyad_id: str, session_number: int | None, f: Facts) -> str:
    """`require` on facts already asked (`facts`, or a query of the caller's that read the same rows)."""
    if p.coder_id is not None:
        if f.therapist is None or not f.assigned_dyad:
            raise not_found(dyad_id)
        if session_number is not None and not f.assigned_session:
            raise not_found(dyad_id, session_number)
        return f.therapist
    if f.therapist is None or not p.scope.allows(f.therapist):
        raise not_found(dyad_id)
    if session_number is not None and not f.session:
        raise not_found(dyad_id, session_number)
    return f.therapist


def require(con: duckdb.DuckDBPyConnection, p: Permit, dyad_id: str, session_number: int | None = None) -> str:
    """A stored dyad (and session) the permit reaches; returns the dyad's therapist. NotFoundError otherwise,
    with the same message whether it is missing or out of reach."""
    return check(p, dyad_id, session_number, facts(con, dyad_id, session_number, p.coder_id))


def _require_create(p: Permit, dyad_id: str, session_number: int | None = None) -> None:
    if p.may_create:
        return
    if p.coder_id is not None or p.no_create == ROLE_NO_CREATE:
        raise not_found(dyad_id, session_number)  # no hint that the id is free
    raise PermissionDeniedError(p.no_create)


def require_coding(con: duckdb.DuckDBPyConnection, p: Permit, dyad_id: str, session_number: int,
                   coder_id: str, *, known: Facts | None = None) -> Facts:
    """Opening or saving the coding (dyad, session, coder): a stored session the permit reaches (for a coder:
    assigned to them, under their own coder id), or a new dyad or session the permit may create. Returns
    the facts it checked (one query), so the caller need not ask again whether the dyad exists. `known`:
    facts the caller read in this transaction (never for a coder's permit, which needs assignments)."""
    if p.coder_id is not None and coder_id != p.coder_id:
        raise PermissionDeniedError(f"You code as {p.coder_id}: you may open and save only your own codings, "
                                    f"not those of coder {coder_id}.")
    if known is not None and p.coder_id is not None:
        raise ValueError("a coder's permit is checked on their assignments, which `known` does not hold")
    f = known if known is not None else facts(con, dyad_id, session_number, p.coder_id)
    if p.coder_id is None and f.therapist is None:
        _require_create(p, dyad_id)
        return f
    check(p, dyad_id, None, f)
    if p.coder_id is None and not f.session:
        _require_create(p, dyad_id, session_number)
        return f
    check(p, dyad_id, session_number, f)
    return f


def require_coding_write(con: duckdb.DuckDBPyConnection, p: Permit, dyad_id: str, session_number: int,
                         coder_id: str) -> Facts:
    """Saving or restoring a coding: `require_coding`, and the permit must write codings at all (a therapist's
    and a qi user's do not). Refused before anything about the dyad is looked up."""
    if not p.codes:
        raise PermissionDeniedError(NO_CODING)
    return require_coding(con, p, dyad_id, session_number, coder_id)


def require_notes(con: duckdb.DuckDBPyConnection, p: Permit, dyad_id: str,
                  session_number: int | None = None) -> None:
    """Reading or adding supervision notes: never a coder's permit, otherwise a dyad (and session) in scope."""
    if not p.may_use_notes:
        raise PermissionDeniedError(CODER_NO_NOTES)
    require(con, p, dyad_id, session_number)


def is_free(con: duckdb.DuckDBPyConnection, dyad_id: str) -> bool:
    """No dyad anywhere has this id (ids are unique across the clinic), so it may be offered as a new one."""
    return facts(con, dyad_id).therapist is None


def _therapist_row(con: duckdb.DuckDBPyConnection, therapist_id: str) -> bool:
    return bool(scalar(con, "SELECT count(*) FROM therapist WHERE therapist_id = ?", [therapist_id]))


def require_new_dyad(con: duckdb.DuckDBPyConnection, p: Permit, dyad_id: str, therapist_id: str,
                     supervisor_id: str | None = None) -> None:
    """Creating dyad `dyad_id` under `therapist_id` (new if not stored, with `supervisor_id`): the id must be
    free (an id outside the permit is 'not found or not permitted', never offered as new), the therapist in
    scope, and a new therapist supervised by the creator so that it stays in their scope."""
    if facts(con, dyad_id).therapist is not None:
        try:
            require(con, p, dyad_id)
        except NotFoundError:
            raise NotFoundError(f"Dyad id {dyad_id} cannot be used (not found or not permitted): choose another "
                                "id.") from None
        return  # in reach: the caller says it exists and offers it in the list
    _require_create(p, dyad_id)
    if _therapist_row(con, therapist_id):
        if not p.scope.allows(therapist_id):
            raise NotFoundError(f"No therapist {therapist_id} (not found or not permitted).")
    elif not p.scope.is_clinic and (p.supervisor_id is None or supervisor_id != p.supervisor_id):
        raise PermissionDeniedError(f"A therapist you add must be supervised by you ({p.supervisor_id or 'none'})"
                                    f" so that their dyads stay in your scope; therapist {therapist_id} is not.")
    if supervisor_id and not _therapist_row(con, supervisor_id) and not p.scope.is_clinic:
        raise NotFoundError(f"No therapist {supervisor_id} (not found or not permitted).")
