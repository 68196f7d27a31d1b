"""When a dyad was last seen, counted in days before the data's "today".

The store records sessions, not the calendar: an import made months after the last session must not make
every dyad look abandoned. So "today" is the latest session date anywhere in the store (`AS_OF_SQL`), and
"N days ago" counts days from a dyad's latest recorded session (coded or not) to that date. A self-report's
completion date counts as a session date: a patient fills in the form after a session, and most sessions
that happen are never coded. The caseload,
the dyad page and the PDFs all phrase it with `describe`, so the same dyad reads the same everywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core.scope import CLINIC, Scope

_DATES = ("(SELECT dyad_id, session_date AS seen FROM session UNION ALL "
          "SELECT dyad_id, completed_on FROM selfreport)")

AS_OF_SQL = ("(SELECT greatest((SELECT max(session_date) FROM session), "
             "(SELECT max(completed_on) FROM selfreport)))")
"""The data's today: the latest session date in the store (whole clinic, whatever the scope)."""

LAST_SEEN_SQL = f"(SELECT dyad_id, max(seen) AS last_seen FROM {_DATES} GROUP BY dyad_id)"
"""Each dyad's latest recorded session date (coded or not): a session that happened is a session."""


def _date(value: object) -> dt.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return pd.Timestamp(value).date()


def days_phrase(days_ago: int) -> str:
    return "1 day ago" if days_ago == 1 else f"{days_ago} days ago"


def describe(last_date: object, days_ago: object) -> str:
    """'2024-03-01 (107 days ago)'; 'no session date recorded' when there is none."""
    date = _date(last_date)
    if date is None:
        return "no session date recorded"
    if days_ago is None or pd.isna(days_ago):
        return date.isoformat()
    return f"{date.isoformat()} ({days_phrase(int(days_ago))})"


def as_of_note(as_of: object) -> str:
    """What 'N days ago' is counted to, for captions and tooltips."""
    date = _date(as_of)
    if date is None:
        return "Days are counted to the latest session date in the data (none recorded)."
    return f"Days are counted to {date.isoformat()}, the latest session date in the data (its 'today')."


@dataclass(frozen=True)
class LastSession:
    """A dyad's latest recorded session, and how long before the data's today it was."""

    date: dt.date | None
    days_ago: int | None
    as_of: dt.date | None

    @property
    def text(self) -> str:
        """'Last session 2024-03-01 (107 days ago)'."""
        if self.date is None:
            return "No session date recorded"
        return f"Last session {describe(self.date, self.days_ago)}"

    @property
    def note(self) -> str:
        return as_of_note(self.as_of)


def last_session(con: duckdb.DuckDBPyConnection, dyad_id: str, scope: Scope = CLINIC) -> LastSession:
    """The dyad's `LastSession` (all None for a dyad outside `scope` or without sessions)."""
    where, params = scope.sql("d.therapist_id")
    row = con.execute(
        f"""
        SELECT l.last_seen, {AS_OF_SQL} AS as_of
        FROM dyad d LEFT JOIN {LAST_SEEN_SQL} l USING (dyad_id)
        WHERE d.dyad_id = ? AND {where}
        """,
        [dyad_id, *params],
    ).fetchone()
    if row is None:
        return LastSession(None, None, None)
    date, as_of = _date(row[0]), _date(row[1])
    days = (as_of - date).days if date and as_of else None
    return LastSession(date, days, as_of)


def data_today(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The data's today (`AS_OF_SQL`): the latest session or self-report date in the store, None when empty."""
    row = con.execute(f"SELECT {AS_OF_SQL}").fetchone()
    return _date(row[0]) if row else None
