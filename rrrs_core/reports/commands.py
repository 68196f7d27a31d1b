"""`rrrs report dyad|therapist|clinic|all`: the CLI side of the reports (registered by rrrs_core.cli).

Reports open the database read-only and write their file only once the PDF is complete, so an unknown
id (exit 1, a one-line message) leaves no file behind. Heavy imports happen inside the commands to keep
`rrrs --help` quick.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


def default_user() -> str:
    """The OS user, for the report footer's "Generated for ..." line."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER/LOGNAME variables
        return "unknown user"


def _audit(args: argparse.Namespace, target: str, detail: str) -> None:
    """One audit row for the report(s), on a writable connection of its own: the builders (and the batch's
    workers) read through read-only ones, which cannot write."""
    from rrrs_core import audit, store

    con = store.connect(args.db)
    try:
        audit.record_cli(con, args.user, "generate pdf", target, detail)
    finally:
        con.close()


def _write_report(args: argparse.Namespace, target: str,
                  build: Callable[[duckdb.DuckDBPyConnection], bytes]) -> int:
    """Build one PDF on a read-only connection, audit it, then write it (atomically) to `args.out`: a report
    that cannot be audited is not written."""
    from rrrs_core import store
    from rrrs_core.reports.batch import write_atomic

    con = store.connect(args.db, read_only=True)
    try:
        pdf = build(con)
    finally:
        con.close()
    _audit(args, target, f"CLI report to {args.out}")
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, pdf)
    print(f"Wrote {path} ({len(pdf) // 1024} KB)")
    return 0


def cmd_report_dyad(args: argparse.Namespace) -> int:
    from rrrs_core.reports import dyad_report

    return _write_report(args, f"dyad {args.dyad}", lambda con: dyad_report(
        con, args.dyad, generated_by=args.user, threshold=args.threshold))


def cmd_report_therapist(args: argparse.Namespace) -> int:
    from rrrs_core.reports import therapist_report

    return _write_report(args, f"therapist {args.therapist}", lambda con: therapist_report(
        con, args.therapist, generated_by=args.user, threshold=args.threshold))


def cmd_report_clinic(args: argparse.Namespace) -> int:
    from rrrs_core.reports import clinic_report

    return _write_report(args, "clinic", lambda con: clinic_report(
        con, generated_by=args.user, period=args.period))


def cmd_report_reliability(args: argparse.Namespace) -> int:
    from rrrs_core import store
    from rrrs_core.reliability.command import parse_coders
    from rrrs_core.reliability.design import Design, ReliabilityInputError
    from rrrs_core.reliability.table import require_data
    from rrrs_core.reports import reliability_report

    design = Design(coders=parse_coders(args.coders))
    con = store.connect(args.db, read_only=True)
    try:
        require_data(con, design)
    except ReliabilityInputError as exc:
        print(f"rrrs: {exc}", file=sys.stderr)
        return 2
    finally:
        con.close()
    return _write_report(args, "reliability", lambda con: reliability_report(con, design, generated_by=args.user))


def cmd_report_all(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from rrrs_core import store
    from rrrs_core.reports import report_all

    bar = tqdm(total=0, desc="therapist reports", unit="report", disable=not sys.stderr.isatty())

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        paths = report_all(store.db_path(args.db), args.out_dir, generated_by=args.user, workers=args.workers,
                           progress=progress, threshold=args.threshold)
    finally:
        bar.close()
    _audit(args, "therapist reports", f"{len(paths)} CLI reports in {args.out_dir}: "
           + ", ".join(p.name for p in paths))
    print(f"Wrote {len(paths)} therapist report{'s' if len(paths) != 1 else ''} to {args.out_dir}")
    return 0


def add_report_parser(sub: argparse._SubParsersAction) -> None:
    """Register `rrrs report ...` on the top-level subparsers."""
    rep = sub.add_parser("report", help="PDF supervision reports").add_subparsers(dest="what", required=True)

    def common(p: argparse.ArgumentParser, threshold: bool = True) -> argparse.ArgumentParser:
        p.add_argument("--db", help="DuckDB file (default: $RRRS_DB or data/rrrs.duckdb)")
        p.add_argument("--user", default=default_user(),
                       help="who the report is generated for (footer; default: the OS user)")
        if threshold:
            p.add_argument("--threshold", type=int, default=4, choices=range(1, 6), metavar="N",
                           help="therapist contribution at or above N is highlighted (1-5, default 4)")
        return p

    p = common(rep.add_parser("dyad", help="one dyad over time, with its flagged sessions in detail"))
    p.add_argument("--dyad", required=True, help="dyad id")
    p.add_argument("--out", required=True, help="PDF file to write")
    p.set_defaults(func=cmd_report_dyad)

    p = common(rep.add_parser("therapist", help="a therapist's caseload and the sessions to review first"))
    p.add_argument("--therapist", required=True, help="therapist id")
    p.add_argument("--out", required=True, help="PDF file to write")
    p.set_defaults(func=cmd_report_therapist)

    p = common(rep.add_parser("clinic", help="de-identified clinic aggregates for QI meetings"), threshold=False)
    p.add_argument("--out", required=True, help="PDF file to write")
    p.add_argument("--period", choices=("month", "quarter"), default="quarter", help="trend period (default: quarter, as the Clinic page opens)")
    p.set_defaults(func=cmd_report_clinic)

    p = common(rep.add_parser("reliability", help="coder agreement: the methods-section table (ICC with CI "
                                                  "and n, kappa/AC1)"), threshold=False)
    p.add_argument("--out", required=True, help="PDF file to write")
    p.add_argument("--coders", help="a fully crossed set of coders (comma-separated); default: routine "
                                    "double-coding over the clinic")
    p.set_defaults(func=cmd_report_reliability)

    p = common(rep.add_parser("all", help="one therapist report per therapist, on all cores"))
    p.add_argument("--out-dir", required=True, help="folder for the PDFs (created if missing)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.set_defaults(func=cmd_report_all)
