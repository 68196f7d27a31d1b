"""Deferred downloads that ask the database again, when clicked, who is downloading.

A download button renders a callable that Streamlit runs later, on its own thread, when the button is
clicked: possibly long after the page was drawn. The principal captured then may have been revoked or given
another role since, and the button is still on screen. `guarded` wraps every deferred download (PDFs, CSV
exports, filled scoresheets) so that it first re-reads the principal by subject (`fresh_principal`) and
delivers nothing unless the same person is still active in the same role with the same links.

When the check fails it raises PermissionDeniedError: Streamlit 1.67 then serves no file, logs the error on
the server, and shows "Failed to generate file for download" under the button for a few seconds (its
`DeferredFileHandler`). Nothing of the file is ever built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import duckdb

from rrrs_core import access, store
from rrrs_core.errors import PermissionDeniedError
from rrrs_ui import auth, glue

T = TypeVar("T", bytes, str)
Build = Callable[[duckdb.DuckDBPyConnection, access.Principal], T]
REVOKED = "Your access changed since this page was shown: nothing was downloaded. Reload the page."


def fresh_principal(con: duckdb.DuckDBPyConnection, who: access.Principal) -> access.Principal:
    """`who` as the database knows them now; PermissionDeniedError when revoked or no longer the same role
    (a changed role, therapist or coder link changes what they may read). Demo mode has no principals."""
    if who is access.DEMO or who == access.DEMO:
        return who
    now = access.resolve(con, who.subject)
    if now is None or (now.role, now.therapist_id, now.coder_id) != (who.role, who.therapist_id, who.coder_id):
        raise PermissionDeniedError(REVOKED)
    return now


def guarded(build: Build[T]) -> Callable[[], T]:
    """A zero-argument callable for `st.download_button(data=...)`: on click it opens its own cursor (it runs
    on another thread), re-checks the principal of this run and only then calls `build(cursor, principal)`.
    Call it during the page run (it reads the principal and the connection then)."""
    who = auth.principal()
    con = glue.connection()

    def data() -> T:
        cur = store.cursor(con)
        return build(cur, fresh_principal(cur, who))

    return data
