"""The manual's consistency rules, as warnings: shown to the coder, never blocking the import.

3RS manual, Global Ratings (pp. 7-9): a code's significance reflects its markers; overall withdrawal and
confrontation summarise their markers' significance; resolution strategies occur in the context of a
rupture; sessions with no ruptures are rated 3 on overall resolution.
"""

from __future__ import annotations

import duckdb

from rrrs_core import codebook as cb
from rrrs_core.errors import Problem
from rrrs_core.importing.format import StagedTable

KEY = "dyad_id, session_number, coder_id"
def same(a: str, b: str) -> str:
    """Correlate two aliases on the coding key."""
    return " AND ".join(f"{a}.{k} = {b}.{k}" for k in ("dyad_id", "session_number", "coder_id"))


FAM = ("(SELECT m.*, cc.family FROM typ_marks m JOIN codebook_code cc ON cc.key = m.code "
       "AND cc.codebook_id = ? AND cc.codebook_version = ?)")

# (table the row number refers to, SQL returning (_row, column, value, message)); FAM takes 2 params each.
CHECKS: list[tuple[str, str, int]] = [
    ("ratings", f"""
        SELECT r._row, 'rating', r.rating::VARCHAR,
            'significance ' || r.rating || ' for ' || r.item || ', but that code is never marked in any segment'
        FROM typ_ratings r
        WHERE r.rating > 1 AND r.item IN (SELECT key FROM codebook_code WHERE codebook_id = ? AND codebook_version = ?)
          AND NOT EXISTS (SELECT 1 FROM typ_marks m WHERE {same('m', 'r')} AND m.code = r.item)""", 1),
    ("marks", f"""
        SELECT min(m._row), 'code', m.code, m.code || ' is marked but has no significance rating (read as 1)'
        FROM typ_marks m
        WHERE EXISTS (SELECT 1 FROM typ_ratings r WHERE {same('r', 'm')})
          AND NOT EXISTS (SELECT 1 FROM typ_ratings r WHERE {same('r', 'm')} AND r.item = m.code)
        GROUP BY {KEY}, m.code""", 0),
    ("ratings", f"""
        WITH sig AS (
            SELECT r.dyad_id, r.session_number, r.coder_id, cc.family, max(r.rating) AS top
            FROM typ_ratings r JOIN codebook_code cc ON cc.key = r.item AND cc.codebook_id = ?
                 AND cc.codebook_version = ?
            GROUP BY ALL),
        marked AS (SELECT DISTINCT {KEY}, family FROM {FAM} f)
        SELECT o._row, 'rating', o.rating::VARCHAR,
            o.item || ' is ' || o.rating || CASE
                WHEN o.rating < coalesce(s.top, 1)
                    THEN ', below the highest ' || fam || ' marker significance (' || s.top || ')'
                ELSE ', but no ' || fam || ' marker is marked in any segment' END
        FROM (SELECT *, replace(item, 'overall_', '') AS fam FROM typ_ratings
              WHERE item IN ('overall_withdrawal', 'overall_confrontation')) o
        LEFT JOIN sig s ON s.dyad_id = o.dyad_id AND s.session_number = o.session_number
             AND s.coder_id = o.coder_id AND s.family = o.fam
        WHERE o.rating < coalesce(s.top, 1)
           OR (o.rating > 1 AND NOT EXISTS (SELECT 1 FROM marked k WHERE k.dyad_id = o.dyad_id
               AND k.session_number = o.session_number AND k.coder_id = o.coder_id AND k.family = o.fam))""", 2),
    ("sessions", f"""
        SELECT s._row, 'coder_id', s.coder_id,
            'resolution strategies are marked but no rupture marker is: a resolution strategy needs a rupture'
        FROM typ_sessions s JOIN (SELECT {KEY} FROM {FAM} f GROUP BY ALL
            HAVING bool_or(family = 'resolution') AND NOT bool_or(family <> 'resolution')) x USING ({KEY})""", 1),
    ("ratings", f"""
        SELECT r._row, 'rating', r.rating::VARCHAR,
            'overall_resolution is ' || r.rating || ' in a session with no rupture marker; the manual rates such '
            || 'sessions 3'
        FROM typ_ratings r
        WHERE r.item = 'overall_resolution' AND r.rating <> 3 AND NOT EXISTS
            (SELECT 1 FROM {FAM} f WHERE f.dyad_id = r.dyad_id AND f.session_number = r.session_number
             AND f.coder_id = r.coder_id AND f.family <> 'resolution')""", 1),
    ("sessions", f"""
        SELECT s._row, 'coder_id', s.coder_id, 'no ratings for this coding: stored as ratings pending'
        FROM typ_sessions s WHERE NOT EXISTS (SELECT 1 FROM typ_ratings r WHERE {same('r', 's')})""", 0),
    ("sessions", f"""
        SELECT s._row, 'coder_id', s.coder_id, 'global item ' || g.item || ' is not rated'
        FROM typ_sessions s CROSS JOIN (SELECT unnest(?::VARCHAR[]) AS item) g
        WHERE EXISTS (SELECT 1 FROM typ_ratings r WHERE {same('r', 's')})
          AND NOT EXISTS (SELECT 1 FROM typ_ratings r WHERE {same('r', 's')} AND r.item = g.item)""", -1),
]

LIMIT = 200


def run(con: duckdb.DuckDBPyConnection, staged: dict[str, StagedTable], book: cb.Codebook) -> list[Problem]:
    """Every consistency warning (up to LIMIT per rule, then a count)."""
    out: list[Problem] = []
    for table, sql, n_books in CHECKS:
        params: list[object] = [list(book.global_keys)] if n_books < 0 else [book.id, book.version] * n_books
        rows = con.execute(f"SELECT *, count(*) OVER () FROM ({sql}) ORDER BY 1 LIMIT {LIMIT}", params).fetchall()
        source = staged[table].source
        out += [Problem("warning", source, r[0], r[1], r[2], r[3]) for r in rows]
        if rows and rows[0][4] > LIMIT:
            out.append(Problem("warning", source, None, None, None, f"... and {rows[0][4] - LIMIT} more like this"))
    return out
