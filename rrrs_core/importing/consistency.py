"""The manual's consistency rules, as warnings: shown to the coder, never blocking the import.

3RS manual, Global Ratings (pp. 7-9): a code's significance reflects its markers; overall withdrawal and
confrontation summarise their markers' significance; resolution strategies occur in the context of a
rupture; sessions with no ruptures are rated 3 on overall resolution.

The ratings table is the big one (about 30 rows per coding), so these rules read its per-coding summary
(`sum_ratings`, see `importing.summary`: rated items as bits, the global ratings, the highest significance
per rupture family) and a per-coding summary of the marks (`chk_marks`), and compare two
small tables instead of joining millions of rows. Only a rating rule that finds something reads the
ratings rows themselves, for their row numbers.
"""

from __future__ import annotations

import duckdb

from rrrs_core import codebook as cb
from rrrs_core.errors import Problem
from rrrs_core.importing import selfreports
from rrrs_core.importing.format import SELFREPORTS, StagedTable
from rrrs_core.importing.summary import BITS, RATINGS_TYPED, RUPTURE_FAMILIES, families
from rrrs_core.store import first_rows

KEY = "dyad_id, session_number, coder_id"
LIMIT = 200


def same(a: str, b: str) -> str:
    """Correlate two aliases on the coding key."""
    return " AND ".join(f"{a}.{k} = {b}.{k}" for k in ("dyad_id", "session_number", "coder_id"))


def _bit(mask: str, ix: str) -> str:
    """SQL: is item number `ix` (1-based, codebook order) set in `mask`?"""
    return f"(coalesce({mask}, 0::{BITS}) >> ({ix} - 1)) & 1 = 1"


def _summarise(con: duckdb.DuckDBPyConnection, book: cb.Codebook) -> None:
    items = list(book.rating_items)
    con.execute("CREATE OR REPLACE TEMP TABLE chk_items AS SELECT unnest(?::VARCHAR[]) AS item, "
                "unnest(?::VARCHAR[]) AS family, unnest(range(1, ?)) AS ix", [items, families(book), len(items) + 1])
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE chk_marks AS
        SELECT m.dyad_id, m.session_number, m.coder_id, bit_or(1::{BITS} << (i.ix - 1)) AS marked,
            {', '.join(f"bool_or(i.family = '{f}') AS any_{f}" for f in (*RUPTURE_FAMILIES, 'resolution'))}
        FROM typ_marks m JOIN chk_items i ON i.item = m.code GROUP BY ALL""")
    # Every rated coding with its marks' summary, for the rules below (a view: each reads a few columns).
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW chk_codings AS
        SELECT r.*, m.* EXCLUDE ({KEY}) FROM {RATINGS_TYPED} r LEFT JOIN chk_marks m USING ({KEY})""")


def _at_rating_row(flagged: str) -> str:
    """(key, item, value, message) per flagged coding -> (_row, column, value, message): the summary keeps no
    row numbers, so the rating's row is looked up for the flagged codings only (none flagged: DuckDB does not
    read the ratings at all)."""
    return f"""SELECT t._row, 'rating', f.value, f.message FROM ({flagged}) f
        JOIN typ_ratings t ON {same('t', 'f')} AND t.item = f.item"""


def _overall_vs_markers(family: str) -> str:
    item = f"overall_{family}"
    return f"""
        SELECT {KEY}, '{item}' AS item, r.{item}::VARCHAR AS value,
            '{item} is ' || r.{item} || CASE
                WHEN r.{item} < coalesce(r.top_{family}, 1)
                    THEN ', below the highest {family} marker significance (' || r.top_{family} || ')'
                ELSE ', but no {family} marker is marked in any segment' END AS message
        FROM chk_codings r
        WHERE r.{item} < coalesce(r.top_{family}, 1) OR (r.{item} > 1 AND NOT coalesce(r.any_{family}, false))"""

# Codings with a code rated above 1 but never marked: usually none, and then the rows are never read.
RATED_UNMARKED = f"""(SELECT r.dyad_id, r.session_number, r.coder_id FROM chk_codings r
    WHERE r.high & ~coalesce(r.marked, 0::{BITS})
          & (SELECT bit_or(1::{BITS} << (ix - 1)) FROM chk_items WHERE family <> 'global') <> 0)"""
# Codings with a code marked but given no significance rating: usually none, and then the marks are not joined.
MARKED_UNRATED = f"SELECT count(*) FROM chk_codings WHERE marked & ~coalesce(rated, 0::{BITS}) <> 0"
NO_RUPTURE = "NOT coalesce(r.any_withdrawal OR r.any_confrontation, false)"
OVERALL_VS_MARKERS = " UNION ALL ".join(_overall_vs_markers(f) for f in RUPTURE_FAMILIES)
RESOLUTION_WITHOUT_RUPTURE = f"""
        SELECT {KEY}, 'overall_resolution' AS item, r.overall_resolution::VARCHAR AS value,
            'overall_resolution is ' || r.overall_resolution || ' in a session with no rupture marker; the manual '
            || 'rates such sessions 3' AS message
        FROM chk_codings r WHERE r.overall_resolution <> 3 AND {NO_RUPTURE}"""
PRECHECKS = {0: f"SELECT count(*) FROM {RATED_UNMARKED}", 1: MARKED_UNRATED}

# (table the row number refers to, SQL returning (_row, column, value, message)), in the order shown.
CHECKS: list[tuple[str, str]] = [
    ("ratings", f"""
        SELECT r._row, 'rating', r.rating::VARCHAR,
            'significance ' || r.rating || ' for ' || r.item || ', but that code is never marked in any segment'
        FROM typ_ratings r JOIN chk_items i USING (item) JOIN {RATED_UNMARKED} o USING ({KEY})
        LEFT JOIN chk_marks m USING ({KEY})
        WHERE r.rating > 1 AND i.family <> 'global' AND NOT {_bit('m.marked', 'i.ix')}"""),
    ("marks", f"""
        SELECT min(m._row), 'code', m.code, m.code || ' is marked but has no significance rating (read as 1)'
        FROM typ_marks m JOIN chk_items i ON i.item = m.code JOIN chk_codings r USING ({KEY})
        WHERE NOT {_bit('r.rated', 'i.ix')}
        GROUP BY m.dyad_id, m.session_number, m.coder_id, m.code"""),
    ("ratings", _at_rating_row(OVERALL_VS_MARKERS)),
    ("sessions", f"""
        SELECT s._row, 'coder_id', s.coder_id,
            'resolution strategies are marked but no rupture marker is: a resolution strategy needs a rupture'
        FROM typ_sessions s JOIN chk_marks r USING ({KEY})
        WHERE r.any_resolution AND {NO_RUPTURE}"""),
    ("ratings", _at_rating_row(RESOLUTION_WITHOUT_RUPTURE)),
    ("sessions", f"""
        SELECT s._row, 'coder_id', s.coder_id, 'no ratings for this coding: stored as ratings pending'
        FROM typ_sessions s ANTI JOIN chk_codings r USING ({KEY})"""),
    ("sessions", f"""
        SELECT s._row, 'coder_id', s.coder_id, 'global item ' || i.item || ' is not rated'
        FROM typ_sessions s JOIN chk_codings r USING ({KEY}) JOIN chk_items i ON i.family = 'global'
        WHERE NOT {_bit('r.rated', 'i.ix')}"""),
]


def run(con: duckdb.DuckDBPyConnection, staged: dict[str, StagedTable], book: cb.Codebook) -> list[Problem]:
    """Every consistency warning (up to LIMIT per rule, then a count)."""
    out: list[Problem] = []
    if SELFREPORTS in staged:
        out += selfreports.incomplete(con, staged[SELFREPORTS].source)
    _summarise(con, book)
    try:
        for n, (table, sql) in enumerate(CHECKS):
            if n in PRECHECKS and not con.execute(PRECHECKS[n]).fetchall()[0][0]:
                continue
            rows, total = first_rows(con, sql, "1, 4", LIMIT)
            source = staged[table].source
            out += [Problem("warning", source, r[0], r[1], r[2], r[3]) for r in rows]
            if total > LIMIT:
                out.append(Problem("warning", source, None, None, None,
                                   f"... and {total - LIMIT} more like this"))
    finally:
        con.execute("DROP VIEW IF EXISTS chk_codings")
        for t in ("chk_items", "chk_marks"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return out
