"""Writing a validated `selfreports` table: its typed form, the comparison with stored answers, the write.

A stored answer has the key (dyad, session, respondent, instrument, item). An incoming row with a stored key
is unchanged when value and completed_on are the same, else a conflict: refused unless `--replace`, which
replaces the stored answer. A fresh import (no stored answer for any of its dyads) skips the comparison.

The typed rows are a view over the staging, read once by the write (and, for a re-import, once by the
comparison): 740,000 rows of a 100,000-session clinic are not copied into a temp table first.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from rrrs_core.errors import Problem
from rrrs_core.importing.format import FALSE_WORDS, TRUE_WORDS
from rrrs_core.selfreport.definition import fmt
from rrrs_core.store import first_rows, scalar

LIMIT = 100
FORM = "dyad_id, session_number, respondent, instrument"
KEY = f"{FORM}, item"
NUMBER = "try_cast(replace(t.value, ',', '.') AS DOUBLE)"
SUMMARY = "sum_selfreports"  # per form, made by `selfreports.screen` when every row is clean


@dataclass
class SelfReportCounts:
    new: int = 0
    unchanged: int = 0
    replaced: int = 0
    forms: int = 0

    def summary(self) -> str:
        return (f"{self.new} new self-report answers, {self.replaced} replaced, {self.unchanged} unchanged "
                f"({self.forms} forms written)")


def _words(words: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"'{w}'" for w in words) + "]"  # our constants (format.TRUE_WORDS), not user text


def build_typed(con: duckdb.DuckDBPyConnection) -> None:
    """`typ_selfreports` once validation found no errors: numbers, lower-case respondents, dates, versions.
    Rows the screen found clean (`selfreports.CLEAN`) are read with plain casts, about a third cheaper."""
    clean = _summarised(con)
    number = "t.value::DOUBLE" if clean else NUMBER
    respondent = "t.respondent" if clean else "lower(t.respondent)"
    date = "t.completed_on::DATE" if clean else "strptime(t.completed_on, '%Y-%m-%d')::DATE"
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW typ_selfreports AS
        SELECT t._row, t.dyad_id, t.session_number::INTEGER AS session_number, {respondent} AS respondent,
            t.instrument, d.version AS instrument_version, t.item,
            CASE WHEN NOT d.yes_no THEN round({number}, 9)
                 WHEN list_contains({_words(TRUE_WORDS)}, lower(t.value)) THEN 1.0
                 WHEN list_contains({_words(FALSE_WORDS)}, lower(t.value)) THEN 0.0
                 ELSE {NUMBER} END AS value,
            {date} AS completed_on
        FROM stg_selfreports t JOIN sr_items d ON d.instrument = t.instrument AND d.item = t.item""")


def _summarised(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(scalar(con, "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [SUMMARY]))


def incomplete(con: duckdb.DuckDBPyConnection, source: str) -> list[Problem]:
    """Warnings: forms missing a required item (their scales with it are not scored)."""
    required = "(SELECT instrument, count(*) AS n FROM sr_items WHERE required GROUP BY ALL)"
    if _summarised(con):
        precheck = f"SELECT count(*) FROM {SUMMARY} f JOIN {required} r USING (instrument) WHERE f.required_n < r.n"
    else:
        precheck = f"""SELECT count(*) FROM (SELECT {FORM}, count(DISTINCT item) FILTER (WHERE required) AS n
            FROM typ_selfreports JOIN sr_items USING (instrument, item) GROUP BY ALL) f
            JOIN {required} r USING (instrument) WHERE f.n < r.n"""
    if not scalar(con, precheck):
        return []
    sql = """
        SELECT min(t._row), 'item', t.instrument, t.dyad_id || ' session ' || t.session_number || ', '
            || t.respondent || ': ' || t.instrument || ' lacks ' || string_agg(DISTINCT r.item, ', ' ORDER BY r.item)
            || '; scales with these items are not scored'
        FROM typ_selfreports t JOIN sr_items r ON r.instrument = t.instrument AND r.required
        WHERE NOT EXISTS (SELECT 1 FROM typ_selfreports x WHERE x.dyad_id = t.dyad_id
            AND x.session_number = t.session_number AND x.respondent = t.respondent
            AND x.instrument = t.instrument AND x.item = r.item)
        GROUP BY t.dyad_id, t.session_number, t.respondent, t.instrument"""
    rows, total = first_rows(con, sql, "1", LIMIT)
    out = [Problem("warning", source, r[0], r[1], r[2], r[3]) for r in rows]
    if total > LIMIT:
        out.append(Problem("warning", source, None, None, None, f"... and {total - LIMIT} more incomplete forms"))
    return out


def plan(con: duckdb.DuckDBPyConnection) -> None:
    """`sr_match`: incoming answers whose key is stored, with the stored value (in the write transaction).
    Only dyads with stored answers are compared; a fresh import compares nothing."""
    con.execute("CREATE OR REPLACE TEMP TABLE sr_stored AS SELECT DISTINCT dyad_id FROM selfreport "
                "WHERE dyad_id IN (SELECT DISTINCT dyad_id FROM stg_selfreports)")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE sr_match AS
        SELECT n._row, n.{KEY.replace(', ', ', n.')}, n.value, n.completed_on, s.value AS old_value,
            s.completed_on AS old_completed_on, s.entered_by, s.entered_at,
            s.value = n.value AND s.completed_on IS NOT DISTINCT FROM n.completed_on AS same
        FROM (SELECT * FROM typ_selfreports WHERE dyad_id IN (SELECT dyad_id FROM sr_stored)) n
        JOIN selfreport s USING ({KEY})""")


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
    matched = counts.unchanged + changed > 0
    keep = f"WHERE NOT EXISTS (SELECT 1 FROM sr_match m WHERE m._row = n._row AND {skip})" if matched else ""
    written = con.execute(f"""
        INSERT INTO selfreport
        SELECT {KEY.replace('item', 'instrument_version, item')}, value, completed_on, ?, ?, current_localtimestamp()
        FROM typ_selfreports n {keep}""", [batch_id, user]).fetchall()[0][0]
    counts.new = int(written) - counts.replaced
    if not matched and _summarised(con):
        counts.forms = int(scalar(con, f"SELECT count(*) FROM {SUMMARY}") or 0)
    else:
        counts.forms = int(scalar(con, f"SELECT count(*) FROM (SELECT DISTINCT {FORM} FROM typ_selfreports n "
                                       f"{keep})") or 0)
    return counts
