"""Telling which 3RS table an importer problem is about, so the scoresheet can point at its own cells."""

from __future__ import annotations

from pathlib import Path

from rrrs_core.importing.format import TABLES


def table_of(file: str) -> str:
    """Which 3RS table an importer problem is about: 'src [marks]' (frames) or 'marks.csv' (CSV folder)."""
    if file.endswith("]") and "[" in file:
        return file.rsplit("[", 1)[-1].rstrip("]")
    name = Path(file).name
    return name[:-4] if name.endswith(".csv") and name[:-4] in TABLES else ""
