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

from rrrs_core import audit, permits, store
from rrrs_core.permits import Permit
from rrrs_ui import auth, downloads, glue

Build = Callable[[duckdb.DuckDBPyConnection, Permit], bytes]


def permit() -> Permit:
    """What the current principal may open and change (computed afresh: it guards writes)."""
    return permits.for_principal(glue.connection(), auth.principal(), synthetic_only=auth.synthetic_only())


def checked_download(build: Build, action: str, target: str) -> Callable[[], bytes]:
    """A callable for `st.download_button(data=...)`: on each click it re-reads the principal
    (`downloads.fresh_principal`: refusing one revoked or given another role since the page was drawn), builds
    the file with their permit as it is now (so a case moved out of their scope is refused), and records
    `action` on `target` in the audit trail."""
    who = auth.principal()
    synthetic = auth.synthetic_only()
    root = glue.connection()

    def data() -> bytes:
        con = store.cursor(root)
        now = downloads.fresh_principal(con, who)
        out = build(con, permits.for_principal(con, now, synthetic_only=synthetic))
        audit.record(con, now.subject, now.role, action, target)
        return out

    return data
