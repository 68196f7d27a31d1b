"""Human column labels for the app's tables: a clinician should never meet a column called `saved_by`.

The pages pass these column configs to `st.dataframe`; the frames keep their machine names, so CSV exports
and tests read the columns the queries return. Long lists and text in cells: `rrrs_ui.cells`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from rrrs_ui import cells

Config = dict[str, object]
CC = st.column_config
PLACEHOLDER = "–"  # missing values read as a dash, not "None"

# --- problem reports (Data page, scoresheet imports and checks) ---------------------------------------

PROBLEM_COLUMNS = ["file", "row", "column", "value", "problem"]
PROBLEM_PX = 540  # messages can be long (an unknown code lists the allowed ones): they wrap
FILE_PX = 120     # so can a file name, or several for a problem of the whole upload
PROBLEMS: Config = {
    "file": CC.TextColumn("File", width=FILE_PX, help="The file (and sheet) the problem is in"),
    "row": CC.NumberColumn("Row", format="%d", width=55, help="Row as numbered in the file, header = row 1"),
    "column": CC.TextColumn("Column", width=110),
    "value": CC.TextColumn("Value", width=110),
    "problem": CC.TextColumn("Problem", width=PROBLEM_PX),
}
CHECKS: Config = {
    "where": CC.TextColumn("Where", width=200, help="Where on the scoresheet"),
    "value": CC.TextColumn("Value", width=110),
    "problem": CC.TextColumn("Problem", width=PROBLEM_PX),
}


def problems_table(problems: Sequence) -> pd.DataFrame:
    """An import report: one row per problem with its file, row, column and value."""
    return pd.DataFrame([{"file": p.file, "row": p.row, "column": p.column, "value": p.value,
                          "problem": p.message} for p in problems], columns=PROBLEM_COLUMNS)


def check_table(problems: Sequence) -> pd.DataFrame:
    """Problems of the coding being edited: where on the scoresheet, value, problem."""
    return pd.DataFrame([{"where": p.column, "value": p.value, "problem": p.message} for p in problems],
                        columns=["where", "value", "problem"])


def _show(table: pd.DataFrame, config: Config) -> None:
    widths = {c: w for c, w in (("file", FILE_PX), ("problem", PROBLEM_PX)) if c in table.columns}
    row_px = cells.row_height(table, widths, max_px=160)
    st.dataframe(table, hide_index=True, width="stretch", placeholder="", column_config=config,
                 row_height=row_px, height=cells.height(len(table), row_px))


def show_problems(problems: Sequence) -> None:
    """An import's problems or warnings, each message readable in full."""
    _show(problems_table(problems), PROBLEMS)


def show_checks(problems: Sequence) -> None:
    """The scoresheet's problems or consistency warnings for the coding being edited."""
    _show(check_table(problems), CHECKS)


# --- admin tables ---------------------------------------------------------------------------------------

AUDIT: Config = {
    "audit_id": CC.NumberColumn("#", format="%d", width="small"),
    "occurred_at": CC.DatetimeColumn("When", format="YYYY-MM-DD HH:mm:ss"),
    "actor": "Who",
    "role": "Role",
    "action": "Action",
    "target": "Target",
    "detail": CC.TextColumn("Detail", width="medium"),
    "os_user": CC.TextColumn("OS user", help="For command-line rows: the operating-system account that ran "
                             "the command (the actor is as typed in --by/--user)"),
}
USERS: Config = {
    "subject": CC.TextColumn("Sign-in subject", help="As the identity provider sends it (sub claim or e-mail)"),
    "email": "E-mail",
    "display_name": "Name",
    "role": "Role",
    "therapist_id": CC.TextColumn("Therapist", help="Supervisors and therapists see this therapist's dyads"),
    "coder_id": CC.TextColumn("Coder", help="Coders see the sessions assigned to this coder"),
    "active": CC.CheckboxColumn("Active", help="Inactive users cannot sign in"),
    "created_at": CC.DatetimeColumn("Added", format="YYYY-MM-DD HH:mm"),
}
# --- the dyad page's sessions (frame built by pages/dyad.session_table) ----------------------------------

DYAD_SESSIONS_ORDER = ["Session", "Date", "Flag", "Resolution", "Contribution", "Withdrawal", "Confrontation",
                       "Episodes", "Unaddressed", "Overall W", "Overall C", "Coder"]  # what to review first
# Short headers keep all twelve columns in view at a laptop's width; the help names them in full.
DYAD_SESSIONS: Config = {
    "Session": CC.NumberColumn("Session", format="%d", pinned=True),
    "Date": CC.DateColumn("Date", format="YYYY-MM-DD"),
    "Flag": CC.TextColumn("Flag", help="TC ≥ n: therapist contribution at or above the threshold (sidebar); "
                                       "pending: ratings pending"),
    "Withdrawal": CC.NumberColumn("Withdrawal", format="%.0f%%", help="Share of segments with a withdrawal marker"),
    "Confrontation": CC.NumberColumn("Confrontation", format="%.0f%%",
                                     help="Share of segments with a confrontation marker"),
    "Episodes": CC.NumberColumn("Episodes", format="%d", help="Rupture episodes"),
    "Unaddressed": CC.NumberColumn("Unaddressed", format="%d", help="Rupture episodes without a resolution strategy"),
    "Overall W": CC.NumberColumn("Overall W", format="%d", help="Overall withdrawal: 1 none - 5 high significance"),
    "Overall C": CC.NumberColumn("Overall C", format="%d",
                                 help="Overall confrontation: 1 none - 5 high significance"),
    "Resolution": CC.NumberColumn("Resolution", format="%d",
                                  help="Overall resolution: 1 poor - 3 average - 5 very good"),
    "Contribution": CC.NumberColumn("Contribution", format="%d", help="Therapist contribution: 1 no more than "
                                    "usual - 5 clearly caused or exacerbated the ruptures"),
    "Coder": CC.TextColumn(help="Coder of the primary coding shown"),
}

HISTORY: Config = {
    "version": CC.NumberColumn("Version", format="%d"),
    "current": CC.CheckboxColumn("Current"),
    "status": "Status",
    "saved_at": CC.DatetimeColumn("Saved at", format="YYYY-MM-DD HH:mm:ss"),
    "saved_by": "Saved by",
    "note": "Note",
    "marks": CC.NumberColumn("Marks", format="%d", help="Codes marked in this version"),
    "changes": CC.TextColumn("What changed", width="large"),
}


def show_warnings(warnings: Sequence) -> None:
    """The manual's consistency warnings of an import or check: shown, never blocking."""
    if warnings:
        st.warning(f"{len(warnings)} warnings from the manual's consistency rules (not blocking):")
        show_problems(warnings)
