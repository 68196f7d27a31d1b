"""Deferred downloads that ask the database again, when clicked, who is downloading.

A download button renders a callable that Streamlit runs later, on its own thread, when the button is
clicked: possibly long after the page was drawn. The principal captured then may have been revoked or given
another role since, and the button is still on screen. `guarded` wraps every deferred download (PDFs, CSV
exports, filled scoresheets) so that it first re-reads the principal by subject (`fresh_principal`) and
delivers nothing unless the same person is still active in the same role with the same links.

A download of identified data must also use the scope of the click, not the one of the drawing: a case may
have left the user's scope in between (an administrator moved the therapist to another supervisor). Such
downloads use `scoped(build, chosen)`: the builder gets the scope the page chose, cut down to
`access.scope_for` the fresh principal (`now_scope`), so a dyad no longer in scope is NotFoundError and a
table leaves its rows out.

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
from rrrs_core.scope import Scope
from rrrs_ui import auth, glue

T = TypeVar("T", bytes, str)
Build = Callable[[duckdb.DuckDBPyConnection, access.Principal], T]
ScopedBuild = Callable[[duckdb.DuckDBPyConnection, access.Principal, Scope], T]
REVOKED = "Your access changed since this page was shown: nothing was downloaded. Reload the page."


def fresh_principal(con: duckdb.DuckDBPyConnection, who: access.Principal) -> access.Principal:
    """`who` as the database knows them now; PermissionDeniedError when revoked or no longer the same role
    (a changed role, therapist or coder link changes what they may read). Demo mode has no principals."""
    if who.demo:  # the demo user, also viewing as another role (rrrs_ui.demo_view): no principal row
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


def now_scope(con: duckdb.DuckDBPyConnection, who: access.Principal, chosen: Scope) -> Scope:
    """`chosen` (the page's scope when drawn) cut down to what `who` may read at this moment."""
    return chosen.within(access.scope_for(con, who))


def scoped(build: ScopedBuild[T], chosen: Scope) -> Callable[[], T]:
    """`guarded`, for identified data: on click `build(cursor, principal, scope)` gets the scope as of the
    click (`now_scope`), never the one captured when the page was drawn."""
    return guarded(lambda cur, who: build(cur, who, now_scope(cur, who, chosen)))
