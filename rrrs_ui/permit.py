"""The signed-in principal's write permit, and downloads that check it again when they run.

Pages hand `permit()` to every `rrrs_core` call that opens or changes a coding or a note; the core refuses
what the permit does not reach (rrrs_core.permits), so hiding a widget is never the only guard.

A deferred download (`st.download_button(data=callable)`) runs when the user clicks, possibly long after the
page was drawn and outside any script run: `checked_download` re-reads the principal from the database at
that moment, builds the file under their permit as it is then, and audits every download.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from rrrs_core import access, audit, permits, store
from rrrs_core.errors import PermissionDeniedError
from rrrs_core.permits import Permit
from rrrs_ui import auth, glue

Build = Callable[[duckdb.DuckDBPyConnection, Permit], bytes]


def permit() -> Permit:
    """What the current principal may open and change (computed afresh: it guards writes)."""
    return permits.for_principal(glue.connection(), auth.principal(), synthetic_only=auth.synthetic_only())


def checked_download(build: Build, action: str, target: str) -> Callable[[], bytes]:
    """A callable for `st.download_button(data=...)`: on each click it re-reads the principal (refusing one
    revoked since the page was drawn), builds the file with their permit as it is now (so a case moved out of
    their scope is refused), and records `action` on `target` in the audit trail."""
    who = auth.principal()
    synthetic = auth.synthetic_only()
    root = glue.connection()

    def data() -> bytes:
        con = store.cursor(root)
        now = who if who == access.DEMO else access.resolve(con, who.subject)
        if now is None:
            raise PermissionDeniedError("Your access was revoked: nothing was downloaded.")
        out = build(con, permits.for_principal(con, now, synthetic_only=synthetic))
        audit.record(con, now.subject, now.role, action, target)
        return out

    return data
