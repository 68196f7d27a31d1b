"""Reading a transcript file: WebVTT (webvtt-py), SubRip (srt) or CSV, into checked `Turn`s or one error.

The libraries read the cues; rrrs checks what they let through, because webvtt-py silently drops a cue whose
timing it cannot read and neither knows a therapist from a patient. Each format yields raw turns (line,
start, end, label, text), and one shared pass checks times, speakers and text, so every format gets the same
rules and messages: file, line, column and value, every problem in one pass, nothing returned on any error.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import PurePath

from rrrs_core.errors import Problem, TranscriptError
from rrrs_core.transcripts.model import (
    MAX_BYTES,
    MAX_TEXT,
    MAX_TURNS,
    Turn,
    normalise_map,
    problem,
    seconds,
    speaker_of,
    unknown_speaker,
)

FORMATS = (".vtt", ".srt", ".csv")
TIMED_COLUMNS = ("start", "end", "speaker", "text")
UNTIMED_COLUMNS = ("turn", "speaker", "text")
MAX_PROBLEMS = 50
_TIMING = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)")
# "Name: words" at the start of a cue: up to 4 words before the colon, not a clock time ("12:30").
_DASH = re.compile(r"^\s*-\s+")
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")  # SubRip's <i>, <b>, <font ...> (WebVTT's are removed by webvtt-py)
_PREFIX = re.compile(r"^\s*([^\s:<>][^:<>\n]{0,39}?)\s*:\s+(.*)$", re.S)


@dataclass
class _Raw:
    line: int
    start: str | None
    end: str | None
    label: str
    text: str
    turn_given: str | None = None


def _fail(problems: list[Problem]) -> TranscriptError:
    return TranscriptError(problems[:MAX_PROBLEMS])


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        raise _fail([problem(name, line, f"byte {exc.start - line_start + 1}", data[exc.start:exc.end].hex(" "),
                             "not UTF-8 text: save the transcript as UTF-8")]) from None


def _split_label(text: str) -> tuple[str, str]:
    """('Name', 'words') from 'Name: words'; ('', text) when there is no label prefix."""
    text = _DASH.sub("", text, count=1)  # "- T: words": a dash that opens a speaker's line
    m = _PREFIX.match(text)
    if m is None or len(m[1].split()) > 4 or m[1].strip().isdigit():
        return "", text
    return m[1].strip(), m[2]


def _timing_lines(text: str) -> list[tuple[int, str, str]]:
    out = []
    for i, line in enumerate(text.splitlines(), start=1):
        if "-->" in line:
            m = _TIMING.match(line)
            out.append((i, m[1], m[2]) if m else (i, line.strip(), ""))
    return out


def _vtt(text: str, name: str) -> list[_Raw]:
    import webvtt
    from webvtt.errors import MalformedFileError

    try:
        captions = list(webvtt.from_string(text))
    except MalformedFileError as exc:
        raise _fail([problem(name, 1, None, text.splitlines()[0] if text else "",
                             f"not a WebVTT file ({exc}): it must start with the line WEBVTT")]) from None
    out, pending = [], iter(captions)
    for line, start, end in _timing_lines(text):
        caption = next(pending, None)
        if caption is None or seconds(caption.start) != seconds(start) or seconds(start) is None:
            raise _fail([problem(name, line, "start", start,
                                 "not a WebVTT cue timing: write [hh:]mm:ss.ttt --> [hh:]mm:ss.ttt")])
        label, words = (caption.voice, caption.text) if caption.voice else _split_label(caption.text)
        out.append(_Raw(line, start, end, label or "", words))
    return out


def _srt(text: str, name: str) -> list[_Raw]:
    import srt

    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        at = exc.expected_start
        shown = text[at:].strip().splitlines()[0] if text[at:].strip() else ""
        raise _fail([problem(name, text.count("\n", 0, at) + 1, None, shown,
                             "not a SubRip cue: write a number, then hh:mm:ss,ttt --> hh:mm:ss,ttt, then the "
                             "words, with a blank line between cues")]) from None
    timings = _timing_lines(text)
    if len(timings) != len(subtitles):
        raise _fail([problem(name, None, None, None, "the SubRip cues could not be read one by one")])
    out = []
    for (line, start, end), sub in zip(timings, subtitles, strict=True):
        label, words = _split_label(_TAG.sub("", sub.content))
        out.append(_Raw(line, start, end, label, words))
    return out


def _csv(text: str, name: str) -> list[_Raw]:
    first = text.splitlines()[0] if text else ""
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader, [])]
    timed = sorted(header) in (sorted(TIMED_COLUMNS), sorted((*TIMED_COLUMNS, "turn")))
    if not timed and sorted(header) != sorted(UNTIMED_COLUMNS):
        raise _fail([problem(name, 1, None, delimiter.join(header),
                             "the header must be start,end,speaker,text (times) or turn,speaker,text (no times)")])
    out, line = [], reader.line_num
    problems: list[Problem] = []
    for row in reader:
        row_line, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(problem(name, row_line, None, delimiter.join(row),
                                    f"{len(row)} fields; the header has {len(header)}"))
            continue
        cell = dict(zip(header, row, strict=True))
        out.append(_Raw(row_line, cell.get("start"), cell.get("end"), cell["speaker"].strip(), cell["text"],
                        cell.get("turn")))
    if problems:
        raise _fail(problems)
    return out


def _check(raw: list[_Raw], name: str, mapping: dict[str, str]) -> list[Turn]:
    problems: list[Problem] = []
    if not raw:
        raise _fail([problem(name, None, None, None, "the file holds no turns")])
    if len(raw) > MAX_TURNS:
        raise _fail([problem(name, raw[MAX_TURNS].line, None, len(raw),
                             f"more than {MAX_TURNS} turns: this is not one session's transcript")])
    timed = [r for r in raw if (r.start or "").strip() or (r.end or "").strip()]
    if timed and len(timed) != len(raw):
        bad = next(r for r in raw if r not in timed)
        problems.append(problem(name, bad.line, "start", "", "no times, while other turns have them: give every "
                                                             "turn a start and end, or none"))
    turns, unknown = [], set()
    for position, r in enumerate(raw, start=1):
        start = end = None
        if timed and r in timed:
            start, end = seconds(r.start or ""), seconds(r.end or "")
            for column, value, parsed in (("start", r.start, start), ("end", r.end, end)):
                if parsed is None:
                    problems.append(problem(name, r.line, column, value, "not a time: write seconds (754.5) or "
                                                                         "[hh:]mm:ss(.f) (12:34.5), under 24 h"))
            if start is not None and end is not None and end < start:
                problems.append(problem(name, r.line, "end", r.end, f"ends before it starts ({r.start})"))
        if r.turn_given is not None and r.turn_given.strip() != str(position):
            problems.append(problem(name, r.line, "turn", r.turn_given,
                                    f"turns are numbered 1, 2, 3 in file order: expected {position}"))
        words = " ".join(r.text.split())
        if not words:
            problems.append(problem(name, r.line, "text", "", "no words in this turn"))
        elif len(words) > MAX_TEXT:
            problems.append(problem(name, r.line, "text", words, f"longer than {MAX_TEXT} characters"))
        speaker = speaker_of(r.label, mapping)
        if speaker is None and r.label.casefold() not in unknown:  # each unknown label once, where it first is
            unknown.add(r.label.casefold())
            problems.append(unknown_speaker(name, r.line, r.label))
        if len(problems) >= MAX_PROBLEMS:
            break
        turns.append(Turn(position, start, end, speaker or "", r.label, words))
    if problems:
        raise _fail(problems)
    return turns


def parse(data: bytes, filename: str, speaker_map: dict[str, str] | None = None) -> list[Turn]:
    """The turns of one transcript file, checked, or TranscriptError listing every problem found."""
    name = PurePath(filename).name or "transcript"
    ext = PurePath(name).suffix.lower()
    if ext not in FORMATS:
        raise _fail([problem(name, None, None, ext or name, "not a transcript format: use .vtt (WebVTT), "
                                                            ".srt (SubRip) or .csv")])
    if len(data) > MAX_BYTES:
        raise _fail([problem(name, None, None, f"{len(data):,} bytes",
                             f"larger than {MAX_BYTES:,} bytes: not one session's transcript")])
    try:
        mapping = normalise_map(speaker_map)
    except ValueError as exc:
        raise _fail([problem(name, None, "speaker", None, str(exc))]) from None
    text = _decode(data, name)
    if not text.strip():
        raise _fail([problem(name, None, None, None, "the file is empty")])
    reader = {".vtt": _vtt, ".srt": _srt, ".csv": _csv}[ext]
    return _check(reader(text, name), name, mapping)
