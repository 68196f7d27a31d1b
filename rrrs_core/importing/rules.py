"""Validation rules as SQL over the staged text tables; each finding names file, row, column and value.

Every rule runs, so one pass reports every problem; a rule reports at most `LIMIT` rows and then says how
many more rows share the same problem, so a wholly wrong file stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb

from rrrs_core import codebook as cb
from rrrs_core.errors import Problem
from rrrs_core.importing import idrules, selfreports
from rrrs_core.importing.format import FALSE_WORDS, REQUIRED, SELFREPORTS, TRUE_WORDS, StagedTable
from rrrs_core.importing.reader import tidy_deferred
from rrrs_core.importing.summary import SCREENS
from rrrs_core.store import first_rows, one, scalar

LIMIT = 100
INT = "({c} <> '' AND NOT ({c} GLOB '*[!0-9]*'))"  # digits only; GLOB is ~3x cheaper than a regexp
CLARITIES = sorted(cb.CLARITY_ALIASES)


@dataclass(frozen=True)
class Rule:
    table: str
    column: str
    where: str  # SQL condition over stg_<table> (alias t) selecting bad rows; `{c}` is the column
    message: str
    params: tuple[object, ...] = ()
    value: str | None = None  # SQL expression shown as the value; default the column
    frm: str | None = None  # FROM source (aliased t); default stg_<table>
    precheck: str | None = None  # cheap query counting offenders; the detailed query runs only if > 0


def _int_rule(table: str, column: str, lo: int, hi: int | None, what: str) -> Rule:
    c = f"t.{column}"
    upper = f" OR try_cast({c} AS HUGEINT) > {hi}" if hi is not None else ""
    rng = f"from {lo} to {hi}" if hi is not None else f"{lo} or more"
    return Rule(table, column, f"{c} IS NOT NULL AND (NOT {INT.format(c=c)} OR try_cast({c} AS HUGEINT) < {lo}{upper})",
                f"{what} must be a whole number {rng}")


def _bool_rule(table: str, column: str) -> Rule:
    words = list(TRUE_WORDS + FALSE_WORDS)
    return Rule(table, column, f"t.{column} IS NOT NULL AND NOT list_contains(?::VARCHAR[], lower(t.{column}))",
                "must be true or false", (words,))


def row_rules(book: cb.Codebook) -> list[Rule]:
    rules = [Rule(t, c, f"t.{c} IS NULL", "required value is empty") for t, cols in REQUIRED.items() for c in cols]
    for t in REQUIRED:
        rules.append(_int_rule(t, "session_number", 1, 100000, "session_number"))
    rules += [
        _int_rule("sessions", "n_segments", 1, 60, "n_segments (number of coded segments)"),
        _int_rule("sessions", "segment_minutes", 1, 60, "segment_minutes"),
        Rule("sessions", "session_date",
             "t.session_date IS NOT NULL AND try_strptime(t.session_date, '%Y-%m-%d') IS NULL",
             "must be a date written YYYY-MM-DD, e.g. 2026-03-14"),
        _bool_rule("sessions", "trainee"),
        _bool_rule("sessions", "consensus"),
        _int_rule("marks", "segment", 1, None, "segment"),
        Rule("marks", "code", "t.code IS NOT NULL AND NOT list_contains(?::VARCHAR[], t.code)",
             f"unknown code; allowed codes ({book.id} {book.version}): {', '.join(book.keys)}", (list(book.keys),)),
        Rule("marks", "clarity", "t.clarity IS NOT NULL AND NOT list_contains(?::VARCHAR[], lower(t.clarity))",
             "clarity must be check or check_minus (or the scoresheet signs ✓ and ✓-)", (CLARITIES,)),
        Rule("ratings", "item", "t.item IS NOT NULL AND NOT list_contains(?::VARCHAR[], t.item)",
             "unknown rating item; allowed: a code key (its significance) or "
             + ", ".join(book.global_keys), (list(book.rating_items),)),
        _int_rule("ratings", "rating", 1, 5, "rating"),
    ]
    return rules + idrules.id_rules(Rule)


KEY_JOIN = "s.dyad_id = t.dyad_id AND s.session_number = t.session_number AND s.coder_id = t.coder_id"

def _first_differs(table: str, column: str, key: str, message: str) -> Rule:
    """Rows whose `column` differs from the first row with the same `key` (window, not a self-join)."""
    frm = (f"(SELECT *, first_value({column}) OVER (PARTITION BY {key} ORDER BY _row) AS _first "
           f"FROM stg_{table}) t")
    pre = (f"SELECT count(*) FROM (SELECT 1 FROM stg_{table} GROUP BY {key} "
           f"HAVING count(DISTINCT coalesce({column}, chr(0))) > 1)")
    return Rule(table, column, f"t.{column} IS DISTINCT FROM t._first", message, frm=frm,
                value=f"t.{column} || ' (earlier: ' || coalesce(t._first, 'empty') || ')'", precheck=pre)


def _duplicate(table: str, column: str, key: str, message: str, precheck: str | None = None) -> Rule:
    frm = f"(SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY _row) AS _n FROM stg_{table}) t"
    # A 64-bit hash of the key: a collision only triggers the exact query below, which then finds nothing.
    pre = precheck or f"SELECT count(*) - count(DISTINCT hash({key})) FROM stg_{table}"
    return Rule(table, column, "t._n > 1", message, frm=frm, precheck=pre)


KEY = "dyad_id, session_number, coder_id"


def _number(column: str) -> str:
    """SQL: a whole number however written ('02' is 2), any other text as it is; duplicate checks compare
    numbers so, as the stored rows will."""
    return f"coalesce(try_cast({column} AS HUGEINT)::VARCHAR, {column})"


SESSION = f"dyad_id, {_number('session_number')}"

CROSS_RULES: list[Rule] = [
    _duplicate("sessions", "coder_id", f"{SESSION}, coder_id",
               "duplicate row: this dyad, session and coder already appear on an earlier row"),
    _first_differs("sessions", "therapist_id", "dyad_id",
                   "this dyad has a different therapist_id on an earlier row; a dyad has one therapist"),
    Rule("sessions", "therapist_id",
         "t.therapist_id <> d.therapist_id",
         "this dyad is already stored with another therapist",
         frm="stg_sessions t JOIN dyad d ON d.dyad_id = t.dyad_id",
         value="t.therapist_id || ' (stored: ' || d.therapist_id || ')'"),
    _first_differs("sessions", "n_segments", SESSION,
                   "another coder's row for this session gives a different n_segments; a session has one length"),
    _first_differs("sessions", "session_date", SESSION,
                   "another coder's row for this session gives a different session_date"),
    Rule("sessions", "n_segments",
         "s.n_segments <> try_cast(t.n_segments AS HUGEINT)",
         "this session is already stored with another number of segments",
         frm="stg_sessions t JOIN session s ON s.dyad_id = t.dyad_id AND s.session_number::VARCHAR = t.session_number",
         value="t.n_segments || ' (stored: ' || s.n_segments || ')'"),
    _first_differs("sessions", "supervisor_id", "therapist_id",
                   "this therapist has a different supervisor_id on an earlier row"),
    Rule("sessions", "supervisor_id", "t.supervisor_id = t.therapist_id",
         "a therapist cannot be their own supervisor"),
]

# Marks and ratings are the big tables: their duplicate and orphan checks look first at the per-group
# summaries (`importing.summary`, built before the rules run), where each known item is one bit. The marks'
# summary has a row per segment: its orphan check reads each coding key once.
for _t in ("marks", "ratings"):
    _distinct = "DISTINCT " if _t == "marks" else ""
    CROSS_RULES.append(Rule(
        _t, "coder_id",
        "t.dyad_id IS NOT NULL AND t.session_number IS NOT NULL AND t.coder_id IS NOT NULL AND s._row IS NULL",
        "no row in sessions for this dyad, session and coder; add it to sessions first",
        value="t.dyad_id || ' / ' || t.session_number || ' / ' || t.coder_id",
        frm=f"stg_{_t} t LEFT JOIN (SELECT DISTINCT ON ({KEY}) * FROM stg_sessions) s ON " + KEY_JOIN,
        precheck=f"SELECT count(*) FROM (SELECT {_distinct}{KEY} FROM sum_{_t} WHERE dyad_id IS NOT NULL AND "
                 f"session_number IS NOT NULL AND coder_id IS NOT NULL) ANTI JOIN stg_sessions USING ({KEY})"))

CROSS_RULES += [
    Rule("marks", "segment",
         "try_cast(t.segment AS HUGEINT) > try_cast(s.n_segments AS HUGEINT)",
         "segment is beyond this session's n_segments",
         frm=f"stg_marks t JOIN (SELECT DISTINCT ON ({KEY}) * FROM stg_sessions) s ON " + KEY_JOIN,
         value="t.segment || ' (n_segments: ' || s.n_segments || ')'",
         # Each coding's last segment against the shortest length its session rows give: never misses a row
         # the rule would report, and reads one row per coding instead of every column of every session.
         precheck=f"SELECT count(*) FROM (SELECT {KEY}, max(try_cast(segment AS HUGEINT)) AS segment FROM sum_marks "
                  f"GROUP BY ALL) t JOIN (SELECT {KEY}, min(try_cast(n_segments AS HUGEINT)) AS n_segments "
                  f"FROM stg_sessions GROUP BY ALL) s ON {KEY_JOIN} WHERE t.segment > s.n_segments"),
    _duplicate("marks", "code", f"{KEY}, {_number('segment')}, code",
               "duplicate mark: this code is already marked in this segment on an earlier row",
               f"SELECT count(*) FROM sum_marks WHERE n <> distinct_n OR segment <> {_number('segment')}"),
    _duplicate("ratings", "item", KEY + ", item",
               "duplicate rating: this item is already rated for this coding on an earlier row",
               "SELECT count(*) FROM sum_ratings WHERE n <> distinct_n"),
]


def _screened_clean(con: duckdb.DuckDBPyConnection, table: str, group: list[Rule]) -> bool:
    """True when the table's summary proves no row rule can fire: the rules on its group columns hold on every
    summary row (one per coding instead of ~30 ratings rows) and no group has an odd row."""
    screen = SCREENS[table]
    keyed = [r for r in group if r.column in screen.columns]
    where = " OR ".join([screen.odd] + [f"({r.where})" for r in keyed])
    return not scalar(con, f"SELECT count(*) FROM {screen.summary} t WHERE {where}",
                      [p for r in keyed for p in r.params])


def _offending(con: duckdb.DuckDBPyConnection, rules: list[Rule]) -> list[Rule]:
    """Rules with at least one offending row: one scan per table for plain row rules (the common case of a
    clean file costs a single pass, or none when its summary screens it), the rule's own cheap precheck
    otherwise."""
    hits: list[Rule] = []
    plain: dict[str, list[Rule]] = {}
    for rule in rules:
        if rule.frm is None:
            plain.setdefault(rule.table, []).append(rule)
        elif rule.precheck is None or scalar(con, rule.precheck):
            hits.append(rule)
    for table, group in plain.items():
        if table in SCREENS and _screened_clean(con, table, group):
            continue
        # count(CASE ...) rather than FILTER: DuckDB evaluates it about twice as fast on millions of rows.
        filters = ", ".join(f"count(CASE WHEN {r.where} THEN 1 END)" for r in group)
        params = [p for r in group for p in r.params]
        found = one(con, f"SELECT {filters} FROM stg_{table} t", params) or ()
        hits += [r for r, n in zip(group, found, strict=True) if n]
    return hits


def run(con: duckdb.DuckDBPyConnection, staged: dict[str, StagedTable], book: cb.Codebook) -> list[Problem]:
    """Apply every rule whose tables are staged; returns errors in file order."""
    problems: list[Problem] = []
    applicable = [r for r in row_rules(book) + CROSS_RULES if r.table in staged
                  and not ("stg_sessions" in (r.frm or "") and "sessions" not in staged)]
    if (cat := selfreports.staged_catalog(con, staged)) is not None:  # the optional fourth table
        clean = selfreports.screen(con) or (tidy_deferred(con, SELFREPORTS, ()) and selfreports.screen(con))
        if clean:  # no plain rule can fire: the usual clean file skips them
            applicable = [r for r in applicable if not (r.table == SELFREPORTS and r.frm is None)]
        else:
            applicable += selfreports.row_rules(Rule, cat)
        applicable += selfreports.cross_rules(Rule, clean)
        problems += [replace(p, severity="warning", message=f"instrument file refused: {p.message}")
                     for p in cat.problems]
    for rule in _offending(con, applicable):
        frm = rule.frm or f"stg_{rule.table} t"
        value = rule.value or f"t.{rule.column}"
        rows, total = first_rows(con, f"SELECT t._row, ({value})::VARCHAR FROM {frm} WHERE {rule.where}",
                                 "1", LIMIT, list(rule.params))
        source = staged[rule.table].source
        problems += [Problem("error", source, r[0], rule.column, idrules.shown(r[1]), rule.message) for r in rows]
        if total > LIMIT:
            problems.append(Problem("error", source, None, rule.column, None,
                                    f"... and {total - LIMIT} more rows: {rule.message}"))
    reports = staged.get(SELFREPORTS)
    if "sessions" in staged and staged["sessions"].rows == 0 and not (reports and reports.rows):
        empty = reports if reports and staged["sessions"].source.endswith("(no sessions)") else staged["sessions"]
        problems.append(Problem("error", empty.source, None, None, None,
                                f"no {'self-reports' if empty is reports else 'sessions'}: the {empty.name} "
                                "table has a header but no rows"))
    if "sessions" in staged:
        problems += idrules.lookalikes(con, staged["sessions"].source)
    return sorted(problems, key=lambda p: (p.file, p.row if p.row is not None else 1 << 62))
