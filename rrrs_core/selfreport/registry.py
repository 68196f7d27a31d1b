"""Which instruments exist: the shipped files, a clinic's own files, and every version stored with scores.

A clinic adds an instrument without code changes: a `.toml` (or `.json`) file in a folder named by
`$RRRS_INSTRUMENTS` (several folders separated by `os.pathsep`; the CLI's `--instruments DIR` sets it).
Each file is checked whole (`parsing.parse`); a file with any problem is refused and its problems kept
(`load().problems`), so the CLI can report them and the app can show them. A file may not reuse a shipped id
or another file's id.

Definitions are copied into the store with the scores (`schema.sync`), one row per (id, version): stored
scores keep being scored by the definition they were entered under even if the file goes away. A changed
definition therefore needs a new version; a file that changes a stored version is refused.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rrrs_core.errors import Problem, RrrsError
from rrrs_core.selfreport.definition import Instrument
from rrrs_core.selfreport.parsing import parse

SHIPPED_DIR = Path(__file__).parent / "instruments"
ENV = "RRRS_INSTRUMENTS"
SUFFIXES = (".toml", ".json")
MAX_FILE = 256 * 1024


@dataclass(frozen=True)
class Loaded:
    """The instruments read from files (by id) and the problems of refused files."""

    instruments: dict[str, Instrument] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()


def _read(path: Path) -> tuple[dict | None, list[Problem]]:
    name = path.name
    try:
        if path.stat().st_size > MAX_FILE:
            return None, [Problem("error", name, None, None, None, f"larger than {MAX_FILE // 1024} KB: not an "
                                                                  "instrument definition")]
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [Problem("error", name, None, None, None, f"not UTF-8 text ({exc.reason}); save it as UTF-8")]
    except OSError as exc:
        return None, [Problem("error", name, None, None, None, f"cannot be read: {exc.strerror}")]
    try:
        data = tomllib.loads(raw) if path.suffix.lower() == ".toml" else json.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        return None, [Problem("error", name, None, None, None, f"not valid TOML: {exc}")]
    except json.JSONDecodeError as exc:
        return None, [Problem("error", name, exc.lineno, None, None, f"not valid JSON: {exc.msg}")]
    if not isinstance(data, dict):
        return None, [Problem("error", name, None, None, None, "must hold one instrument (a table / an object)")]
    return data, []


def read_file(path: Path, origin: str | None = None) -> tuple[Instrument | None, list[Problem]]:
    """One instrument file, checked whole: (instrument, []) or (None, every problem)."""
    data, problems = _read(path)
    if data is None:
        return None, problems
    return parse(data, path.name, origin or str(path))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


@lru_cache(maxsize=1)
def shipped() -> dict[str, Instrument]:
    """The instruments rrrs ships (SRS, WAI-SR, rupture items); a broken shipped file is a bug, so it raises."""
    out: dict[str, Instrument] = {}
    for path in _files(SHIPPED_DIR):
        inst, problems = read_file(path, origin="rrrs")
        if inst is None:
            raise RrrsError("; ".join(str(p) for p in problems))
        out[inst.id] = inst
    return out


def _dirs(value: str | None) -> list[Path]:
    return [Path(p) for p in (value or "").split(os.pathsep) if p.strip()]


def _signature(dirs: list[Path]) -> tuple:
    """What the loaded set depends on: each folder's files with their size and modification time."""
    sig = []
    for d in dirs:
        try:
            sig.append((str(d), tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in _files(d))))
        except OSError:
            sig.append((str(d), None))
    return tuple(sig)


def load(value: str | None = None) -> Loaded:
    """The shipped instruments plus those in the folders of `value` (default `$RRRS_INSTRUMENTS`)."""
    dirs = _dirs(os.environ.get(ENV) if value is None else value)
    return _load(tuple(str(d) for d in dirs), _signature(dirs))


@lru_cache(maxsize=8)
def _load(dirs: tuple[str, ...], _signature: tuple) -> Loaded:
    instruments = dict(shipped())
    problems: list[Problem] = []
    for d in map(Path, dirs):
        if not d.is_dir():
            problems.append(Problem("error", str(d), None, None, None,
                                    f"no such folder (from ${ENV} or --instruments)"))
            continue
        for path in _files(d):
            inst, found = read_file(path)
            if inst is not None and inst.id in instruments:
                other = instruments[inst.id]
                where = "shipped with rrrs" if other.origin == "rrrs" else f"defined in {Path(other.origin).name}"
                found = [Problem("error", path.name, None, "id", inst.id,
                                 f"this id is already {where}; give this instrument another id")]
            if found:
                problems += found
            elif inst is not None:
                instruments[inst.id] = inst
    return Loaded(instruments, tuple(problems))


def require_valid(value: str | None = None) -> Loaded:
    """`load`, raising ValidationError with every problem when any file was refused (the CLI's check)."""
    from rrrs_core.errors import ValidationError

    loaded = load(value)
    if loaded.problems:
        raise ValidationError(list(loaded.problems))
    return loaded
