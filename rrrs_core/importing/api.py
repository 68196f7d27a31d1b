"""The import entry points used by the CLI, the Data page and the scoresheet upload."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from rrrs_core import codebook as cb
from rrrs_core.access import Principal
from rrrs_core.errors import Problem, RrrsError, ValidationError
from rrrs_core.importing import consistency, diskfull, load, permission, rules, selfreports, summary, typed
from rrrs_core.importing.format import SELFREPORTS, TABLES
from rrrs_core.importing.reader import DEFER_TIDY, Staged, stage_frame, stage_path, tidy_deferred
from rrrs_core.store import reading, writing

Progress = Callable[[float, str], None]


@dataclass
class ImportReport:
    """What an import did (or, for a dry run, would do) and what it noticed."""

    source: str
    warnings: list[Problem] = field(default_factory=list)
    counts: load.LoadCounts = field(default_factory=load.LoadCounts)
    batch_id: int | None = None
    synthetic: bool = False
    selfreports: selfreports.SelfReportCounts | None = None  # when the upload had a selfreports table

    def summary(self) -> str:
        c = self.counts
        parts = [f"{c.codings_new} new codings", f"{c.codings_replaced} replaced (old versions kept)",
                 f"{c.codings_unchanged} unchanged", f"{c.sessions_new} new sessions",
                 f"{c.marks} marks", f"{c.ratings} ratings", f"{len(self.warnings)} warnings"]
        tag = " [synthetic demo data]" if self.synthetic else ""
        if self.selfreports is not None:
            parts.insert(-1, self.selfreports.summary())
        return f"Imported {self.source}{tag}: " + ", ".join(parts)


def _noop(_fraction: float, _label: str) -> None:
    return None


DEMO_ONLY = ("this upload is not marked as synthetic demo data, and rrrs is running in demo mode (no sign-in), "
             "which accepts only synthetic data; configure sign-in (README, 'Sign-in and roles') before importing "
             "clinical codings. Demo data is the CSVs with the SYNTHETIC.txt that `rrrs demo` wrote, "
             "unchanged (it holds their digests); scoresheets are taken for sessions the demo clinic already has")


@diskfull.guarded
def _run(con: duckdb.DuckDBPyConnection, stage: Callable[[], Staged], source: str, *, replace: bool,
         user: str, progress: Progress, dry_run: bool, book: cb.Codebook, synthetic_only: bool = False,
         writer: Principal | None = None) -> ImportReport:
    """Stage and validate as temp tables, then plan and write in one transaction: errors change nothing.

    `writer` is who uploads: anything outside what they may write is refused (`permission`); None is the
    trusted CLI, run by whoever holds the database file.

    `synthetic_only` (demo mode, which has no sign-in) refuses anything not marked as synthetic demo data,
    with its other problems, rather than letting it in and then locking the app.
    """
    # A dry run is one read transaction from staging to its report: on a shared store a statement outside a
    # transaction reads DuckLake's metadata afresh (2-10 ms of CPU each, some 130 to check one scoresheet);
    # inside one it costs what it costs on the file. A real import stages and validates before its write
    # transaction, whose lock it takes only to plan and write.
    with reading(con) if dry_run else nullcontext():
        try:
            progress(0.05, "reading")
            staged, problems, synthetic = stage()
            if synthetic_only and not synthetic:
                problems.insert(0, Problem("error", source, None, None, None, DEMO_ONLY))
            progress(0.35, "validating")
            problems += _validate(con, staged, book, writer, problems)
            sr_source = staged[SELFREPORTS].source if SELFREPORTS in staged else None
            progress(0.6, "comparing with stored codings")
            # The lock first: the plan and its duplicate checks see every import committed before. A dry run
            # writes nothing, so it neither takes the lock nor waits for another import to finish.
            with reading(con) if dry_run else writing(con):
                # The plan compares incoming codings with stored ones, for the duplicate checks and the write. A
                # dry run that replaces has neither (a scoresheet save's check): on a shared store the plan's
                # reads of stored codings, marks and ratings were a fifth of a save.
                if not (dry_run and replace):
                    load.plan(con)
                    if sr_source:
                        selfreports.plan(con)
                if not replace:
                    problems += load.conflicts(con, staged["sessions"].source)
                    problems += selfreports.conflicts(con, sr_source) if sr_source else []
                if any(p.severity == "error" for p in problems):
                    raise ValidationError(problems)
                report = ImportReport(source, problems, synthetic=synthetic)
                if dry_run:
                    raise _DryRun(report)
                progress(0.75, "writing")
                report.batch_id, report.counts = load.write(con, source=source, user=user, synthetic=synthetic,
                                                            replace=replace, book=book)
                if sr_source:
                    report.selfreports = selfreports.write(con, report.batch_id, user=user, replace=replace)
        finally:
            with reading(con):
                typed.drop(con)
                summary.drop(con)
    progress(1.0, "done")
    return report


def _validate(con: duckdb.DuckDBPyConnection, staged: Staged, book: cb.Codebook, writer: Principal | None,
              problems: list[Problem]) -> list[Problem]:
    """The importer's rules, the writer's permission and the manual's consistency warnings: the problems
    found beyond `problems` (raises ValidationError with all of them at the first errors)."""
    found: list[Problem] = []
    if set(TABLES) <= staged.keys():
        summary.build(con, staged, book)
        for table in DEFER_TIDY & staged.keys():
            if summary.untidy(con, table) and tidy_deferred(con, table, book.rating_items):
                summary.build(con, staged, book, (table,))
        found += rules.run(con, staged, book)
    if any(p.severity == "error" for p in problems + found):
        raise ValidationError(problems + found)
    typed.build(con, book.rating_items)
    sr_source = staged[SELFREPORTS].source if SELFREPORTS in staged else None
    found += permission.run(con, writer, staged["sessions"].source, sr_source)
    if any(p.severity == "error" for p in problems + found):
        raise ValidationError(problems + found)
    return found + consistency.run(con, staged, book)


class _DryRun(Exception):
    def __init__(self, report: ImportReport):
        self.report = report


def import_path(con: duckdb.DuckDBPyConnection, path: str | Path, *, replace: bool = False, user: str = "cli",
                progress: Progress = _noop, dry_run: bool = False, book: cb.Codebook = cb.DEFAULT,
                synthetic_only: bool = False, source: str | None = None, writer: Principal | None = None
                ) -> ImportReport:
    """Import a 3RS tables folder or workbook; raises ValidationError (nothing written) on any error.
    `source` names the whole upload in messages and the import log (default: the folder or file name)."""
    try:
        return _run(con, lambda: stage_path(con, path, book.rating_items), source or Path(path).name,
                    replace=replace, user=user, progress=progress, dry_run=dry_run, book=book,
                    synthetic_only=synthetic_only, writer=writer)
    except _DryRun as dry:
        return dry.report


def import_tables(con: duckdb.DuckDBPyConnection, frames: dict[str, pd.DataFrame], source: str, *,
                  replace: bool = False, user: str = "app", synthetic: bool = False, progress: Progress = _noop,
                  dry_run: bool = False, book: cb.Codebook = cb.DEFAULT, synthetic_only: bool = False,
                  writer: Principal | None = None) -> ImportReport:
    """Import in-memory tables (uploads, scoresheets); `frames` maps sessions/marks/ratings to DataFrames."""

    def stage() -> Staged:
        problems: list[Problem] = []
        staged = {}
        for table in TABLES:
            if table not in frames:
                problems.append(Problem("error", source, None, None, None, f"missing table '{table}'"))
                continue
            result = stage_frame(con, table, frames[table], f"{source} [{table}]", problems, book.rating_items)
            if result:
                staged[table] = result
        return staged, problems, synthetic

    try:
        return _run(con, stage, source, replace=replace, user=user, progress=progress, dry_run=dry_run, book=book,
                    synthetic_only=synthetic_only, writer=writer)
    except _DryRun as dry:
        return dry.report


# DuckDB's own default is 80% of the machine's memory, and the import's staged tables are held in memory: a
# 1,000,000-session clinic (1.65 GB of CSVs) took 2.8 GB for them alone and 4.1 GB at its peak. Capped, DuckDB
# spills what does not fit to its temp directory (encrypted with an encrypted store: `store`), and the same
# import peaks at about 1.3 GB. `$RRRS_IMPORT_MEMORY` (e.g. 4GB) trades memory back for speed.
IMPORT_MEMORY = "1GB"
MEMORY_ENV = "RRRS_IMPORT_MEMORY"


def cap_memory(con: duckdb.DuckDBPyConnection, limit: str | None = None) -> str:
    """Bound DuckDB's memory for an import run as a process of its own (`rrrs import`); returns the limit set.
    Not for the app: the limit is the whole DuckDB instance's, which every session of the app shares."""
    limit = limit or os.environ.get(MEMORY_ENV) or IMPORT_MEMORY
    try:
        con.execute("SET memory_limit = ?", [limit])
    except duckdb.Error as exc:
        raise RrrsError(f"${MEMORY_ENV} is '{limit}', not an amount of memory DuckDB reads "
                        f"(e.g. 1GB, 1500MB): {str(exc).splitlines()[0]}") from None
    return limit


def validate_path(con: duckdb.DuckDBPyConnection, path: str | Path) -> ImportReport:
    """Check a file without writing anything."""
    return import_path(con, path, dry_run=True)
