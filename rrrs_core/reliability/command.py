"""`rrrs reliability --out FILE.csv [--coders A,B,...] [--db DB]` (registered by rrrs_core.cli).

The statistics are computed on a read-only connection; the export is then audited (like `rrrs export
summary`) on a writable one, and the CSV written only after that, so an export that could not be audited
leaves no file. Unknown coders and too few data exit 2 with one line saying what is missing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CSV_DECIMALS = 4


def parse_coders(text: str | None) -> tuple[str, ...]:
    """"C1, C2" -> ("C1", "C2"); empty entries are dropped."""
    return tuple(c.strip() for c in (text or "").split(",") if c.strip())


def cmd_reliability(args: argparse.Namespace) -> int:
    from rrrs_core import audit, export, store
    from rrrs_core.reliability.design import Design, ReliabilityInputError
    from rrrs_core.reliability.table import reliability, require_data

    coders = parse_coders(args.coders)
    if args.coders is not None and not coders:
        print("rrrs: --coders needs coder ids separated by commas, e.g. --coders C1,C2", file=sys.stderr)
        return 2
    if coders and args.reference:
        print("rrrs: give either --coders or --reference, not both", file=sys.stderr)
        return 2
    design = Design(coders=coders, reference_for=args.reference or None)
    con = store.connect(args.db, read_only=True)
    try:
        n_sessions, n_coders = require_data(con, design)
        frame = reliability(con, design)
    except ReliabilityInputError as exc:
        print(f"rrrs: {exc}", file=sys.stderr)
        return 2
    finally:
        con.close()
    con = store.connect(args.db)
    try:
        audit.record_cli(con, args.by, "export csv", "reliability",
                         f"{design.describe()}; {n_sessions} sessions, {n_coders} coders to {args.out}")
    finally:
        con.close()
    out = frame.copy()
    for col in ("value", "ci_low", "ci_high"):
        out[col] = out[col].astype(float).round(CSV_DECIMALS)
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(export.to_csv(out))
    print(f"Wrote {len(out)} rows to {path}: {design.describe()}; {n_sessions} sessions, {n_coders} coders")
    if design.reference_for is not None:
        from rrrs_core.reliability import calibration

        verdict, short = calibration.status(frame)
        print(f"{design.reference_for}: {verdict} ({calibration.DEFAULT.describe()})"
              + "".join(f"\n  short of it: {s}" for s in short))
    return 0


def add_reliability_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reliability", help="coder agreement: ICC per session value, kappa/AC1/alpha per "
                                           "segment code, one CSV row per item and statistic")
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--coders", help="compare these coders (comma-separated) on the sessions each of them coded "
                                    "(fully crossed); default: routine double-coding over the clinic")
    p.add_argument("--reference", metavar="CODER",
                   help="calibration: compare this coder with the reference codings of the calibration sessions "
                        "(fully crossed pair) and print whether they meet the criterion")
    p.add_argument("--db", help="DuckDB file (default: $RRRS_DB or data/rrrs.duckdb)")
    p.add_argument("--by", default="cli", help="who is exporting (audited, with the OS account)")
    p.set_defaults(func=cmd_reliability)
