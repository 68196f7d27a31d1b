"""The `rrrs` command line: import, export, demo and reports. Errors are messages, never tracebacks.

Exit codes: 0 success, 2 invalid input (the full problem list on stderr), 1 any other failure.
Building the parser imports no DuckDB, pandas, ReportLab or Altair (each command loads what it uses), so
`rrrs --help` and every command start in a fraction of a second (tests/test_cli_start.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rrrs_core.cli_store import add_data_path, busy_message, connect, data_path_env, redact
from rrrs_core.errors import DatabaseBusyError, RrrsError, ValidationError


def _progress_bar(label: str):  # -> Progress callable and a closer
    from tqdm import tqdm

    bar = tqdm(total=100, desc=label, unit="%", leave=False, disable=not sys.stderr.isatty())

    def update(fraction: float, step: str) -> None:
        bar.set_postfix_str(step)
        bar.update(max(0, round(fraction * 100) - bar.n))

    return update, bar.close


def _scoresheets(paths: list[Path]) -> list[Path] | None:
    """The Excel scoresheets named (files, or every .xlsx scoresheet in one folder); None for 3RS tables.
    openpyxl loads only when there is a workbook to look at (a folder of CSVs does not need it)."""
    if len(paths) == 1 and paths[0].is_dir():
        candidates = sorted(p for p in paths[0].glob("*.xlsx") if p.is_file())
        if not candidates:
            return None
        from rrrs_core.scoresheet_xlsx import is_scoresheet

        return [p for p in candidates if is_scoresheet(p)] or None
    if not all(p.suffix.lower() == ".xlsx" and p.is_file() for p in paths):
        return None
    from rrrs_core.scoresheet_xlsx import is_scoresheet

    return paths if all(is_scoresheet(p) for p in paths) else None


def cmd_import(args: argparse.Namespace) -> int:
    from rrrs_core import audit, audit_key
    from rrrs_core.importing import cap_memory, import_path

    paths = [Path(p) for p in args.path]
    sheets = _scoresheets(paths)
    if sheets is None and len(paths) > 1:
        print("rrrs: several paths are accepted only for Excel scoresheets; import 3RS tables one folder or "
              "workbook at a time", file=sys.stderr)
        return 2
    con = connect(args)
    cap_memory(con)  # this process is the import's own: a million sessions stay under 2 GB
    audit_key.key(con)  # an import that could not be audited is refused before it starts
    label = f"{len(sheets)} scoresheets" if sheets else paths[0].name
    update, close = _progress_bar(f"import {label}")
    try:
        if sheets:
            from rrrs_core.scoresheet_xlsx import import_scoresheet_paths

            report = import_scoresheet_paths(con, sheets, replace=args.replace, user=args.user, progress=update)
        else:
            report = import_path(con, paths[0], replace=args.replace, user=args.user, progress=update)
    finally:
        close()
    audit.record_cli(con, args.user, "import", ", ".join(str(p) for p in (sheets or paths)), report.summary())
    print(report.summary())
    if report.synthetic and not sheets:  # the demo folder's synthetic transcripts and recording (#19)
        from rrrs_core.demo_transcripts import attach_folder

        if said := attach_folder(con, paths[0], args.user):
            print(said)
    _print_problems(report.warnings, args.all_warnings)
    return 0


def _print_problems(problems: list, show_all: bool, limit: int = 20) -> None:
    """Warnings can run to thousands on a large import: show the first few unless asked for all."""
    shown = problems if show_all else problems[:limit]
    for p in shown:
        print(f"  {p}", file=sys.stderr)
    if len(problems) > len(shown):
        print(f"  ... and {len(problems) - len(shown)} more (use --all-warnings to list every one)", file=sys.stderr)


def cmd_export_summary(args: argparse.Namespace) -> int:
    from rrrs_core import audit, export

    con = connect(args)
    frame = export.summary(con)
    audit.record_cli(con, args.by, "export csv", "summary", f"{len(frame)} codings to {args.out}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(export.to_csv(frame))
    print(f"Wrote {len(frame)} codings to {args.out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from rrrs_core import demo

    tables = demo.write(args.out, n_dyads=args.dyads, seed=args.seed)
    n_sessions = tables.sessions[["dyad_id", "session_number"]].drop_duplicates().shape[0]
    print(f"Wrote a synthetic demo clinic to {args.out}: {args.dyads} dyads, {n_sessions} sessions, "
          f"{len(tables.sessions)} codings, {len(tables.marks)} marks (seed {args.seed})")
    from rrrs_core import demo_transcripts

    print(demo_transcripts.write_and_say(args.out, tables.marks, tables.sessions))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rrrs", description="3RS supervision dashboard tools")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--db")  # its help, and --data-path, are added by add_data_path below
        return p

    p = with_db(sub.add_parser("import", help="import 3RS tables (a folder of CSVs or an .xlsx workbook) or "
                                              "filled Excel scoresheets (files or a folder of them)"))
    p.add_argument("path", nargs="+")
    p.add_argument("--replace", action="store_true",
                   help="store differing codings as new versions (old versions are kept as history)")
    p.add_argument("--user", default="cli", help="who is importing (recorded with the import)")
    p.add_argument("--all-warnings", action="store_true", help="list every warning, not only the first 20")
    p.set_defaults(func=cmd_import)
    from rrrs_core.selfreport import command as selfreport_cli

    selfreport_cli.add_instruments_option(p)

    exp = sub.add_parser("export", help="export data").add_subparsers(dest="what", required=True)
    p = with_db(exp.add_parser("summary", help="one row per coding with the 3RS metrics"))
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--by", default="cli", help="who is exporting (audited, with the OS account)")
    p.set_defaults(func=cmd_export_summary)
    selfreport_cli.add_parsers(sub, exp, with_db)  # `export selfreports`, `instruments`

    p = sub.add_parser("demo", help="write a synthetic demo clinic in the 3RS tables format")
    p.add_argument("--out", required=True, help="folder to write sessions.csv, marks.csv, ratings.csv")
    p.add_argument("--dyads", type=int, default=40)
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_demo)

    from rrrs_core.reports.commands import add_report_parser

    add_report_parser(sub)
    from rrrs_core.cli_admin import add_admin_parsers

    add_admin_parsers(sub, with_db)
    from rrrs_core.auth_setup import add_setup_parsers

    add_setup_parsers(sub)
    from rrrs_core.reliability.command import add_reliability_parser

    add_reliability_parser(sub)
    from rrrs_core.transcripts.command import add_parsers as add_transcript_parsers

    add_transcript_parsers(sub, with_db)  # `attach transcript|recording`, `transcript show|delete`
    from rrrs_core.suggest.command import add_parser as add_suggest_parser

    add_suggest_parser(sub)  # `rrrs suggest TRANSCRIPT --out FILE.csv` (#19)
    add_data_path(parser)
    return parser


def _say(message: object) -> None:
    """One line of an error on stderr, with any password of a store location masked."""
    print(redact(str(message)), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with data_path_env(args):
            return int(args.func(args))
    except ValidationError as exc:
        for problem in exc.problems + exc.warnings:
            _say(problem)
        _say(f"rrrs: {exc}")
        return 2
    except DatabaseBusyError as exc:
        _say(f"rrrs: {busy_message(args, exc)}")
        return 1
    except RrrsError as exc:
        _say(f"rrrs: {exc}")
        return 1
    except (OSError, ValueError) as exc:
        _say(f"rrrs: {exc}")
        return 1
    except ImportError as exc:  # an install that skipped a package (e.g. a plain `pip install -e .`)
        _say(f"rrrs: a package rrrs needs is not installed ({exc.name or exc}); run `make install`.")
        return 1
    except Exception as exc:  # no traceback reaches a user; RRRS_DEBUG=1 shows it to a developer
        if os.environ.get("RRRS_DEBUG"):
            raise
        _say(f"rrrs: unexpected error ({type(exc).__name__}: {exc}); run again with RRRS_DEBUG=1 for the details.")
        return 1


if __name__ == "__main__":
    sys.exit(main())
