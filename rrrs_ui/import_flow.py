"""What the Data page and the Scoresheet page do around an upload: the same refusal, the same after-import."""

from __future__ import annotations

import streamlit as st

from rrrs_core.errors import ValidationError
from rrrs_core.importing.api import ImportReport
from rrrs_ui import auth, glue, tables, widgets
from rrrs_ui.text import md


def show_refused(exc: ValidationError) -> None:
    """Nothing was imported: every problem, then any warnings."""
    st.error(f"{md(exc)}. Fix these and upload again:")
    tables.show_problems(exc.problems)
    if exc.warnings:
        st.warning(f"{len(exc.warnings)} warnings (not blocking):")
        tables.show_problems(exc.warnings)


def finish_import(report: ImportReport, *, uploader: str, replace_key: str, last_import: str) -> None:
    """After a real import: audit it, keep its report for the next run, empty the upload box (the same files
    must not be imported twice by mistake) and untick 'store changed codings' (asked for each time)."""
    glue.data_changed()
    auth.audit_now("import", report.source, report.summary())
    st.session_state[last_import] = (report.summary(), list(report.warnings))
    widgets.clear_uploader(uploader)
    st.session_state.pop(replace_key, None)
    st.rerun()
