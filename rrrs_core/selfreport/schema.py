"""The instruments in the store, and the SQL views that score self-reports and raise their alerts.

`install` runs at every connect (after the migrations): it copies any instrument definition the store does not
hold yet into the definition tables (migration 10) and creates the views. The views are plain SQL over those
tables, so a clinic's own instrument is scored with no generated SQL, and nothing is rewritten unless a new
definition (an id and version never stored) appears.

- `v_selfreport_scale` (dyad_id, session_number, respondent, instrument, instrument_version, scale, value,
  n_items, completed_on): each scale's sum or mean, only when every item of the scale was answered.
- `v_selfreport_alert` (dyad_id, session_number, respondent, instrument, rule, scale): the rules that fired.
  A `drop` rule compares a scale with the same respondent's previous *reported* session of that instrument
  (a window over the reports, so uncoded and unreported sessions in between do not matter); a `when` rule
  fires when all its conditions hold on that session's scales.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import duckdb

from rrrs_core.errors import Problem
from rrrs_core.selfreport import registry
from rrrs_core.selfreport.definition import Instrument, scoring
from rrrs_core.selfreport.parsing import parse
from rrrs_core.storage.writes import writing
from rrrs_core.views import _stale, _tag

SCALE_SQL = """
CREATE OR REPLACE VIEW v_selfreport_scale AS
SELECT r.dyad_id, r.session_number, r.respondent, r.instrument, r.instrument_version, d.scale,
    round(CASE WHEN any_value(d.scoring) = 'mean' THEN avg(r.value) ELSE sum(r.value) END, 9) AS value,
    count(*)::INTEGER AS n_items, max(r.completed_on) AS completed_on
FROM selfreport r
JOIN selfreport_scale_item d
  ON d.instrument = r.instrument AND d.version = r.instrument_version AND d.item = r.item
GROUP BY r.dyad_id, r.session_number, r.respondent, r.instrument, r.instrument_version, d.scale
HAVING count(*) = any_value(d.n_items)
"""

_HOLDS = ("CASE r.op WHEN '<' THEN s.value < r.threshold WHEN '<=' THEN s.value <= r.threshold "
          "WHEN '>' THEN s.value > r.threshold WHEN '>=' THEN s.value >= r.threshold "
          "WHEN '=' THEN abs(s.value - r.threshold) < 1e-9 END")
_RULE_JOIN = "r.instrument = s.instrument AND r.version = s.instrument_version AND r.on_scale = s.scale"

ALERT_SQL = f"""
CREATE OR REPLACE VIEW v_selfreport_alert AS
WITH dropped AS (
    SELECT s.dyad_id, s.session_number, s.respondent, s.instrument, r.rule, r.scale, r.threshold,
        lag(s.value) OVER (PARTITION BY s.dyad_id, s.respondent, s.instrument, r.rule
                           ORDER BY s.session_number) - s.value AS fall
    FROM v_selfreport_scale s JOIN selfreport_rule r ON {_RULE_JOIN} AND r.kind = 'drop'
),
met AS (
    SELECT s.dyad_id, s.session_number, s.respondent, s.instrument, r.rule, r.scale
    FROM v_selfreport_scale s JOIN selfreport_rule r ON {_RULE_JOIN} AND r.kind = 'when'
    WHERE {_HOLDS}
    GROUP BY s.dyad_id, s.session_number, s.respondent, s.instrument, r.rule, r.scale
    HAVING count(*) = any_value(r.n_conditions)
)
SELECT dyad_id, session_number, respondent, instrument, rule, scale FROM dropped WHERE fall >= threshold - 1e-9
UNION ALL
SELECT dyad_id, session_number, respondent, instrument, rule, scale FROM met
"""


@dataclass(frozen=True)
class Catalog:
    """The instruments a form or an import may use now (`current`: one version per id), every version the
    store holds (`stored`), and the problems of refused files."""

    current: dict[str, Instrument] = field(default_factory=dict)
    stored: dict[tuple[str, str], Instrument] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()


def _definition(inst: Instrument) -> str:
    return json.dumps(inst.canonical(), sort_keys=True, separators=(",", ":"))


def _stored(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    return con.execute("SELECT instrument, version, definition, origin FROM selfreport_instrument "
                       "ORDER BY added_at, instrument, version").fetchall()


def catalog(con: duckdb.DuckDBPyConnection, instruments: str | None = None) -> Catalog:
    """What is usable: the files' instruments (`instruments` as in `registry.load`), and for ids no file
    defines now, the latest version stored. A file that changes how a stored version scores is refused."""
    loaded = registry.load(instruments)
    stored: dict[tuple[str, str], Instrument] = {}
    latest: dict[str, Instrument] = {}
    texts: dict[tuple[str, str], str] = {}
    for ident, version, text, origin in _stored(con):
        inst, _ = parse(json.loads(text), origin, origin)
        if inst is not None:
            stored[(ident, version)] = latest[ident] = inst
            texts[(ident, version)] = text
    problems = list(loaded.problems)
    current = dict(latest)
    for ident, inst in loaded.instruments.items():
        key = (ident, inst.version)
        if key in texts and scoring(json.loads(texts[key])) != scoring(inst.canonical()):
            problems.append(Problem(
                "error", _file(inst), None, "version", inst.version,
                f"instrument {ident} version {inst.version} is already stored with scores and this file changes "
                "it; give the changed definition a new version (the stored one keeps scoring the stored data)"))
            continue
        current[ident] = inst
    return Catalog(current, stored, tuple(problems))


def _file(inst: Instrument) -> str:
    return "rrrs" if inst.origin == "rrrs" else inst.origin.rsplit("/", 1)[-1]


def _rows(inst: Instrument) -> tuple[list[tuple], list[tuple]]:
    scales = [(inst.id, inst.version, s.key, item, s.scoring, len(s.items), n)
              for s in inst.scales for n, item in enumerate(s.items)]
    rules = []
    for r in inst.rules:
        if r.drop is not None:
            rules.append((inst.id, inst.version, r.name, r.scale, "drop", r.scale, ">=", r.drop, 1))
        else:
            rules += [(inst.id, inst.version, r.name, r.scale, "when", c.scale, c.op, c.value, len(r.when))
                      for c in r.when]
    return scales, rules


def sync(con: duckdb.DuckDBPyConnection, instruments: str | None = None) -> Catalog:
    """Store every usable definition the store does not hold yet, and new labels, titles or sources of a
    stored version (they score nothing); returns the catalog as it is then."""
    cat = catalog(con, instruments)
    texts = {(a, b): t for a, b, t, _ in _stored(con)}
    new = [i for i in cat.current.values() if (i.id, i.version) not in texts]
    relabelled = [i for i in cat.current.values() if texts.get((i.id, i.version), _definition(i)) != _definition(i)]
    if not new and not relabelled:
        return cat
    with writing(con):
        for inst in relabelled:
            con.execute("UPDATE selfreport_instrument SET definition = ?, title = ?, origin = ? "
                        "WHERE instrument = ? AND version = ?",
                        [_definition(inst), inst.title, inst.origin, inst.id, inst.version])
        have = {(a, b) for a, b, _, _ in _stored(con)}  # again, inside the lock: another process may have added
        for inst in (i for i in new if (i.id, i.version) not in have):
            con.execute("INSERT INTO selfreport_instrument VALUES (?, ?, ?, ?, ?, current_localtimestamp())",
                        [inst.id, inst.version, inst.title, _definition(inst), inst.origin])
            scales, rules = _rows(inst)
            con.executemany("INSERT INTO selfreport_scale_item VALUES (?, ?, ?, ?, ?, ?, ?)", scales)
            if rules:
                con.executemany("INSERT INTO selfreport_rule VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rules)
    return catalog(con, instruments)


VIEWS = [("v_selfreport_scale", SCALE_SQL), ("v_selfreport_alert", ALERT_SQL)]


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """Make the views that are missing or differ from the code (tagged like `views.create_views`'), so a
    connect writes nothing when they are current (several servers share one store)."""
    if not _stale(con, VIEWS):
        return
    with writing(con):
        for name, sql in _stale(con, VIEWS):
            con.execute(sql)
            con.execute(f"COMMENT ON VIEW {name} IS '{_tag(sql)}'")


def install(con: duckdb.DuckDBPyConnection) -> None:
    """At connect, after the migrations: definitions synced (refused files are left out, and reported where
    instruments are listed: `catalog(con).problems`), views created."""
    sync(con)
    create_views(con)
