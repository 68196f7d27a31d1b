"""One turn of a session transcript, and the two rules every format shares: times and speakers.

Times are seconds (`754.5`) or `[hh:]mm:ss(.f)` (`12:34.5`, `1:02:03`, SubRip's `00:12:34,500`); speakers are
mapped to 'therapist', 'patient' or 'other'. `T`, `P`, `Therapist`, `Patient` and `Client` (any case) map by
themselves; any other label must be mapped by the caller (`speaker_map`, `--speaker NAME=therapist`), because
guessing who spoke would put a patient's words under the therapist's codes. An unmapped label is an error
that names it and says how to map it; a label may be mapped to 'other' (an interpreter, a parent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rrrs_core.errors import LineProblem

SPEAKERS = ("therapist", "patient", "other")
AUTO_SPEAKERS = {"t": "therapist", "therapist": "therapist", "p": "patient", "patient": "patient",
                 "client": "patient"}
MAX_BYTES = 2_000_000  # ~10 hours of talk as WebVTT; a 50-minute session is ~60 kB. Bigger is not a transcript
MAX_TURNS = 5_000      # a 50-minute session has ~300 turns
MAX_TEXT = 5_000       # characters in one turn (about 10 minutes of uninterrupted speech)
MAX_SECONDS = 24 * 3600.0
_CLOCK = re.compile(r"(?:(\d{1,3}):)?(\d{1,3}):(\d{1,2}(?:[.,]\d{1,6})?)")
_SECONDS = re.compile(r"\d{1,6}(?:[.,]\d{1,6})?")


@dataclass(frozen=True)
class Turn:
    """One turn: its 1-based position in the file, its times in seconds from the session's start (None when
    the transcript has no times), who spoke (mapped) and the label as written, and what was said."""

    turn: int
    start: float | None
    end: float | None
    speaker: str
    label: str
    text: str


def problem(file: str, line: int | None, column: str | None, value: object, message: str) -> LineProblem:
    shown = None if value is None else str(value)
    if shown is not None and len(shown) > 60:
        shown = shown[:57] + "..."
    return LineProblem("error", file, line, column, shown, message)


def seconds(text: str) -> float | None:
    """A time as seconds, or None when it is not one (negative, malformed, minutes or seconds over 59 after
    hours, or over 24 hours)."""
    value = text.strip()
    if _SECONDS.fullmatch(value):
        out = float(value.replace(",", "."))
    elif m := _CLOCK.fullmatch(value):
        hours, minutes, secs = int(m[1] or 0), int(m[2]), float(m[3].replace(",", "."))
        if secs >= 60 or (m[1] is not None and minutes >= 60):
            return None
        out = hours * 3600 + minutes * 60 + secs
    else:
        return None
    return out if out <= MAX_SECONDS else None


def normalise_map(speaker_map: dict[str, str] | None) -> dict[str, str]:
    """The caller's mapping, keys folded to lower case; ValueError on a target that is not a speaker."""
    out: dict[str, str] = {}
    for name, target in (speaker_map or {}).items():
        role = str(target).strip().lower()
        if role not in SPEAKERS:
            raise ValueError(f"speaker '{name}' is mapped to '{target}'; map a speaker to therapist, patient or "
                             "other")
        out[str(name).strip().casefold()] = role
    return out


def speaker_of(label: str, mapping: dict[str, str]) -> str | None:
    """The mapped speaker of a label: the caller's mapping first, then the common labels; None if unknown."""
    key = label.strip().casefold()
    return mapping.get(key) or AUTO_SPEAKERS.get(key)


def unknown_speaker(file: str, line: int | None, label: str) -> LineProblem:
    if not label.strip():
        return problem(file, line, "speaker", "", "no speaker: give each turn a speaker (a 'Name:' prefix or a "
                                                  "<v Name> voice tag; T, P, Therapist, Patient map by themselves)")
    return problem(file, line, "speaker", label,
                   f"unknown speaker '{label}': map it, e.g. --speaker '{label}=therapist' (or =patient, =other)")
