"""The self-report entry form's widgets: which dyads a principal may enter forms for, one input per item in
its range, and the save through `rrrs_core.selfreport.save_form` (which checks the permission, validates every
answer like an import, writes in one transaction and audits).

Who may enter is sr-core's rule (`selfreport.may_enter`): an administrator for any dyad, a therapist or a
supervisor for the dyads they treat themselves. The picker offers exactly those dyads; the save checks again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from rrrs_core import access, selfreport
from rrrs_core.errors import NotFoundError, PermissionDeniedError, ValidationError
from rrrs_core.queries import dyad as dq
from rrrs_core.queries import selfreport as srq
from rrrs_core.scope import CLINIC, Scope
from rrrs_core.selfreport import Instrument, Item
from rrrs_ui import glue, tables
from rrrs_ui.glue import query
from rrrs_ui.text import md

SCALE_PILLS_MAX = 11  # whole-number items with at most this many answers get one button per answer
NONE = "—"


def entry_scope(who: access.Principal) -> Scope:
    """The dyads `who` may enter forms for: the whole clinic for an administrator, else their own dyads (as
    therapist), nothing for a principal without a therapist link."""
    if who.role == "admin":
        return CLINIC
    if who.role in ("therapist", "supervisor") and who.therapist_id:
        return Scope.therapists([who.therapist_id], f"Your own dyads ({who.therapist_id})")
    return access.NOBODY


def choices(item: Item) -> list[float] | None:
    """The answers of a whole-number item as buttons, or None for a number box (SRS lines: 0-10 by 0.1)."""
    if item.yes_no:
        return [1.0, 0.0]
    n = round((item.max - item.min) / item.step) + 1
    if float(item.step).is_integer() and n <= SCALE_PILLS_MAX:
        return [item.min + i * item.step for i in range(n)]
    return None


def _label(item: Item, value: float) -> str:
    if item.yes_no:
        return "yes" if value == 1 else "no"
    return f"{value:g}"


def item_input(item: Item, stored: float | None, key: str) -> Any:
    """One answer: buttons for yes/no and short whole-number scales, a number box otherwise; empty allowed
    (an unanswered required item is refused on save, with the item named)."""
    need = "" if item.required else " (optional)"
    help_ = f"{'yes or no' if item.yes_no else f'{item.min:g} to {item.max:g} in steps of {item.step:g}'}{need}"
    options = choices(item)
    label = f"{md(item.label)}{need}"  # widget labels render Markdown: a clinic's own file's label as typed
    if options is not None:
        return st.segmented_control(label, options, default=stored if stored in options else None,
                                    format_func=lambda v, i=item: _label(i, v), key=key, help=help_)
    return st.number_input(label, min_value=float(item.min), max_value=float(item.max),
                           step=float(item.step), value=stored, format="%.1f" if item.step < 1 else "%g",
                           key=key, help=help_, placeholder=f"{item.min:g}-{item.max:g}")


def pick_dyad(scope: Scope, wanted: str | None) -> str | None:
    dyads = query(dq.dyads, scope)
    ids = list(dyads.dyad_id)
    if not ids:
        st.info("No dyad of yours to enter forms for: forms are entered by the therapist who treats the dyad, or "
                "by an administrator.")
        return None
    labels = {r.dyad_id: f"{r.dyad_id} - therapist {r.therapist_id}" for r in dyads.itertuples()}
    if wanted and wanted not in ids:
        raise NotFoundError(f"No dyad {wanted}")  # the same answer for 'not yours' and 'does not exist'
    return st.selectbox("Dyad", ids, index=ids.index(wanted) if wanted in ids else None,
                        format_func=lambda d: labels.get(d, d), placeholder="Choose a dyad")


def default_session(axis: pd.DataFrame) -> int:
    """The session after the latest one with a self-report, else after the latest recorded session: a form
    is usually entered right after the session it is about."""
    reported = axis[axis.patient_forms.map(len) > 0]
    last = reported if len(reported) else axis
    return int(last.session_number.max()) + 1 if len(last) else 1


def default_completion(known: dt.date | None, synthetic: bool, data_today: dt.date | None) -> dt.date:
    """The completion date a form starts with: its session's date when recorded; else today, or for the
    synthetic demo clinic (whose sessions lie in the past) the data's today, so that one form typed in does
    not age every other demo dyad by years."""
    if known is not None:
        return known
    if synthetic and data_today is not None:
        return min(data_today, dt.date.today())
    return dt.date.today()


def session_date(axis: pd.DataFrame, number: int) -> dt.date | None:
    row = axis[axis.session_number == number]
    if row.empty or pd.isna(row.session_date.iloc[0]):
        return None
    return pd.Timestamp(row.session_date.iloc[0]).date()


def save(who: access.Principal, dyad_id: str, number: int, respondent: str, inst: Instrument,
         values: dict[str, Any], completed_on: dt.date | None) -> selfreport.SavedForm | None:
    """Save through `save_form`; problems are shown with the item and value, nothing is written then."""
    try:
        saved = selfreport.save_form(glue.connection(), who, dyad_id, number, respondent, inst.id, values,
                                     completed_on)
    except ValidationError as exc:
        st.error(f"Not saved: {len(exc.problems)} answer{'s' if len(exc.problems) != 1 else ''} to fix.")
        tables.show_problems(exc.problems)
        return None
    except (NotFoundError, PermissionDeniedError) as exc:
        st.error(f"Not saved. {md(exc)}")
        return None
    glue.data_changed()
    return saved


def saved_message(saved: selfreport.SavedForm, inst: Instrument) -> str:
    what = {"new": "Saved", "replaced": "Saved (replacing the stored form)",
            "unchanged": "Nothing changed: the stored form has these answers"}[saved.status]
    rules = {r.name: r.label for r in inst.rules}
    fired = "; ".join(rules.get(a, a) for a in saved.alerts)
    return (f"{what}: {md(inst.title)}, {saved.respondent}, session {saved.session_number} of dyad "
            f"{md(saved.dyad_id)}." + (f" Alert: {md(fired)}." if fired else " No alert."))


def instrument_help(inst: Instrument) -> str:
    """An instrument's source, scales and alerts for a help tooltip (which renders Markdown: a clinic's own
    file's text is shown as typed)."""
    scales = "; ".join(f"{s.label}: {s.scoring} of {', '.join(s.items)}" for s in inst.scales)
    rules = "; ".join(r.label for r in inst.rules) or "none"
    return md(f"{inst.title}: {inst.source}. Scores: {scales}. Alerts: {rules}.")


def current_scores(reports: pd.DataFrame, respondent: str, instrument: str) -> str:
    """The stored scores of one form, for the caption under the saved message."""
    rows = reports[(reports.respondent == respondent) & (reports.instrument == instrument)
                   & (reports.kind == "scale")]
    return ", ".join(f"{n} {v:g}" for n, v in zip(rows.name, rows.value.round(2), strict=True))


FORM_ORDER = (srq.SRS, srq.WAI, srq.RUPTURE)  # the shipped forms first, then a clinic's own by id


def catalog() -> dict[str, Instrument]:
    found = query(srq.instruments)
    order = sorted(found, key=lambda i: (FORM_ORDER.index(i) if i in FORM_ORDER else len(FORM_ORDER), i))
    return {i: found[i] for i in order}
