"""Transcript and recording commands: `rrrs attach transcript|recording`, `rrrs transcript show|delete|purge`.

A bad transcript prints every problem (file, line, column, value) and exits 2 with nothing stored, like a bad
import (`cli.main` handles the TranscriptError). Each command acts as role "cli" for the `--by` name given,
audited with the OS account that ran it (rules.cli).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

WithDb = Callable[[argparse.ArgumentParser], argparse.ArgumentParser]


def _speaker_map(pairs: list[str] | None) -> dict[str, str]:
    from rrrs_core.errors import RrrsError

    out: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, role = pair.rpartition("=")
        if not sep or not name.strip():
            raise RrrsError(f"--speaker takes NAME=therapist, NAME=patient or NAME=other, not '{pair}'.")
        out[name.strip()] = role.strip()
    return out


def _read(path: Path) -> bytes:
    from rrrs_core.errors import RrrsError
    from rrrs_core.transcripts.model import MAX_BYTES

    if not path.is_file():
        raise RrrsError(f"No transcript file {path}.")
    if path.stat().st_size > MAX_BYTES:  # refused before reading a huge file into memory
        raise RrrsError(f"{path.name} is {path.stat().st_size:,} bytes, larger than {MAX_BYTES:,}: not one "
                        "session's transcript; nothing was stored.")
    return path.read_bytes()


def cmd_attach_transcript(args: argparse.Namespace) -> int:
    from rrrs_core.cli_store import connect
    from rrrs_core.transcripts import attach, parse, rules

    path = Path(args.file)
    turns = parse(_read(path), path.name, _speaker_map(args.speaker))  # checked before the store is opened
    con = connect(args)
    n = attach(con, rules.cli(args.by), args.dyad, args.session, turns, path.name)
    timed = "with times" if turns[0].start is not None else "without times (no segment alignment)"
    print(f"Attached {n} turns {timed} to dyad {args.dyad}, session {args.session} (from {path.name}).")
    return 0


def cmd_attach_recording(args: argparse.Namespace) -> int:
    from rrrs_core.cli_store import connect
    from rrrs_core.transcripts import rules, set_recording

    con = connect(args)
    relative = set_recording(con, rules.cli(args.by), args.dyad, args.session, args.path)
    print(f"Dyad {args.dyad}, session {args.session}: recording {relative} (in the media folder; not copied).")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from rrrs_core.cli_store import connect
    from rrrs_core.transcripts import export_csv, rules, segment_turns, turns

    con = connect(args)
    who = rules.cli(args.by)
    if args.csv:
        sys.stdout.write(export_csv(con, who, args.dyad, args.session).decode("utf-8"))
        return 0
    frame = (segment_turns(con, who, args.dyad, args.session, args.segment) if args.segment
             else turns(con, who, args.dyad, args.session))
    for row in frame.itertuples(index=False):
        at = "" if row.start != row.start or row.start is None else \
            f"[{int(row.start // 60):02d}:{int(row.start % 60):02d}] "
        print(f"{row.turn:>4} {at}{row.speaker}: {row.text}")
    if frame.empty:
        print("(no turns)", file=sys.stderr)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from rrrs_core.cli_store import connect
    from rrrs_core.transcripts import delete, rules

    con = connect(args)
    n = delete(con, rules.cli(args.by), args.dyad, args.session)
    print(f"Deleted the transcript of dyad {args.dyad}, session {args.session} ({n} turns).")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from rrrs_core.cli_store import connect
    from rrrs_core.transcripts import lake

    lake.purge(connect(args))
    print("No copy of a deleted transcript is left in the store's data files or older snapshots.")
    return 0


def _session(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dyad", required=True)
    p.add_argument("--session", required=True, type=int)
    p.add_argument("--by", default="cli", help="who is doing this (audited, with the OS account)")


def add_parsers(sub: argparse._SubParsersAction, with_db: WithDb) -> None:
    attach = sub.add_parser("attach", help="attach a transcript or a recording to a session"
                            ).add_subparsers(dest="what", required=True)
    p = with_db(attach.add_parser("transcript", help="a .vtt, .srt or .csv transcript (replaces an earlier one)"))
    p.add_argument("file")
    _session(p)
    p.add_argument("--speaker", action="append", metavar="NAME=ROLE",
                   help="map a speaker label to therapist, patient or other (repeatable); T, P, Therapist, "
                        "Patient, Client map by themselves")
    p.set_defaults(func=cmd_attach_transcript)
    p = with_db(attach.add_parser("recording", help="reference a recording file under $RRRS_MEDIA_ROOT"))
    p.add_argument("path", help="path relative to $RRRS_MEDIA_ROOT (or absolute, inside it)")
    _session(p)
    p.set_defaults(func=cmd_attach_recording)

    tx = sub.add_parser("transcript", help="show or delete a session's transcript"
                        ).add_subparsers(dest="what", required=True)
    p = with_db(tx.add_parser("show", help="print a session's transcript (audited)"))
    _session(p)
    p.add_argument("--segment", type=int, help="only the turns of this segment")
    p.add_argument("--csv", action="store_true", help="write CSV (turn,start,end,speaker,label,text) to stdout")
    p.set_defaults(func=cmd_show)
    p = with_db(tx.add_parser("delete", help="delete a session's transcript (audited; the text is removed)"))
    _session(p)
    p.set_defaults(func=cmd_delete)
    p = with_db(tx.add_parser("purge", help="shared store: remove the older copies of deleted transcripts (a "
                                            "delete does it; this finishes one that was interrupted)"))
    p.set_defaults(func=cmd_purge)
