"""Bench part `suggest` (#19): `rrrs suggest` on a 300-turn transcript, as a user runs it (a new process:
Python start-up, model load and fit, 300 turns), and `suggest()` warm in a process that already holds the
model (what the scoresheet pays per segment after its first)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.common import median_time

# Plain, invented session talk (not manual text), alternating speakers, lengths like a real session's turns.
LINES = (
    "So where would you like to start today?",
    "I don't know. It was a long week and work has been a lot, mostly the same as before.",
    "What was that like for you?",
    "Mm.",
    "I tried to do the exercise on Tuesday but I ran out of time, and then my sister called.",
    "You sound tired as you say that.",
    "Maybe. I guess I didn't sleep well, the neighbours were loud again until late.",
    "Can we stay with that for a moment?",
)


def transcript(n: int = 300) -> str:
    rows = ["start,end,speaker,text"]
    for i in range(n):
        speaker = "T" if i % 2 == 0 else "P"
        text = LINES[(i * 3 + i // 7) % len(LINES)]
        rows.append(f"{i * 10},{i * 10 + 9},{speaker},\"{text}\"")
    return "\n".join(rows) + "\n"


def bench_suggest(runs: int) -> str:
    from rrrs_core.suggest import suggest
    from rrrs_core.transcripts import parse

    rrrs = Path(sys.executable).with_name("rrrs")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "session.csv"
        src.write_text(transcript())
        cmd = [str(rrrs), "suggest", str(src), "--out", str(Path(tmp) / "out.csv")]
        n = max(1, min(runs, 3))
        t_cli = median_time(lambda: subprocess.run(cmd, check=True, capture_output=True), n)
        turns = parse(src.read_bytes(), src.name)
        start = time.perf_counter()
        suggest(turns[:2])
        t_load = time.perf_counter() - start
        t_warm = median_time(lambda: suggest(turns), runs)
    return ("\n## Code suggestions (#19)\n\n| what | time |\n|---|---|\n"
            f"| `rrrs suggest` on a 300-turn transcript (new process: start-up, model load and fit; median of {n}) "
            f"| {t_cli:.2f} s |\n"
            f"| first `suggest()` in a process (model load and fit, 2 turns; single run) | {t_load:.2f} s |\n"
            f"| `suggest()` on the 300 turns with the model loaded (median of {runs}) | {t_warm:.2f} s |\n")


if __name__ == "__main__":
    print(bench_suggest(3))
