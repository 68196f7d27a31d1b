"""A self-report instrument as data: items with ranges, scales with their scoring, and alert rules.

Instruments are files (TOML), like the codebook is data: the three shipped ones live in `instruments/`, and a
clinic adds its own by dropping a file in `$RRRS_INSTRUMENTS` (see `instruments/README.md` for the format).
`parsing.parse` checks a file like the importer checks a table: every problem names the file, the field and the
value, and a file with any problem is refused whole (a half-read instrument would score stored data wrong).
Only scores are stored; the wording of licensed forms is never shipped, only short labels.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

RESPONDENTS = ("patient", "therapist")
SCORINGS = ("sum", "mean")
OPS = ("<", "<=", ">", ">=", "=")
KEY = re.compile(r"[a-z0-9][a-z0-9_]{0,31}")
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,15}")
MAX_LABEL = 80
MAX_ITEMS = 60


@dataclass(frozen=True)
class Item:
    """One answer on the form: a number from `min` to `max` in steps of `step` (a yes/no item is 0/1)."""

    key: str
    label: str
    min: float
    max: float
    step: float
    yes_no: bool = False
    required: bool = True  # False: may be left empty (e.g. how much tension, when no rupture was reported)

    def problem(self, value: float) -> str | None:
        """Why `value` is not a valid answer to this item, or None."""
        if not math.isfinite(value) or value < self.min - 1e-9 or value > self.max + 1e-9:
            return f"must be from {fmt(self.min)} to {fmt(self.max)}"
        if not on_step(value, self.min, self.step):
            return f"must be in steps of {fmt(self.step)} (from {fmt(self.min)})"
        return None


@dataclass(frozen=True)
class Scale:
    """A score over some items: their sum or mean; scored only when all its items were answered."""

    key: str
    label: str
    items: tuple[str, ...]
    scoring: str

    def bounds(self, items: dict[str, Item]) -> tuple[float, float]:
        lo, hi = sum(items[i].min for i in self.items), sum(items[i].max for i in self.items)
        n = len(self.items) if self.scoring == "mean" else 1
        return lo / n, hi / n


@dataclass(frozen=True)
class Condition:
    scale: str
    op: str
    value: float


@dataclass(frozen=True)
class Rule:
    """An alert: `drop` set fires when `scale` is at least `drop` lower than at the respondent's previous
    reported session of this instrument; otherwise it fires when every condition in `when` holds."""

    name: str
    label: str
    scale: str  # the scale whose row carries the alert (export, charts)
    when: tuple[Condition, ...] = ()
    drop: float | None = None
    source: str = ""


@dataclass(frozen=True)
class Instrument:
    id: str
    version: str
    title: str
    respondents: tuple[str, ...]
    items: tuple[Item, ...]
    scales: tuple[Scale, ...]
    rules: tuple[Rule, ...] = ()
    source: str = ""
    origin: str = "rrrs"  # "rrrs" for a shipped instrument, else the file it was read from
    _by_key: dict[str, Item] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {i.key: i for i in self.items})

    @property
    def item_keys(self) -> tuple[str, ...]:
        return tuple(i.key for i in self.items)

    def item(self, key: str) -> Item:
        return self._by_key[key]

    def scale(self, key: str) -> Scale:
        return next(s for s in self.scales if s.key == key)

    def cutoff(self, scale: str = "total") -> float | None:
        """The threshold of a rule that fires when `scale` is below it (the SRS's 36), for a chart's band."""
        for r in self.rules:
            if r.drop is None and len(r.when) == 1 and r.when[0].scale == scale and r.when[0].op == "<":
                return r.when[0].value
        return None

    def canonical(self) -> dict[str, Any]:
        """The definition as plain data (what is stored with the scores, to detect a changed file)."""
        def rule(r: Rule) -> dict[str, Any]:
            out: dict[str, Any] = {"name": r.name, "label": r.label, "scale": r.scale}
            if r.drop is not None:
                out["drop"] = r.drop
            else:
                out["when"] = [{"scale": c.scale, "op": c.op, "value": c.value} for c in r.when]
            return out | ({"source": r.source} if r.source else {})

        out: dict[str, Any] = {
            "id": self.id, "version": self.version, "title": self.title, "respondents": list(self.respondents),
            "items": [{"key": i.key, "label": i.label, "min": i.min, "max": i.max, "step": i.step,
                       "yes_no": i.yes_no, "required": i.required} for i in self.items],
            "scales": [{"key": s.key, "label": s.label, "items": list(s.items), "scoring": s.scoring}
                       for s in self.scales],
            "rules": [rule(r) for r in self.rules],
        }
        return out | ({"source": self.source} if self.source else {})


def scoring(data: dict[str, Any]) -> dict[str, Any]:
    """The parts of a canonical definition that decide stored scores and alerts (not labels, titles, sources,
    respondents or which items are optional): what a new version is needed to change."""
    return {
        "items": [{k: i[k] for k in ("key", "min", "max", "step", "yes_no")} for i in data["items"]],
        "scales": [{k: s[k] for k in ("key", "items", "scoring")} for s in data["scales"]],
        "rules": [{k: r.get(k) for k in ("name", "scale", "drop", "when")} for r in data["rules"]],
    }


def fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def on_step(value: float, start: float, step: float) -> bool:
    k = (value - start) / step
    return abs(k - round(k)) < 1e-6
