"""The optional fourth table, `selfreports`: its validation rules, typed form, comparison with the store and write.

Columns: dyad_id, session_number, respondent (patient or therapist), instrument (an instrument id), item (one of
its item keys), value (a number in the item's range and step; a yes/no item also takes yes/no, true/false),
optional completed_on (YYYY-MM-DD). One row per answer. The instruments are the store's catalog
(`selfreport.schema.catalog`: the shipped ones and a clinic's own files).

Validation is set-based SQL like the rest of the importer (`rules`). A clean file, the usual case, costs one
join of its rows with the item table (`screen`) and one aggregation per form (`sum_selfreports`): when every
row is in the form no rule can fault, the row rules are skipped and the duplicate, date and completeness
checks read the per-form summary. Otherwise the row rules below join the one scan of `stg_selfreports` (each
instrument's item, respondent and value rules are plain conditions on it) and every problem is reported. A
self-reported session need not be in `session` (most are never coded); its dyad must be stored or in the same
import. Writing is `selfreport_load`.
"""

from __future__ import annotations

import duckdb

from rrrs_core.importing.format import FALSE_WORDS, SELFREPORTS, TRUE_WORDS, StagedTable
from rrrs_core.importing.selfreport_load import (  # the write half, used by `api`, `typed`, `consistency`
    NUMBER,
    SUMMARY,
    SelfReportCounts,
    build_typed,
    conflicts,
    incomplete,
    plan,
    write,
)
from rrrs_core.selfreport.definition import RESPONDENTS, Instrument, fmt
from rrrs_core.selfreport.schema import Catalog, catalog
from rrrs_core.store import scalar

__all__ = ["SelfReportCounts", "build_typed", "conflicts", "cross_rules", "define", "drop", "incomplete", "plan",
           "row_rules", "screen", "staged_catalog", "write"]

WORDS = sorted(TRUE_WORDS + FALSE_WORDS)
TEMP = ("sr_items", "sr_match", "sr_dyads", "sr_stored", SUMMARY)


def define(con: duckdb.DuckDBPyConnection, cat: Catalog) -> None:
    """`sr_items`: every item of the instruments a row may name (the current version of each id), with its
    range, step, kind and the instrument's respondents (the screen below reads them)."""
    rows = [(i.id, i.version, it.key, it.yes_no, it.required, it.min, it.max, it.step, list(i.respondents))
            for i in cat.current.values() for it in i.items]
    con.execute("CREATE OR REPLACE TEMP TABLE sr_items (instrument VARCHAR, version VARCHAR, item VARCHAR, "
                "yes_no BOOLEAN, required BOOLEAN, lo DOUBLE, hi DOUBLE, step DOUBLE, respondents VARCHAR[])")
    con.executemany("INSERT INTO sr_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


# A row no rule can fault, in the form a clean file has (exact lower-case words, a plain session number, a
# dyad stored or in this import's sessions, a date as YYYY-MM-DD, no stray spaces); every plain rule's
# condition implies this one is false. The typed view reads such rows with plain casts (`selfreport_load`).
CLEAN = """coalesce(
    d.item IS NOT NULL AND list_contains(d.respondents, t.respondent)
    AND t.dyad_id IN (SELECT dyad_id FROM sr_dyads)
    AND t.session_number GLOB '[1-9]*' AND NOT t.session_number GLOB '*[!0-9]*' AND length(t.session_number) <= 6
    AND try_cast(t.session_number AS INTEGER) <= 100000
    AND CASE WHEN d.yes_no THEN list_contains(['yes', 'no', '1', '0'], t.value)
             ELSE try_cast(t.value AS DOUBLE) BETWEEN d.lo AND d.hi
                  AND abs((try_cast(t.value AS DOUBLE) - d.lo) / d.step
                          - round((try_cast(t.value AS DOUBLE) - d.lo) / d.step)) < 1e-6 END
    AND (t.completed_on IS NULL OR (length(t.completed_on) = 10 AND try_cast(t.completed_on AS DATE) IS NOT NULL)),
    false)"""


def screen(con: duckdb.DuckDBPyConnection) -> bool:
    """Is every row clean (`CLEAN`)? Then no plain rule can fire, and the per-form summary `sum_selfreports`
    (one row per form: rows, two dates or not, dated rows, rows of required items) answers the date and
    completeness questions. No DISTINCT aggregates (they tripled its cost): the required rows count the
    required items once duplicates are ruled out, which the duplicate rule does (an error) before anyone
    reads the count."""
    con.execute("CREATE OR REPLACE TEMP TABLE sr_dyads AS SELECT dyad_id FROM dyad "
                "UNION SELECT dyad_id FROM stg_sessions WHERE dyad_id IS NOT NULL")
    frm = "stg_selfreports t LEFT JOIN sr_items d ON d.instrument = t.instrument AND d.item = t.item"
    if scalar(con, f"SELECT count(*) FROM {frm} WHERE NOT {CLEAN}"):
        return False
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {SUMMARY} AS
        SELECT t.dyad_id, t.session_number, t.respondent, t.instrument, count(*) AS n,
            min(t.completed_on) <> max(t.completed_on) AS two_dates, count(t.completed_on) AS dated,
            count(CASE WHEN d.required THEN 1 END) AS required_n
        FROM {frm} GROUP BY ALL""")
    return True


def _groups(inst: Instrument) -> dict[tuple[float, float, float, bool], list[str]]:
    """Items sharing a range, step and kind: one rule each (the SRS's four items are one condition)."""
    out: dict[tuple[float, float, float, bool], list[str]] = {}
    for it in inst.items:
        out.setdefault((it.min, it.max, it.step, it.yes_no), []).append(it.key)
    return out


def row_rules(rule: type, cat: Catalog) -> list:
    """The rules (as `rules.Rule`) over `stg_selfreports` t; all plain, so they share one scan."""
    ids = sorted(cat.current)
    out = [
        rule(SELFREPORTS, "respondent", "t.respondent IS NOT NULL AND NOT list_contains(?::VARCHAR[], "
             "lower(t.respondent))", "respondent must be patient or therapist", (list(RESPONDENTS),)),
        rule(SELFREPORTS, "instrument", "t.instrument IS NOT NULL AND NOT list_contains(?::VARCHAR[], t.instrument)",
             "unknown instrument; known: " + ", ".join(ids) + " (a clinic's own instruments: README, "
             "'Self-report instruments')", (ids,)),
        rule(SELFREPORTS, "completed_on",
             "t.completed_on IS NOT NULL AND try_strptime(t.completed_on, '%Y-%m-%d') IS NULL",
             "must be a date written YYYY-MM-DD, e.g. 2026-03-14"),
    ]
    for inst in (cat.current[i] for i in ids):
        this = f"t.instrument = '{inst.id}'"  # ids are checked [a-z0-9_] (definition.KEY): safe as a literal
        out.append(rule(SELFREPORTS, "item", f"{this} AND t.item IS NOT NULL AND NOT list_contains(?::VARCHAR[], "
                        "t.item)", f"not an item of {inst.id}; its items: {', '.join(inst.item_keys)}",
                        (list(inst.item_keys),)))
        out.append(rule(SELFREPORTS, "respondent", f"{this} AND list_contains(?::VARCHAR[], lower(t.respondent)) "
                        "AND NOT list_contains(?::VARCHAR[], lower(t.respondent))",
                        f"{inst.id} is answered by: {', '.join(inst.respondents)}",
                        (list(RESPONDENTS), list(inst.respondents))))
        for (lo, hi, step, yes_no), keys in _groups(inst).items():
            mine = f"{this} AND t.value IS NOT NULL AND list_contains(?::VARCHAR[], t.item)"
            if yes_no:
                out.append(rule(SELFREPORTS, "value", f"{mine} AND NOT list_contains(?::VARCHAR[], lower(t.value)) "
                                f"AND {NUMBER} IS DISTINCT FROM 0 AND {NUMBER} IS DISTINCT FROM 1",
                                "must be yes or no (or 1 / 0)", (keys, WORDS)))
                continue
            what = f"{inst.id} {', '.join(keys) if len(keys) < 5 else 'items'}"
            out += [
                rule(SELFREPORTS, "value", f"{mine} AND {NUMBER} IS NULL", "must be a number", (keys,)),
                rule(SELFREPORTS, "value", f"{mine} AND NOT ({NUMBER} BETWEEN {lo!r} AND {hi!r})",
                     f"out of range: {what} must be from {fmt(lo)} to {fmt(hi)}", (keys,)),
                rule(SELFREPORTS, "value", f"{mine} AND {NUMBER} BETWEEN {lo!r} AND {hi!r} AND "
                     f"abs(({NUMBER} - {lo!r}) / {step!r} - round(({NUMBER} - {lo!r}) / {step!r})) > 1e-6",
                     f"off-step: {what} go in steps of {fmt(step)}", (keys,)),
            ]
    return out


def _number(column: str) -> str:
    return f"coalesce(try_cast({column} AS HUGEINT)::VARCHAR, {column})"


def cross_rules(rule: type, clean: bool = False) -> list:
    """Duplicates within the file, one date per form, and the dyad (stored, or in this import's sessions).
    `clean` (`screen` passed): their prechecks read the per-form summary."""
    key = f"dyad_id, {_number('session_number')}, lower(respondent), instrument, item"
    form = f"dyad_id, {_number('session_number')}, lower(respondent), instrument"
    dup = f"(SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY _row) AS _n FROM stg_selfreports) t"
    first = (f"(SELECT *, first_value(completed_on) OVER (PARTITION BY {form} ORDER BY _row) AS _first "
             "FROM stg_selfreports) t")
    unknown = ("t.dyad_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dyad d WHERE d.dyad_id = t.dyad_id) "
               "AND NOT EXISTS (SELECT 1 FROM stg_sessions s WHERE s.dyad_id = t.dyad_id)")
    dup_pre = f"SELECT count(*) - count(DISTINCT hash({key})) FROM stg_selfreports"
    date_pre = (f"SELECT count(*) FROM (SELECT 1 FROM stg_selfreports GROUP BY {form} "
                "HAVING count(DISTINCT coalesce(completed_on, chr(0))) > 1)")
    dyad_pre = "SELECT count(*) FROM (SELECT DISTINCT dyad_id FROM stg_selfreports) t WHERE " + unknown
    if clean:  # the texts are canonical (plain session numbers, lower-case respondents): compare them as read
        dup_pre = "SELECT count(*) - count(DISTINCT hash(dyad_id, session_number, respondent, instrument, item)) " \
                  "FROM stg_selfreports"
        date_pre = f"SELECT count(*) FROM {SUMMARY} WHERE two_dates OR (dated > 0 AND dated < n)"
        dyad_pre = "SELECT 0"  # every row's dyad is in sr_dyads
    return [
        rule(SELFREPORTS, "item", "t._n > 1", "duplicate row: this dyad, session, respondent, instrument and item "
             "already appear on an earlier row", frm=dup, precheck=dup_pre),
        rule(SELFREPORTS, "completed_on", "t.completed_on IS DISTINCT FROM t._first",
             "another row of this form (dyad, session, respondent, instrument) gives a different completed_on",
             frm=first, value="coalesce(t.completed_on, 'empty') || ' (earlier: ' || coalesce(t._first, 'empty') "
             "|| ')'", precheck=date_pre),
        rule(SELFREPORTS, "dyad_id", unknown, "no such dyad: a self-report's dyad must be stored already or have "
             "rows in this import's sessions (its session need not: uncoded sessions are fine)",
             frm="stg_selfreports t", precheck=dyad_pre),
    ]


def staged_catalog(con: duckdb.DuckDBPyConnection, staged: dict[str, StagedTable]) -> Catalog | None:
    """The catalog for an import with a selfreports table (its definitions staged as `sr_items`), else None."""
    if SELFREPORTS not in staged:
        return None
    cat = catalog(con)
    define(con, cat)
    return cat


def drop(con: duckdb.DuckDBPyConnection) -> None:
    for view in ("typ_selfreports", "stg_selfreports"):
        con.execute(f"DROP VIEW IF EXISTS {view}")
    for t in (*TEMP, "raw_selfreports"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
