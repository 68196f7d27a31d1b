"""`rrrs suggest TRANSCRIPT --out FILE.csv`: the suggestions a coder would be shown, per turn, as CSV.

Reads the same formats as `rrrs attach transcript` (tx-core's `transcripts.parse`; `turn, speaker, text`
is enough). A bad file prints every problem (file, line, column, value) and exits 2 (cli.main handles the
TranscriptError); nothing is written then.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def cmd_suggest(args: argparse.Namespace) -> int:
    from rrrs_core.errors import RrrsError
    from rrrs_core.transcripts import parse
    from rrrs_core.transcripts.command import _read, _speaker_map

    path = Path(args.transcript)
    turns = parse(_read(path), path.name, _speaker_map(args.speaker))
    out = Path(args.out)
    if not out.parent.is_dir():
        raise RrrsError(f"--out {out}: the folder {out.parent} does not exist")
    from rrrs_core.suggest.engine import suggest

    started = time.perf_counter()
    frame = suggest(turns, args.model)
    frame.to_csv(out, index=False)
    print(f"{len(frame)} suggestions for {frame['turn'].nunique()} of {len(turns)} turns -> {out} "
          f"({time.perf_counter() - started:.1f} s). Suggestions only: a trained coder decides.", file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("suggest", help="suggest 3RS codes for each turn of a transcript (a coder confirms them)")
    p.add_argument("transcript", help="a .vtt, .srt or .csv transcript (turn,speaker,text is enough)")
    p.add_argument("--out", required=True, help="CSV to write: turn,speaker,code,family,score")
    p.add_argument("--speaker", action="append", metavar="NAME=ROLE",
                   help="map a speaker label to therapist, patient or other (repeatable)")
    p.add_argument("--model", choices=("lexical", "embedding"),
                   help="override the default model (README 'Code suggestions')")
    p.set_defaults(func=cmd_suggest)
