"""Data: upload 3RS tables with a validation report, download templates, export the summary."""

from __future__ import annotations

import streamlit as st
from duckdb import DuckDBPyConnection

from rrrs_core import audit, export
from rrrs_core.access import Principal
from rrrs_core.errors import ValidationError
from rrrs_core.importing import templates
from rrrs_core.importing.uploads import import_uploads
from rrrs_core.scope import Scope
from rrrs_ui import auth, downloads, glue, import_flow, tables, widgets
from rrrs_ui.text import md

auth.require_page("data")

UPLOADER, REPLACE = "data_upload", "data_replace"
LAST_IMPORT = "data_last_import"  # (summary, warnings) of the import just made, shown after the rerun
ss = st.session_state


def show_import(summary: str, warnings: list) -> None:
    """The report of the last import; stays until the next files are uploaded."""
    st.success(md(summary))
    st.caption("The upload box is empty again, ready for the next files.")
    tables.show_warnings(warnings)


st.title("Data")
with widgets.guard():
    widgets.provenance_banner()
    st.subheader("Upload coded sessions")
    st.markdown("Upload the three **3RS tables** (`sessions.csv`, `marks.csv`, `ratings.csv`) together, or one "
                "**.xlsx** workbook with sheets of those names. Everything is checked first: if anything is wrong, "
                "nothing is imported and every problem is listed with its file, row, column and value.")
    if auth.synthetic_only():
        st.info("Demo mode (no sign-in) imports only synthetic demo data: the three CSVs and the `SYNTHETIC.txt` "
                "file that `rrrs demo --out DIR` writes, uploaded unchanged (the file holds their digests).")
    files = widgets.uploader(UPLOADER, "3RS tables", type=["csv", "xlsx", "txt"], accept_multiple_files=True)
    if files:
        ss.pop(LAST_IMPORT, None)  # new files: the last import's report no longer describes what is here
    replace = st.checkbox("Store changed codings as new versions (earlier versions are kept as history)",
                          key=REPLACE)
    check_col, import_col = st.columns(2)
    check = check_col.button("Check only", disabled=not files)
    run = import_col.button("Import", type="primary", disabled=not files)
    if files and (check or run):
        bar = st.progress(0.0, text="starting")
        try:
            report = import_uploads(glue.connection(), [(f.name, f.getvalue()) for f in files], replace=replace,
                                    user=auth.principal().subject, dry_run=check, synthetic_only=auth.synthetic_only(),
                                    progress=lambda x, label: bar.progress(x, text=label), writer=auth.principal())
        except ValidationError as exc:
            bar.empty()
            import_flow.show_refused(exc)
        else:
            bar.empty()
            if check:
                st.success("No errors: this upload can be imported.")
                tables.show_warnings(report.warnings)
            else:
                import_flow.finish_import(report, uploader=UPLOADER, replace_key=REPLACE, last_import=LAST_IMPORT)
    if LAST_IMPORT in ss:
        show_import(*ss[LAST_IMPORT])

    st.subheader("Templates")
    st.markdown("Start from a template: each holds one example coding you can overwrite.")
    left, right = st.columns(2)
    # Built on click, not on every rerun (the workbook alone took 13 ms of each rerun).
    left.download_button("CSV templates (zip)", downloads.guarded(lambda _cur, _who: templates.csv_zip()),
                         "3rs-tables-template.zip", "application/zip", on_click="ignore")
    right.download_button("Excel template", downloads.guarded(lambda _cur, _who: templates.xlsx()),
                          "3rs-tables-template.xlsx",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", on_click="ignore")

    st.subheader("Export")
    if widgets.empty_state():
        st.stop()
    scope = auth.scope()
    size = glue.query(export.summary_size, scope)
    st.markdown(f"One row per coding ({size} codings) with every 3RS metric.")

    def summary_csv(cur: DuckDBPyConnection, who: Principal, now: Scope) -> bytes:  # on click: about a second
        rows = export.summary(cur, now)  # the scope as of the click: a case moved out since is left out
        audit.record(cur, who.subject, who.role, "export csv", "summary", f"{len(rows)} codings")
        return export.to_csv(rows)

    st.download_button("Summary CSV", downloads.scoped(summary_csv, scope), "rrrs-summary.csv", "text/csv",
                       on_click="ignore")
