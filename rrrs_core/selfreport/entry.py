"""Entering one paper form after a session: checked like an import, scoped like the scoresheet, audited.

Who may enter: an administrator for any dyad; a therapist (or a supervisor) for the dyads they treat
themselves: the person who handed the patient the form. Supervisors do not enter forms for their trainees'
patients, coders never see self-reports (they code blind), qi users read only aggregates. A dyad that does
not exist and one out of reach give the same "not found or not permitted" message (`permits.not_found`).

The dyad must exist; the session need not (most self-reported sessions are never coded). Saving a form that
is already stored replaces it whole (a correction); saving the same answers again changes nothing. Every save
that writes is audited ("enter self-report").
"""

from __future__ import annotations

import datetime as dt
import numbers
from dataclasses import dataclass, field

import duckdb

from rrrs_core import audit, audit_key
from rrrs_core.access import Principal
from rrrs_core.errors import PermissionDeniedError, Problem, ValidationError
from rrrs_core.importing.format import FALSE_WORDS, TRUE_WORDS
from rrrs_core.permits import not_found
from rrrs_core.selfreport.definition import Instrument, fmt
from rrrs_core.selfreport.schema import catalog
from rrrs_core.store import one, writing

SOURCE = "self-report form"
MAX_SESSION = 100_000
NO_ENTRY = "Your role does not enter self-reports: therapists enter their own patients' forms, administrators any."


@dataclass(frozen=True)
class SavedForm:
    """What a save did: `status` is "new", "replaced" or "unchanged"; `alerts` are the rules that fire for
    this form's session after the save."""

    dyad_id: str
    session_number: int
    respondent: str
    instrument: str
    version: str
    status: str
    alerts: list[str] = field(default_factory=list)


def may_enter(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str) -> None:
    """Raise unless `who` may enter forms for this dyad (see the module docstring)."""
    if who.role not in ("admin", "therapist", "supervisor"):
        raise PermissionDeniedError(NO_ENTRY)
    row = one(con, "SELECT therapist_id FROM dyad WHERE dyad_id = ?", [dyad_id])
    if row is None or (who.role != "admin" and (not who.therapist_id or row[0] != who.therapist_id)):
        raise not_found(dyad_id)


def _number(value: object, yes_no: bool) -> float | None:
    """An answer as a number; None when left empty (None, '', NaN), NaN when it is not a number."""
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        return None if value != value else float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return None
        if yes_no and text in TRUE_WORDS:
            return 1.0
        if yes_no and text in FALSE_WORDS:
            return 0.0
        try:
            return float(text.replace(",", "."))
        except ValueError:
            pass
    return float("nan")


def check(inst: Instrument | None, instrument: str, session_number: object, respondent: str,
          values: dict[str, object], completed_on: dt.date | None) -> dict[str, float]:
    """The answers as numbers, or ValidationError naming each problem (item label and value)."""
    problems: list[Problem] = []

    def bad(column: str, value: object, message: str) -> None:
        problems.append(Problem("error", SOURCE, None, column, None if value is None else str(value), message))

    if inst is None:
        raise ValidationError([Problem("error", SOURCE, None, "instrument", instrument, "unknown instrument")])
    if isinstance(session_number, bool) or not isinstance(session_number, numbers.Integral) \
            or not 1 <= int(session_number) <= MAX_SESSION:
        bad("session_number", session_number, f"must be a whole number from 1 to {MAX_SESSION}")
    if respondent not in inst.respondents:
        bad("respondent", respondent, f"{inst.title} is answered by: {', '.join(inst.respondents)}")
    if completed_on is not None and completed_on > dt.date.today() + dt.timedelta(days=1):
        bad("completed_on", completed_on, "is in the future")
    out: dict[str, float] = {}
    for key in values:
        if key not in inst.item_keys:
            bad(str(key), values[key], f"no such item in {inst.title}; items: {', '.join(inst.item_keys)}")
    for item in inst.items:
        value = _number(values.get(item.key), item.yes_no)
        if value is None:
            if item.required:
                bad(item.label, None, "is required")
            continue
        if value != value:
            bad(item.label, values.get(item.key), "yes or no" if item.yes_no else "must be a number")
            continue
        if why := item.problem(value):
            bad(item.label, fmt(value), why)
            continue
        out[item.key] = round(value, 9)
    if problems:
        raise ValidationError(problems)
    return out


def save_form(con: duckdb.DuckDBPyConnection, principal: Principal, dyad_id: str, session_number: int,
              respondent: str, instrument: str, values: dict[str, object],
              completed_on: dt.date | None = None) -> SavedForm:
    """Store one form (item key -> value; '', None: left empty; yes/no items take yes/no, true/false, 1/0)."""
    may_enter(con, principal, dyad_id)  # before anything is checked: no message about others' dyads
    inst = catalog(con).current.get(instrument)
    answers = check(inst, instrument, session_number, respondent, values, completed_on)
    assert inst is not None
    audit_key.key(con)  # a save that could not be audited is refused before it writes
    key = [dyad_id, int(session_number), respondent, instrument]
    where = "dyad_id = ? AND session_number = ? AND respondent = ? AND instrument = ?"
    with writing(con):
        may_enter(con, principal, dyad_id)
        stored = con.execute(f"SELECT item, value, completed_on, instrument_version FROM selfreport WHERE {where}",
                             key).fetchall()
        same = (sorted((i, v) for i, v, _, _ in stored) == sorted(answers.items())
                and all(c == completed_on and ver == inst.version for _, _, c, ver in stored))
        status = "unchanged" if stored and same else "replaced" if stored else "new"
        if status != "unchanged":
            con.execute(f"DELETE FROM selfreport WHERE {where}", key)
            con.executemany(
                "INSERT INTO selfreport VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, current_localtimestamp())",
                [[*key, inst.version, item, value, completed_on, principal.subject]
                 for item, value in answers.items()])
    if status != "unchanged":
        audit.record(con, principal.subject, principal.role, "enter self-report", f"{dyad_id}/{session_number}",
                     f"{instrument} {inst.version}, {respondent}, {len(answers)} items, {status}")
    fired = [r[0] for r in con.execute(
        f"SELECT rule FROM v_selfreport_alert WHERE {where} ORDER BY rule", key).fetchall()]
    return SavedForm(dyad_id, int(session_number), respondent, instrument, inst.version, status, fired)
