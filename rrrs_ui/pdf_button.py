"""Report downloads: the PDF is built only when clicked (a second or two), for the signed-in user, audited."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import streamlit as st

from rrrs_core import access, audit
from rrrs_core.scope import CLINIC, Scope
from rrrs_ui import downloads

Builder = Callable[[duckdb.DuckDBPyConnection, access.Principal, Scope], bytes]


def pdf_download(label: str, file_name: str, build: Builder, target: str, key: str | None = None, *,
                 scope: Scope = CLINIC) -> None:
    """A download button whose PDF is generated on click, watermarked with the user, and audited; nothing is
    built when the user's access was revoked or changed since the button was drawn. `build` gets the page's
    `scope` as of the click (`downloads.scoped`): a dyad or therapist that left the user's scope since is
    NotFoundError, and nothing is delivered."""

    def data(cur: duckdb.DuckDBPyConnection, who: access.Principal, now: Scope) -> bytes:
        pdf = build(cur, who, now)
        audit.record(cur, who.subject, who.role, "generate pdf", target)
        return pdf

    st.download_button(label, data=downloads.scoped(data, scope), file_name=file_name, mime="application/pdf",
                       on_click="ignore", key=key, help="Builds the report for you now; it carries your name and the time.")
