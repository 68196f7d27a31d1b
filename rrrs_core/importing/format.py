"""The 3RS tables format: which tables, which columns, which are required."""

from __future__ import annotations

from dataclasses import dataclass

TABLES = ("sessions", "marks", "ratings")

REQUIRED: dict[str, tuple[str, ...]] = {
    "sessions": ("dyad_id", "therapist_id", "session_number", "coder_id", "n_segments"),
    "marks": ("dyad_id", "session_number", "coder_id", "segment", "code", "clarity"),
    "ratings": ("dyad_id", "session_number", "coder_id", "item", "rating"),
    "selfreports": ("dyad_id", "session_number", "respondent", "instrument", "item", "value"),
}

OPTIONAL: dict[str, tuple[str, ...]] = {
    "sessions": ("session_date", "segment_minutes", "supervisor_id", "trainee", "patient_id", "treatment",
                 "consensus"),
    "marks": (),
    "ratings": (),
    "selfreports": ("completed_on",),
}
# The optional fourth table (issue 18): session self-reports, in a 3RS tables folder or workbook or on its own.
SELFREPORTS = "selfreports"

KEY = ("dyad_id", "session_number", "coder_id")
# The row a user sees for a staged row: its position in the staged table + 2 (the header is row 1). Rows of a
# table made in a transaction that has not committed are numbered from DuckDB's MAX_ROW_ID (36028797018960000)
# up; the remainder is the position either way, so a dry run can stage and validate in one read transaction
# (tests/test_import_validation.py checks the rows it names, inside one).
SHEET_ROW = "(rowid % 36028797018960000 + 2)::INTEGER"
SYNTHETIC_MARKER = "SYNTHETIC.txt"
TRUE_WORDS = ("true", "yes", "1", "y", "t")
FALSE_WORDS = ("false", "no", "0", "n", "f")


def columns(table: str) -> tuple[str, ...]:
    return REQUIRED[table] + OPTIONAL[table]


@dataclass(frozen=True)
class StagedTable:
    """A table staged as text in DuckDB: `stg_<name>` with `_row` = the row number a user sees."""

    name: str
    source: str  # what to call it in messages: "marks.csv" or "clinic.xlsx [marks]"
    rows: int
