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

DYAD_SESSIONS_ORDER = ["Session", "Date", "Severity", "Flag", "Resolution", "Contribution", "Withdrawal",
                       "Confrontation", "Episodes", "Unaddressed", "At end", "Overall W / C",
                       "Coder"]  # what to review first
ROW_PX = 35            # Streamlit's default table row height
SESSION_ROWS_MAX = 20  # a long therapy scrolls inside the table after this many rows


def rows_height(n_rows: int, max_rows: int = SESSION_ROWS_MAX) -> int:
    """A table height that shows every row up to `max_rows` (Streamlit's default shows 10)."""
    return cells.HEADER_PX + ROW_PX * max(1, min(n_rows, max_rows)) + 3


def dyad_sessions(tc: int) -> Config:
    """Column labels and widths of the dyad page's sessions table. Short headers and set widths keep all
    thirteen columns in view at 1400 px (about 930 px of table); the help names them in full."""
    return {
        "Session": CC.NumberColumn("Session", format="%d", pinned=True, width=58),
        "Date": CC.DateColumn("Date", format="YYYY-MM-DD", width=86),
        "Severity": CC.NumberColumn(
            "Severity", format="%d", width=64,
            help="Flagged sessions only: (therapist contribution - 1) + (5 - overall resolution when the "
                 "session has a rupture), 0-8. Review the highest first."),
        "Flag": CC.TextColumn(
            "Flag", width=116,
            help=f"Why the session is flagged: TC ≥ {tc}, therapist contribution at or above the threshold "
                 "(sidebar); res 1, a rupture with overall resolution 1; pending, unaddr.: ratings pending and "
                 "an unaddressed episode. 'pending' alone: ratings pending, not flagged."),
        "Withdrawal": CC.NumberColumn("W share", format="%.0f%%", width=60,
                                      help="Share of segments with a withdrawal marker"),
        "Confrontation": CC.NumberColumn("C share", format="%.0f%%", width=60,
                                         help="Share of segments with a confrontation marker"),
        "Episodes": CC.NumberColumn("Episodes", format="%d", width=66, help="Rupture episodes"),
        "Unaddressed": CC.NumberColumn("Unaddr.", format="%d", width=60,
                                       help="Rupture episodes with no resolution strategy in their window"),
        "At end": CC.NumberColumn("At end", format="%d", width=52,
                                  help="Episodes unaddressed in session: the session ended within their window, "
                                       "before a repair could be coded (not counted as unaddressed)"),
        "Overall W / C": CC.TextColumn("Overall W / C", width=92,
                                       help="Overall withdrawal / overall confrontation: 1 none - 5 high "
                                            "significance"),
        "Resolution": CC.NumberColumn("Resolution", format="%d", width=78,
                                      help="Overall resolution: 1 poor - 3 average - 5 very good"),
        "Contribution": CC.NumberColumn("Contribution", format="%d", width=88,
                                        help="Therapist contribution: 1 no more than usual - 5 clearly caused or "
                                             "exacerbated the ruptures"),
        "Coder": CC.TextColumn("Coder", width=52, help="Coder of the primary coding shown"),
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
