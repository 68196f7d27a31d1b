"""Report downloads: the PDF is built only when clicked (a second or two), for the signed-in user, audited."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import streamlit as st

from rrrs_core import access, audit, store
from rrrs_ui import auth, glue

Builder = Callable[[duckdb.DuckDBPyConnection, access.Principal], bytes]


def pdf_download(label: str, file_name: str, build: Builder, target: str, key: str | None = None) -> None:
    """A download button whose PDF is generated on click, watermarked with the user, and audited."""
    who = auth.principal()
    con = glue.connection()

    def data() -> bytes:
        cur = store.cursor(con)
        pdf = build(cur, who)
        audit.record(cur, who.subject, who.role, "generate pdf", target)
        return pdf

    st.download_button(label, data=data, file_name=file_name, mime="application/pdf", on_click="ignore",
                       key=key, help="Builds the report for you now; it carries your name and the time.")
