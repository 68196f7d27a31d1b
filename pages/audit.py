"""Audit trail (admins): filter, verify and export who accessed what."""

from __future__ import annotations

import datetime as dt

import streamlit as st
from duckdb import DuckDBPyConnection

from rrrs_core import audit, export
from rrrs_core.access import Principal
from rrrs_ui import auth, downloads, glue, tables, widgets

auth.require_page("audit")

st.title("Audit trail")
with widgets.guard():
    widgets.provenance_banner()
    auth.record("view audit")
    con = glue.connection()
    verdict = audit.check(con)
    if verdict.ok:
        st.success("The audit trail is intact: every row's signature holds, each links to the one before it, "
                   f"and the anchor counts all {verdict.n_rows} rows.")
        st.caption("Signed head: store it with the backups; `rrrs audit verify --expect '<head>'` later shows "
                   "whether rows up to it were deleted.")
        st.code(verdict.head or "", language=None)
    else:
        st.error("The audit trail was altered outside rrrs:\n\n" + "\n".join(f"- {p}" for p in verdict.problems))
    left, mid, right = st.columns(3)
    actor = left.text_input("Who (exact identity)", value=widgets.param("actor", "") or "") or None
    action = mid.selectbox("Action", ["(all)", *audit.ACTIONS])
    since = right.date_input("From", value=dt.date.today() - dt.timedelta(days=30))
    rows = audit.listing(con, actor=actor, action=None if action == "(all)" else action, since=since)
    st.dataframe(rows, hide_index=True, width="stretch", placeholder=tables.PLACEHOLDER,
                 column_config=tables.AUDIT)
    st.caption(f"{len(rows)} rows, newest first. Rows can only be added, never changed or deleted in rrrs.")
    count = f"{len(rows)} row" + ("" if len(rows) == 1 else "s")

    def audit_csv(cur: DuckDBPyConnection, who: Principal) -> bytes:  # built, and audited, on every click
        audit.record(cur, who.subject, who.role, "export audit", None, count)
        return export.to_csv(rows)

    st.download_button("Export as CSV", downloads.guarded(audit_csv), "rrrs-audit.csv", "text/csv",
                       on_click="ignore")
