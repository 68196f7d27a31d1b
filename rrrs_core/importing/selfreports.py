"""The optional fourth table, `selfreports`: its validation rules, typed form, comparison with the store and write.

Columns: dyad_id, session_number, respondent (patient or therapist), instrument (an instrument id), item (one of
its item keys), value (a number in the item's range and step; a yes/no item also takes yes/no, true/false),
optional completed_on (YYYY-MM-DD). One row per answer. The instruments are the store's catalog
(`selfreport.schema.catalog`: the shipped ones and a clinic's own files).

Validation is set-based SQL like the rest of the importer (`rules`): the row rules below join the one scan of
`stg_selfreports`, and each instrument's item, respondent and value rules are plain conditions on it (no row
is looped over in Python). A self-reported session need not be in `session` (most are never coded); its dyad
must be stored or in the same import. A row with the key (dyad, session, respondent, instrument, item) of a
stored answer is unchanged when value and completed_on are the same, else a conflict: refused unless
`--replace`, which replaces the stored answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from rrrs_core.errors import Problem
from rrrs_core.importing.format import FALSE_WORDS, SELFREPORTS, TRUE_WORDS, StagedTable
from rrrs_core.selfreport.definition import RESPONDENTS, Instrument, fmt
from rrrs_core.selfreport.schema import Catalog, catalog
from rrrs_core.store import first_rows, scalar

LIMIT = 100
FORM = "dyad_id, session_number, respondent, instrument"
KEY = f"{FORM}, item"
NUMBER = "try_cast(replace(t.value, ',', '.') AS DOUBLE)"
WORDS = sorted(TRUE_WORDS + FALSE_WORDS)
TEMP = ("sr_items", "typ_selfreports", "sr_match")


@dataclass
class SelfReportCounts:
    new: int = 0
    unchanged: int = 0
    replaced: int = 0
    forms: int = 0

    def summary(self) -> str:
        return (f"{self.new} new self-report answers, {self.replaced} replaced, {self.unchanged} unchanged "
                f"({self.forms} forms written)")


def define(con: duckdb.DuckDBPyConnection, cat: Catalog) -> None:
    """`sr_items`: every item of the instruments a row may name (the current version of each id)."""
    rows = [(i.id, i.version, it.key, it.yes_no, it.required) for i in cat.current.values() for it in i.items]
    con.execute("CREATE OR REPLACE TEMP TABLE sr_items (instrument VARCHAR, version VARCHAR, item VARCHAR, "
                "yes_no BOOLEAN, required BOOLEAN)")
    con.executemany("INSERT INTO sr_items VALUES (?, ?, ?, ?, ?)", rows)


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


def cross_rules(rule: type) -> list:
    """Duplicates within the file, one date per form, and the dyad (stored, or in this import's sessions)."""
    key = f"dyad_id, {_number('session_number')}, lower(respondent), instrument, item"
    form = f"dyad_id, {_number('session_number')}, lower(respondent), instrument"
    dup = f"(SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY _row) AS _n FROM stg_selfreports) t"
    first = (f"(SELECT *, first_value(completed_on) OVER (PARTITION BY {form} ORDER BY _row) AS _first "
             "FROM stg_selfreports) t")
    unknown = ("t.dyad_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM dyad d WHERE d.dyad_id = t.dyad_id) "
               "AND NOT EXISTS (SELECT 1 FROM stg_sessions s WHERE s.dyad_id = t.dyad_id)")
    return [
        rule(SELFREPORTS, "item", "t._n > 1", "duplicate row: this dyad, session, respondent, instrument and item "
             "already appear on an earlier row", frm=dup,
             precheck=f"SELECT count(*) - count(DISTINCT hash({key})) FROM stg_selfreports"),
        rule(SELFREPORTS, "completed_on", "t.completed_on IS DISTINCT FROM t._first",
             "another row of this form (dyad, session, respondent, instrument) gives a different completed_on",
             frm=first, value="coalesce(t.completed_on, 'empty') || ' (earlier: ' || coalesce(t._first, 'empty') "
             "|| ')'", precheck=f"SELECT count(*) FROM (SELECT 1 FROM stg_selfreports GROUP BY {form} "
             "HAVING count(DISTINCT coalesce(completed_on, chr(0))) > 1)"),
        rule(SELFREPORTS, "dyad_id", unknown, "no such dyad: a self-report's dyad must be stored already or have "
             "rows in this import's sessions (its session need not: uncoded sessions are fine)",
             frm="stg_selfreports t",
             precheck="SELECT count(*) FROM (SELECT DISTINCT dyad_id FROM stg_selfreports) t WHERE " + unknown),
    ]


def build_typed(con: duckdb.DuckDBPyConnection) -> None:
    """`typ_selfreports` once validation found no errors: numbers, lower-case respondents, dates, versions."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE typ_selfreports AS
        SELECT t._row, t.dyad_id, t.session_number::INTEGER AS session_number, lower(t.respondent) AS respondent,
            t.instrument, d.version AS instrument_version, t.item,
            CASE WHEN NOT d.yes_no THEN round({NUMBER}, 9)
                 WHEN list_contains(?::VARCHAR[], lower(t.value)) THEN 1.0
                 WHEN list_contains(?::VARCHAR[], lower(t.value)) THEN 0.0
                 ELSE {NUMBER} END AS value,
            strptime(t.completed_on, '%Y-%m-%d')::DATE AS completed_on
        FROM stg_selfreports t JOIN sr_items d ON d.instrument = t.instrument AND d.item = t.item""",
                [list(TRUE_WORDS), list(FALSE_WORDS)])


def incomplete(con: duckdb.DuckDBPyConnection, source: str) -> list[Problem]:
    """Warnings: forms missing a required item (their scales with it are not scored)."""
    sql = """
        SELECT min(t._row), 'item', t.instrument, t.dyad_id || ' session ' || t.session_number || ', '
            || t.respondent || ': ' || t.instrument || ' lacks ' || string_agg(DISTINCT r.item, ', ' ORDER BY r.item)
            || '; scales with these items are not scored'
        FROM typ_selfreports t JOIN sr_items r ON r.instrument = t.instrument AND r.required
        WHERE NOT EXISTS (SELECT 1 FROM typ_selfreports x WHERE x.dyad_id = t.dyad_id
            AND x.session_number = t.session_number AND x.respondent = t.respondent
            AND x.instrument = t.instrument AND x.item = r.item)
        GROUP BY t.dyad_id, t.session_number, t.respondent, t.instrument"""
    precheck = f"""SELECT count(*) FROM (SELECT {FORM}, count(DISTINCT item) AS n FROM typ_selfreports
        GROUP BY ALL) f JOIN (SELECT instrument, count(*) AS n FROM sr_items WHERE required GROUP BY ALL) r
        USING (instrument) WHERE f.n < r.n"""
    if not scalar(con, precheck):
        return []
    rows, total = first_rows(con, sql, "1", LIMIT)
    out = [Problem("warning", source, r[0], r[1], r[2], r[3]) for r in rows]
    if total > LIMIT:
        out.append(Problem("warning", source, None, None, None, f"... and {total - LIMIT} more incomplete forms"))
    return out


def plan(con: duckdb.DuckDBPyConnection) -> None:
    """`sr_match`: incoming answers whose key is stored, with the stored value (in the write transaction)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE sr_match AS
        SELECT n._row, n.{KEY.replace(', ', ', n.')}, n.value, n.completed_on, s.value AS old_value,
            s.completed_on AS old_completed_on, s.entered_by, s.entered_at,
            s.value = n.value AND s.completed_on IS NOT DISTINCT FROM n.completed_on AS same
        FROM typ_selfreports n JOIN selfreport s USING ({KEY})""")


def conflicts(con: duckdb.DuckDBPyConnection, source: str) -> list[Problem]:
    rows, total = first_rows(con, "SELECT _row, value, dyad_id, session_number, respondent, instrument, item, "
                                  "old_value, entered_by, entered_at, completed_on, old_completed_on "
                                  "FROM sr_match WHERE NOT same", "1", LIMIT)
    out = []
    for r in rows:
        what = f"dyad {r[2]} session {r[3]}: the {r[4]}'s {r[5]} {r[6]} is already stored"
        stored = (f"as {fmt(r[7])}" if r[7] != r[1] else
                  f"with completed_on {r[11] or 'empty'} (this row: {r[10] or 'empty'})")
        out.append(Problem("error", source, r[0], "value" if r[7] != r[1] else "completed_on",
                           fmt(r[1]) if r[7] != r[1] else str(r[10] or ""),
                           f"{what} {stored} (by {r[8]}, {r[9]:%Y-%m-%d %H:%M}); use --replace to store this "
                           "row instead"))
    if total > LIMIT:
        out.append(Problem("error", source, None, "value", None, f"... and {total - LIMIT} more stored answers "
                                                                  "this file would change"))
    return out


def write(con: duckdb.DuckDBPyConnection, batch_id: int, *, user: str, replace: bool) -> SelfReportCounts:
    """Insert the new answers (and with `replace` the changed ones, replacing the stored); the caller holds the
    write transaction, after `plan`."""
    counts = SelfReportCounts()
    counts.unchanged, changed = (int(x or 0) for x in con.execute(
        "SELECT count(*) FILTER (WHERE same), count(*) FILTER (WHERE NOT same) FROM sr_match").fetchall()[0])
    if replace and changed:
        con.execute(f"DELETE FROM selfreport WHERE ({KEY}) IN (SELECT ({KEY}) FROM sr_match WHERE NOT same)")
        counts.replaced = changed
    skip = "same" if replace else "true"
    written = con.execute(f"""
        INSERT INTO selfreport
        SELECT {KEY.replace('item', 'instrument_version, item')}, value, completed_on, ?, ?, current_localtimestamp()
        FROM typ_selfreports n
        WHERE NOT EXISTS (SELECT 1 FROM sr_match m WHERE m._row = n._row AND {skip})""",
                          [batch_id, user]).fetchall()[0][0]
    counts.new = int(written) - counts.replaced
    counts.forms = int(scalar(con, f"""SELECT count(*) FROM (SELECT DISTINCT {FORM} FROM typ_selfreports n
        WHERE NOT EXISTS (SELECT 1 FROM sr_match m WHERE m._row = n._row AND m.same))""") or 0)
    return counts


def staged_catalog(con: duckdb.DuckDBPyConnection, staged: dict[str, StagedTable]) -> Catalog | None:
    """The catalog for an import with a selfreports table (its definitions staged as `sr_items`), else None."""
    if SELFREPORTS not in staged:
        return None
    cat = catalog(con)
    define(con, cat)
    return cat


def drop(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP VIEW IF EXISTS stg_selfreports")
    for t in (*TEMP, "raw_selfreports"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
