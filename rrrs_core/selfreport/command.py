"""Self-report commands: `rrrs export selfreports`, `rrrs instruments`, and the `--instruments DIR` option.

`--instruments DIR` names a folder of a clinic's own instrument files for this command (it sets
`$RRRS_INSTRUMENTS`, which the app reads too). Every file in it is checked first: any refused file stops the
command with every problem listed (exit code 2), before the database is opened.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from rrrs_core.selfreport import registry

WithDb = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def add_instruments_option(p: argparse.ArgumentParser) -> None:
    """`--instruments DIR` on a command; its function then applies it (`use_instruments`) before it runs."""
    p.add_argument("--instruments", metavar="DIR",
                   help=f"folder of the clinic's own self-report instrument files (default: ${registry.ENV})")
    run = p.get_default("func")
    if run is not None and run is not cmd_export:

        def with_instruments(args: argparse.Namespace) -> int:
            use_instruments(args)
            return int(run(args))

        p.set_defaults(func=with_instruments)


def _connect(args: argparse.Namespace):  # -> duckdb connection
    """The CLI's way to open the store (`cli_store.connect`: --db, --data-path) where it exists."""
    try:
        from rrrs_core.cli_store import connect
    except ImportError:
        from rrrs_core import store

        return store.connect(args.db)
    return connect(args)


def use_instruments(args: argparse.Namespace) -> None:
    """Apply `--instruments` (if given) to this process and refuse the command if any instrument file is bad."""
    folder = getattr(args, "instruments", None)
    if folder:
        os.environ[registry.ENV] = str(Path(folder).resolve())
    registry.require_valid()


def cmd_export(args: argparse.Namespace) -> int:
    from rrrs_core import audit
    from rrrs_core.selfreport import export

    use_instruments(args)
    con = _connect(args)
    rows = export.frame(con)
    audit.record_cli(con, args.by, "export self-reports", "selfreports", f"{len(rows)} scale rows to {args.out}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_bytes(export.to_csv(rows))
    print(f"Wrote {len(rows)} self-report scale rows to {args.out}")
    return 0


def cmd_instruments(args: argparse.Namespace) -> int:
    """List the instruments usable now (shipped, the clinic's files, stored) and any refused file."""
    from rrrs_core.selfreport.schema import catalog

    folder = getattr(args, "instruments", None)
    if folder:
        os.environ[registry.ENV] = str(Path(folder).resolve())
    loaded = registry.load()
    cat = catalog(_connect(args)) if args.db else None  # with --db: the stored versions too
    instruments = cat.current if cat is not None else loaded.instruments
    for inst in sorted(instruments.values(), key=lambda i: i.id):
        scales = ", ".join(f"{s.key} ({s.scoring} of {len(s.items)})" for s in inst.scales)
        rules = ", ".join(r.name for r in inst.rules) or "none"
        print(f"{inst.id} {inst.version}: {inst.title}; answered by {', '.join(inst.respondents)}; "
              f"{len(inst.items)} items; scales {scales}; alerts {rules}")
    problems = cat.problems if cat is not None else loaded.problems
    for p in problems:
        print(p, file=sys.stderr)
    return 2 if problems else 0


def add_parsers(sub: argparse._SubParsersAction, export_sub: argparse._SubParsersAction, with_db: WithDb) -> None:
    p = with_db(export_sub.add_parser("selfreports", help="one row per session, respondent, instrument and scale "
                                                          "of the self-reports, with the alerts that fired"))
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--by", default="cli", help="who is exporting (audited, with the OS account)")
    p.set_defaults(func=cmd_export)
    add_instruments_option(p)
    p = with_db(sub.add_parser("instruments", help="list the self-report instruments and check a clinic's own "
                                                   "instrument files (exit code 2 if any is refused)"))
    p.set_defaults(func=cmd_instruments)
    add_instruments_option(p)
