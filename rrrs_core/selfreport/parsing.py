"""Reading an instrument file's content into an `Instrument`, checked like an import.

Every problem names the file, the field (`items[2].max`, `rules[0].when[1].op`) and the value; a file with any
problem is refused whole: a half-read instrument would score stored data wrong.
"""

from __future__ import annotations

import math
import re
from typing import Any

from rrrs_core.errors import Problem
from rrrs_core.selfreport.definition import (
    KEY,
    MAX_ITEMS,
    MAX_LABEL,
    OPS,
    RESPONDENTS,
    SCORINGS,
    VERSION,
    Condition,
    Instrument,
    Item,
    Rule,
    Scale,
    fmt,
    on_step,
)


class _Reader:
    """Collects problems while reading one file's fields (file, field, value in each)."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def bad(self, where: str, value: object, message: str) -> None:
        shown = None if value is None else str(value)[:80]
        self.problems.append(Problem("error", self.file, None, where, shown, message))

    def text(self, d: dict, key: str, where: str, *, pattern: re.Pattern[str] | None = None,
             required: bool = True, default: str = "") -> str:
        value = d.get(key)
        if value is None:
            if required:
                self.bad(where, None, "is required")
            return default
        if not isinstance(value, str) or not value.strip():
            self.bad(where, value, "must be non-empty text")
            return default
        if pattern is not None and not pattern.fullmatch(value):
            self.bad(where, value, "must be lower-case letters, digits and _ (at most 32 characters)"
                     if pattern is KEY else "must be letters, digits, '.', '_' or '-' (at most 16 characters)")
        elif len(value) > MAX_LABEL and pattern is None and key in ("label", "title"):
            self.bad(where, value, f"is longer than {MAX_LABEL} characters; use a short label (no item wording)")
        return value

    def number(self, d: dict, key: str, where: str, default: float | None = None) -> float | None:
        value = d.get(key, default)
        if value is None and default is None and key in d:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.bad(where, value, "must be a number")
            return None
        return float(value)

    def table_list(self, d: dict, key: str, where: str) -> list[dict]:
        value = d.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.bad(where, value, "must be a list of tables ([[" + key + "]])")
            return []
        return value

    def unknown(self, d: dict, known: set[str], where: str) -> None:
        for k in sorted(set(d) - known):
            self.bad(f"{where}{k}", d[k], "unknown field; known: " + ", ".join(sorted(known)))


def _item(r: _Reader, d: dict, n: int) -> Item | None:
    at = f"items[{n}]."
    r.unknown(d, {"key", "label", "min", "max", "step", "yes_no", "required"}, at)
    yes_no = d.get("yes_no", False)
    if not isinstance(yes_no, bool):
        r.bad(at + "yes_no", yes_no, "must be true or false")
        yes_no = False
    required = d.get("required", True)
    if not isinstance(required, bool):
        r.bad(at + "required", required, "must be true or false")
        required = True
    key = r.text(d, "key", at + "key", pattern=KEY)
    label = r.text(d, "label", at + "label")
    if yes_no:
        for k, v in (("min", 0), ("max", 1), ("step", 1)):
            if k in d and d[k] != v:
                r.bad(at + k, d[k], f"a yes/no item is stored as 0 (no) or 1 (yes): leave {k} out or set it to {v}")
        lo, hi, step = 0.0, 1.0, 1.0
    else:
        lo, hi = r.number(d, "min", at + "min"), r.number(d, "max", at + "max")
        step = r.number(d, "step", at + "step", default=1.0)
        if lo is None or hi is None or step is None:
            return None
        if hi <= lo:
            r.bad(at + "max", d.get("max"), f"must be greater than min ({fmt(lo)})")
            return None
        if step <= 0 or not on_step(hi, lo, step):
            r.bad(at + "step", d.get("step"), f"must be positive and divide max - min ({fmt(hi - lo)})")
            return None
    return Item(key, label, lo, hi, step, yes_no, required)


def _scale(r: _Reader, d: dict, n: int, items: dict[str, Item]) -> Scale | None:
    at = f"scales[{n}]."
    r.unknown(d, {"key", "label", "items", "scoring"}, at)
    key = r.text(d, "key", at + "key", pattern=KEY)
    label = r.text(d, "label", at + "label")
    scoring = r.text(d, "scoring", at + "scoring", default="sum")
    if scoring not in SCORINGS:
        r.bad(at + "scoring", scoring, "must be sum or mean")
    members = d.get("items")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        r.bad(at + "items", members, "must be a non-empty list of item keys")
        return None
    for m in members:
        if m not in items:
            r.bad(at + "items", m, "no such item in this instrument; items: " + ", ".join(items))
    if len(set(members)) != len(members):
        r.bad(at + "items", members, "lists an item twice")
    return Scale(key, label, tuple(members), scoring)


def _rule(r: _Reader, d: dict, n: int, scales: dict[str, Scale]) -> Rule | None:
    at = f"rules[{n}]."
    r.unknown(d, {"name", "label", "scale", "when", "drop", "source"}, at)
    name = r.text(d, "name", at + "name", pattern=KEY)
    label = r.text(d, "label", at + "label")
    scale = r.text(d, "scale", at + "scale", pattern=KEY)
    source = r.text(d, "source", at + "source", required=False)
    if scale and scale not in scales:
        r.bad(at + "scale", scale, "no such scale in this instrument; scales: " + ", ".join(scales))
    drop = r.number(d, "drop", at + "drop") if "drop" in d else None
    when: list[Condition] = []
    raw = d.get("when")
    if (drop is None) == (raw is None):
        r.bad(at + "when", raw, "give either drop = <points> or when = [conditions], not both or neither")
        return None
    if drop is not None and drop <= 0:
        r.bad(at + "drop", drop, "must be a positive number of points")
    for k, c in enumerate(raw or []):
        cat = f"{at}when[{k}]."
        if not isinstance(c, dict):
            r.bad(cat[:-1], c, "must be a table such as { scale = \"total\", op = \"<\", value = 36 }")
            continue
        r.unknown(c, {"scale", "op", "value"}, cat)
        cs, op, value = c.get("scale"), c.get("op"), r.number(c, "value", cat + "value")
        if cs not in scales:
            r.bad(cat + "scale", cs, "no such scale in this instrument; scales: " + ", ".join(scales))
        if op not in OPS:
            r.bad(cat + "op", op, "must be one of " + " ".join(OPS))
        if value is not None and cs in scales and op in OPS:
            when.append(Condition(cs, op, value))
    if raw is not None and not raw:
        r.bad(at + "when", raw, "needs at least one condition")
    return Rule(name, label, scale, tuple(when), drop, source)


def parse(data: dict[str, Any], file: str, origin: str | None = None) -> tuple[Instrument | None, list[Problem]]:
    """An instrument from a file's parsed content, or None and every problem found (the file is refused)."""
    r = _Reader(file)
    r.unknown(data, {"id", "version", "title", "respondents", "source", "items", "scales", "rules"}, "")
    ident = r.text(data, "id", "id", pattern=KEY)
    version = data.get("version")
    version = str(version) if isinstance(version, int | float) and not isinstance(version, bool) else version
    version = r.text({"version": version}, "version", "version", pattern=VERSION)
    title = r.text(data, "title", "title")
    source = r.text(data, "source", "source", required=False)
    respondents = data.get("respondents")
    if not isinstance(respondents, list) or not respondents or any(x not in RESPONDENTS for x in respondents):
        r.bad("respondents", respondents, "must be a list of patient and/or therapist")
        respondents = []
    items: dict[str, Item] = {}
    raw_items = r.table_list(data, "items", "items")
    if not raw_items:
        r.bad("items", None, "needs at least one [[items]] table")
    if len(raw_items) > MAX_ITEMS:
        r.bad("items", len(raw_items), f"at most {MAX_ITEMS} items")
    for n, d in enumerate(raw_items):
        item = _item(r, d, n)
        if item and item.key in items:
            r.bad(f"items[{n}].key", item.key, "is used by an earlier item")
        elif item:
            items[item.key] = item
    scales: dict[str, Scale] = {}
    raw_scales = r.table_list(data, "scales", "scales")
    if not raw_scales:
        r.bad("scales", None, "needs at least one [[scales]] table (e.g. key = \"total\")")
    for n, d in enumerate(raw_scales):
        scale = _scale(r, d, n, items)
        if scale and scale.key in scales:
            r.bad(f"scales[{n}].key", scale.key, "is used by an earlier scale")
        elif scale:
            scales[scale.key] = scale
    rules: list[Rule] = []
    for n, d in enumerate(r.table_list(data, "rules", "rules")):
        rule = _rule(r, d, n, scales)
        if rule and any(x.name == rule.name for x in rules):
            r.bad(f"rules[{n}].name", rule.name, "is used by an earlier rule")
        elif rule:
            rules.append(rule)
    if r.problems:
        return None, r.problems
    return Instrument(ident, version, title, tuple(respondents), tuple(items.values()), tuple(scales.values()),
                      tuple(rules), source, origin or file), []
