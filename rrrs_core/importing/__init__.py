"""Import of the "3RS tables" format (sessions, marks, ratings) as CSV folder or .xlsx workbook.

Reading, validation and loading all run in DuckDB: staged as text, checked by SQL rules that report
file/row/column/value, then written in one transaction, so a bad file changes nothing.
"""

from rrrs_core.importing.api import ImportReport, cap_memory, import_path, import_tables, validate_path

__all__ = ["ImportReport", "cap_memory", "import_path", "import_tables", "validate_path"]
