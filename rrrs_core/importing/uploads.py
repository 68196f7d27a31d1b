"""Browser uploads: the same importer as the CLI, fed from uploaded bytes that never touch the disk.

The importer reads files by name (DuckDB's CSV reader, openpyxl). Uploads are clinical data, so each file is
held in anonymous memory (`memfd_create`: it vanishes with the process, even on kill -9) and the importer
reads it through a symlink named like the upload in a private temp folder, which holds no data itself.
`clean_leftovers` removes the folders of processes that died mid-import (and old plaintext folders written
before this was so).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb

from rrrs_core.access import Principal
from rrrs_core.errors import Problem, ValidationError
from rrrs_core.importing.api import ImportReport, Progress, _noop, import_path
from rrrs_core.importing.format import SELFREPORTS, SYNTHETIC_MARKER, TABLES


def import_uploads(con: duckdb.DuckDBPyConnection, files: list[tuple[str, bytes]], *, replace: bool = False,
                   user: str = "app", dry_run: bool = False, progress: Progress = _noop,
                   synthetic_only: bool = False, writer: Principal | None = None) -> ImportReport:
    """Accept either one .xlsx workbook or the three CSVs (sessions, marks, ratings), with or without
    selfreports.csv, or selfreports.csv alone, in one upload; `writer`
    (the signed-in uploader) may write only inside their scope (`importing.permission`)."""
    names = [Path(n).name for n, _ in files]
    label = ", ".join(names) or "upload"
    if not files:
        raise ValidationError([Problem("error", label, None, None, None, "no files uploaded")])
    books = [n for n in names if n.lower().endswith((".xlsx", ".xlsm"))]
    if books and len(files) > 1:
        raise ValidationError([Problem("error", label, None, None, None,
                                       "upload either one .xlsx workbook or the three CSV files, not both")])
    with _staging() as put:
        if books:
            target = put(books[0], files[0][1])
            return import_path(con, target, replace=replace, user=user, dry_run=dry_run, progress=progress,
                               synthetic_only=synthetic_only, writer=writer)
        # The demo's marker file may come along: demo mode (no sign-in) accepts only synthetic data.
        known = {f"{t}.csv" for t in (*TABLES, SELFREPORTS)} | {SYNTHETIC_MARKER.lower()}
        unknown = [n for n in names if n.lower() not in known]
        if unknown:
            raise ValidationError([Problem("error", n, None, None, None,
                                           "unexpected file name; the CSVs must be named sessions.csv, marks.csv "
                                           f"and ratings.csv, with {SELFREPORTS}.csv for self-reports (alone or "
                                           f"with them) and {SYNTHETIC_MARKER} for synthetic demo data")
                                   for n in unknown])
        for (name, data) in files:
            target = put(f"upload/{Path(name).name.lower()}", data)
        return import_path(con, target.parent, replace=replace, user=user, dry_run=dry_run, progress=progress,
                           synthetic_only=synthetic_only, source=label, writer=writer)


PREFIX = "rrrs-upload-"


@contextmanager
def _staging() -> Iterator[Callable[[str, bytes], Path]]:
    """Yields put(relative name, bytes) -> a path the importer can read. A private folder whose entries are symlinks to in-memory files (memfd); plain files where the system
    has no memfd (not Linux). Everything goes when the block ends; a killed process leaves no data."""
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-")))

        def put(name: str, data: bytes) -> Path:
            target = tmp / name
            target.parent.mkdir(exist_ok=True)
            if not hasattr(os, "memfd_create"):
                target.write_bytes(data)
                return target
            fd = os.memfd_create(f"rrrs-{target.name}", os.MFD_CLOEXEC)
            stack.callback(os.close, fd)
            with memoryview(data) as view:
                written = 0
                while written < len(view):
                    written += os.write(fd, view[written:])
            target.symlink_to(f"/proc/{os.getpid()}/fd/{fd}")
            return target

        yield put


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(root: str | os.PathLike[str] | None = None, stale_seconds: float = 600) -> list[Path]:
    """Remove upload folders left by processes that died mid-import; returns those removed. Folders named
    without a process id (written by earlier versions, with plaintext CSVs) go once they are stale."""
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        pid_text = folder.name[len(PREFIX):].split("-", 1)[0]
        if pid_text.isdigit() and "-" in folder.name[len(PREFIX):]:
            if _alive(int(pid_text)):
                continue
        else:
            try:
                if time.time() - folder.lstat().st_mtime < stale_seconds:
                    continue
            except OSError:
                continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed
