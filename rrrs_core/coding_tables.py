"""Feeding in-memory 3RS tables (a coding from the scoresheet page, or read from Excel scoresheets) to the
importer, so that they get exactly the importer's validation, consistency warnings and loading; and
telling which table an importer problem is about.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from rrrs_core.importing.api import ImportReport, import_tables
from rrrs_core.importing.format import TABLES


def import_frames(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], source: str,
                  **kwargs: Any) -> ImportReport:
    """`import_tables(con, frames, source, **kwargs)`: one importer for every way codings arrive."""
    return import_tables(con, frames, source, **kwargs)


def table_of(file: str) -> str:
    """Which 3RS table an importer problem is about: 'src [marks]' (frames) or 'marks.csv' (CSV folder)."""
    if file.endswith("]") and "[" in file:
        return file.rsplit("[", 1)[-1].rstrip("]")
    name = Path(file).name
    return name[:-4] if name.endswith(".csv") and name[:-4] in TABLES else ""
