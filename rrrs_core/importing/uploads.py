"""Browser uploads: the same importer as the CLI, fed from uploaded bytes via a private temp folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from rrrs_core.access import Principal
from rrrs_core.errors import Problem, ValidationError
from rrrs_core.importing.api import ImportReport, Progress, _noop, import_path
from rrrs_core.importing.format import SYNTHETIC_MARKER, TABLES


def import_uploads(con: duckdb.DuckDBPyConnection, files: list[tuple[str, bytes]], *, replace: bool = False,
                   user: str = "app", dry_run: bool = False, progress: Progress = _noop,
                   synthetic_only: bool = False, writer: Principal | None = None) -> ImportReport:
    """Accept either one .xlsx workbook or the three CSVs (sessions, marks, ratings) in one upload; `writer`
    (the signed-in uploader) may write only inside their scope (`importing.permission`)."""
    names = [Path(n).name for n, _ in files]
    label = ", ".join(names) or "upload"
    if not files:
        raise ValidationError([Problem("error", label, None, None, None, "no files uploaded")])
    books = [n for n in names if n.lower().endswith((".xlsx", ".xlsm"))]
    if books and len(files) > 1:
        raise ValidationError([Problem("error", label, None, None, None,
                                       "upload either one .xlsx workbook or the three CSV files, not both")])
    with tempfile.TemporaryDirectory(prefix="rrrs-upload-") as tmp:
        if books:
            target = Path(tmp) / books[0]
            target.write_bytes(files[0][1])
            return import_path(con, target, replace=replace, user=user, dry_run=dry_run, progress=progress,
                               synthetic_only=synthetic_only, writer=writer)
        folder = Path(tmp) / "upload"
        folder.mkdir()
        # The demo's marker file may come along: demo mode (no sign-in) accepts only synthetic data.
        unknown = [n for n in names if n.lower() not in {f"{t}.csv" for t in TABLES} | {SYNTHETIC_MARKER.lower()}]
        if unknown:
            raise ValidationError([Problem("error", n, None, None, None,
                                           "unexpected file name; the CSVs must be named sessions.csv, marks.csv "
                                           f"and ratings.csv (with {SYNTHETIC_MARKER} for synthetic demo data)")
                                   for n in unknown])
        for (name, data) in files:
            (folder / Path(name).name.lower()).write_bytes(data)
        return import_path(con, folder, replace=replace, user=user, dry_run=dry_run, progress=progress,
                           synthetic_only=synthetic_only, source=label, writer=writer)
