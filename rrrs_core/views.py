"""Derived views: the 3RS metrics and the rule that picks one coding per session for dashboards.

Column lists are generated from the codebook (our constants, never user text), so adding a code to the
codebook adds its `seg_<key>` column to the summary export at the next connect. Per-code figures are not
cached: no dashboard aggregates them. The per-code segment counts are counted when the summary is exported
(`code_segments_select`), and each code's significance is read from `rating` by the scoresheet and the coder
comparison; pivoting them into the cache at every import cost more than half of the cache.

Metric definitions (README "Metrics"; 3RS manual, Coding Procedures pp. 4-9):
- `<family>_segments`: segments with at least one code of that family marked `check` (meets criteria).
- `rupture_segments`: segments with a withdrawal or a confrontation `check`.
- `<family>_possible_segments`: segments where that family is marked only `check_minus` (unclear).
- `seg_<key>` (summary export only): segments where that code is marked `check`.

Per-coding metrics are computed by `v_coding_metrics_live` and kept in a derived cache table (rebuilt at
will, never the only copy of anything), because aggregating millions of ratings on every page load is too
slow at clinic scale; `v_coding_metrics` joins the cache with the live coding and session rows.

Primary coding rule: among a session's current, final codings, a coding flagged `consensus` wins;
otherwise the coder whose coding of that session reached the database first (lowest first coding id of
that coder's version history), then coder id alphabetically.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import duckdb

from rrrs_core import codebook as cb
from rrrs_core.storage.writes import writing

FAMILY_SHORT = {"withdrawal": "w", "confrontation": "c", "resolution": "r"}
# A segment's marks as bits: each family's bit when one of its codes is marked `check`, that bit << 3 when
# one is marked `check_minus` (see `mark_flags`).
FAMILY_BIT = {"withdrawal": 1, "confrontation": 2, "resolution": 4}
MINUS_SHIFT = 3


def mark_flags(family: str, is_check: str) -> str:
    """SQL: one mark's segment bits, from SQL giving its code's family and whether it is marked `check`;
    `bit_or` over a segment's marks gives the segment's flags."""
    bits = " ".join(f"WHEN '{f}' THEN {b}" for f, b in FAMILY_BIT.items())
    return f"((CASE {family} {bits} ELSE 0 END) << (CASE WHEN {is_check} THEN 0 ELSE {MINUS_SHIFT} END))"


def metric_columns(book: cb.Codebook = cb.DEFAULT) -> list[str]:
    """Summary-export column order after the id columns (issue #2's export contract)."""
    return [
        "n_segments", "withdrawal_segments", "confrontation_segments", "rupture_segments",
        "resolution_segments", "withdrawal_possible_segments", "confrontation_possible_segments",
        "resolution_possible_segments", *book.global_keys, *[f"seg_{k}" for k in book.keys],
    ]


def _metrics_select(book: cb.Codebook, ids: str | None = None, rated: str | None = None,
                    segments: str | None = None, codings: str | None = None, ratings: str | None = None) -> str:
    """The per-coding metrics query; with `ids` (a relation with a coding_id column) only for those codings.

    The filter sits inside, on the codings and ratings read: DuckDB does not push a filter on the result
    down through the aggregates, so filtering the view recomputed every coding (0.24 s per saved coding at
    100,000 sessions instead of about 0.01 s). An import passes `rated` (coding_id, n_ratings and each global
    item) from its summary of the ratings rather than reading back millions of ratings it has just written,
    and `segments` (coding_id, segment, flags: `mark_flags` of the segment's marks, one row per segment) from
    its summary of the marks. A scoresheet save passes `codings` (a relation of the one coding_id) and `ratings`
    (coding_id, item, rating) from the values it has just written, with `segments` (`cache_saved_coding`).
    """
    only = "" if ids is None else f" WHERE coding_id IN (SELECT coding_id FROM {ids})"
    codings = codings or f"(SELECT * FROM coding{only})"
    ratings = ratings or f"(SELECT * FROM rating{only})"
    segments = segments or f"""
        SELECT k.coding_id, k.segment, bit_or({mark_flags('cc.family', "k.clarity = 'check'")}) AS flags
        FROM mark k
        JOIN {codings} c USING (coding_id)
        JOIN codebook_code cc
          ON cc.codebook_id = c.codebook_id AND cc.codebook_version = c.codebook_version AND cc.key = k.code
        GROUP BY k.coding_id, k.segment"""
    seg_flags = ",\n".join(
        f"flags & {bit} <> 0 AS {FAMILY_SHORT[fam]}, flags & {bit << MINUS_SHIFT} <> 0 AS {FAMILY_SHORT[fam]}m"
        for fam, bit in FAMILY_BIT.items()
    )
    # CASE rather than FILTER: one pivot pass over millions of ratings runs about twice as fast.
    globals_ = ",\n".join(f"max(CASE WHEN item = '{k}' THEN rating END) AS {k}" for k in book.global_keys)
    global_list = ", ".join(f"'{k}'" for k in book.global_keys)
    # The pivot reads only the global items (a sixth of the ratings); counting them all is cheap.
    rated = rated or f"""
        SELECT coding_id, n.n_ratings, p.* EXCLUDE (coding_id)
        FROM (SELECT coding_id, count(*) AS n_ratings FROM {ratings} GROUP BY coding_id) n
        LEFT JOIN (SELECT coding_id, {globals_} FROM {ratings}
                   WHERE item IN ({global_list}) GROUP BY coding_id) p USING (coding_id)"""
    glob_cols = ", ".join(f"r.{k}" for k in book.global_keys)
    return f"""
    WITH seg AS (
        SELECT coding_id, segment, {seg_flags}
        FROM ({segments})
    ),
    fam AS (
        SELECT coding_id,
            count(*) FILTER (WHERE w) AS withdrawal_segments,
            count(*) FILTER (WHERE c) AS confrontation_segments,
            count(*) FILTER (WHERE w OR c) AS rupture_segments,
            count(*) FILTER (WHERE r) AS resolution_segments,
            count(*) FILTER (WHERE wm AND NOT w) AS withdrawal_possible_segments,
            count(*) FILTER (WHERE cm AND NOT c) AS confrontation_possible_segments,
            count(*) FILTER (WHERE rm AND NOT r) AS resolution_possible_segments
        FROM seg GROUP BY coding_id
    ),
    r AS ({rated})
    SELECT c.coding_id,
        coalesce(fam.withdrawal_segments, 0)::INTEGER AS withdrawal_segments,
        coalesce(fam.confrontation_segments, 0)::INTEGER AS confrontation_segments,
        coalesce(fam.rupture_segments, 0)::INTEGER AS rupture_segments,
        coalesce(fam.resolution_segments, 0)::INTEGER AS resolution_segments,
        coalesce(fam.withdrawal_possible_segments, 0)::INTEGER AS withdrawal_possible_segments,
        coalesce(fam.confrontation_possible_segments, 0)::INTEGER AS confrontation_possible_segments,
        coalesce(fam.resolution_possible_segments, 0)::INTEGER AS resolution_possible_segments,
        {glob_cols},
        coalesce(r.n_ratings, 0) = 0 AS ratings_pending
    FROM {codings} c
    LEFT JOIN fam USING (coding_id)
    LEFT JOIN r USING (coding_id)
    """


def code_segments_select(book: cb.Codebook, ids: str) -> str:
    """Per coding in relation `ids` (a coding_id column): `seg_<key>`, the segments where each code is marked
    `check` (one mark per code and segment), zero when never."""
    counts = ", ".join(f"count(CASE WHEN code = '{k}' THEN 1 END)::INTEGER AS seg_{k}" for k in book.keys)
    return f"""
    SELECT i.coding_id, {counts}
    FROM (SELECT DISTINCT coding_id FROM {ids}) i
    LEFT JOIN mark m ON m.coding_id = i.coding_id AND m.clarity = 'check'
    GROUP BY i.coding_id"""


CACHE = "coding_metrics_cache"

CODING_METRICS_SQL = f"""
CREATE OR REPLACE VIEW v_coding_metrics AS
SELECT c.coding_id, c.dyad_id, c.session_number, c.coder_id, c.version, c.status, c.consensus, c.is_current,
    c.codebook_id, c.codebook_version, s.n_segments, s.segment_minutes, s.session_date, x.* EXCLUDE (coding_id)
FROM coding c
JOIN session s USING (dyad_id, session_number)
JOIN {CACHE} x USING (coding_id)
"""


PRIMARY_CODING_SQL = """
CREATE OR REPLACE VIEW v_primary_coding AS
WITH lineage AS (
    SELECT dyad_id, session_number, coder_id, min(coding_id) AS first_id
    FROM coding GROUP BY ALL
),
ranked AS (
    SELECT c.coding_id, c.dyad_id, c.session_number, c.coder_id,
        count(*) OVER w AS n_codings,
        row_number() OVER (w ORDER BY c.consensus DESC, l.first_id, c.coder_id) AS rank
    FROM coding c JOIN lineage l USING (dyad_id, session_number, coder_id)
    WHERE c.is_current AND c.status = 'final'
    WINDOW w AS (PARTITION BY c.dyad_id, c.session_number)
)
SELECT coding_id, dyad_id, session_number, coder_id, n_codings FROM ranked WHERE rank = 1
"""

SESSION_METRICS_SQL = """
CREATE OR REPLACE VIEW v_session_metrics AS
SELECT d.therapist_id, t.supervisor_id, t.trainee, d.patient_id, d.treatment, p.n_codings, m.*
FROM v_primary_coding p
JOIN v_coding_metrics m USING (coding_id)
JOIN dyad d ON d.dyad_id = m.dyad_id
JOIN therapist t ON t.therapist_id = d.therapist_id
"""


def _cache_columns_match(con: duckdb.DuckDBPyConnection) -> bool:
    """The cache exists and its columns match the live view's (a codebook change rebuilds it)."""
    try:
        cols = [r[0] for r in con.execute(f"SELECT * FROM {CACHE} LIMIT 0").description]
    except duckdb.CatalogException:
        return False
    live = [r[0] for r in con.execute("SELECT * FROM v_coding_metrics_live LIMIT 0").description]
    return cols == live


_MISSING = f"SELECT coding_id FROM coding EXCEPT SELECT coding_id FROM {CACHE}"
_ORPHANS = f"SELECT count(*) FROM {CACHE} WHERE coding_id NOT IN (SELECT coding_id FROM coding)"


def refresh_metrics(con: duckdb.DuckDBPyConnection, coding_ids: list[int] | None = None) -> None:
    """Recompute cached metrics for these codings (every coding missing from the cache when None).

    A coding's marks and ratings never change once written (edits create new versions), so the cache only
    has to learn about new codings; every write path calls this inside its own transaction.
    """
    if coding_ids is None:
        missing = [r[0] for r in con.execute(_MISSING).fetchall()]
        if missing:
            refresh_metrics(con, missing)
        if con.execute(_ORPHANS).fetchall()[0][0]:
            con.execute(f"DELETE FROM {CACHE} WHERE coding_id NOT IN (SELECT coding_id FROM coding)")
        return
    ids = [int(i) for i in coding_ids]
    con.execute(f"DELETE FROM {CACHE} WHERE coding_id IN (SELECT unnest(?::BIGINT[]))", [ids])
    cache_metrics(con, "(SELECT unnest($ids::BIGINT[]) AS coding_id)", {"ids": ids})


def cache_metrics(con: duckdb.DuckDBPyConnection, ids: str, params: dict[str, object] | None = None,
                  book: cb.Codebook = cb.DEFAULT, rated: str | None = None, segments: str | None = None) -> None:
    """Add the metrics of the codings in relation `ids` (a coding_id column) to the cache.

    `book` must be the one the views were created with (`create_views`), which fixes the cache's columns.
    `rated` and `segments` are as in `_metrics_select`.
    """
    con.execute(f"INSERT INTO {CACHE} {_metrics_select(book, ids, rated, segments)}", params or {})


def cache_saved_coding(con: duckdb.DuckDBPyConnection, coding_id: int, marks: Mapping[tuple[int, str], str],
                       ratings: Mapping[str, int], coding_book: cb.Codebook, book: cb.Codebook = cb.DEFAULT) -> None:
    """Add the metrics of one coding just written (its `marks`, (segment, code) -> clarity, and `ratings`, by
    the codes of `coding_book`) to the cache, by the same query as every other coding, from the values the
    writer holds rather than by reading back its rows: on a shared store each table read is a catalog round
    trip of about 10 ms of CPU, and this spares a scoresheet save four of them. `book` is as in `cache_metrics`."""
    keys = sorted(marks)
    items = sorted(ratings)
    params = {"id": coding_id, "seg": [s for s, _ in keys], "fam": [coding_book.code(c).family for _, c in keys],
              "clarity": [marks[k] for k in keys], "items": items, "vals": [ratings[k] for k in items]}
    segments = f"""
        SELECT $id::BIGINT AS coding_id, segment, bit_or({mark_flags('family', "clarity = 'check'")}) AS flags
        FROM (SELECT unnest($seg::INTEGER[]) AS segment, unnest($fam::VARCHAR[]) AS family,
                     unnest($clarity::VARCHAR[]) AS clarity)
        GROUP BY segment"""
    rated = ("(SELECT $id::BIGINT AS coding_id, unnest($items::VARCHAR[]) AS item, "
             "unnest($vals::INTEGER[]) AS rating)")
    con.execute(f"INSERT INTO {CACHE} " + _metrics_select(book, segments=segments, codings="(SELECT $id::BIGINT AS "
                                                            "coding_id)", ratings=rated), params)


RATING_SQL = """
CREATE OR REPLACE VIEW rating AS
SELECT v.coding_id, i.item, v.rating::INTEGER AS rating FROM rating_value v JOIN rating_item i USING (item_id)
"""


def _views(book: cb.Codebook) -> list[tuple[str, str]]:
    """(name, SQL) of each view, in the order they must be made."""
    return [("rating", RATING_SQL),  # (coding_id, item, rating); stored with a small item id (migration 6)
            ("v_coding_metrics_live", f"CREATE OR REPLACE VIEW v_coding_metrics_live AS {_metrics_select(book)}"),
            ("v_coding_metrics", CODING_METRICS_SQL), ("v_primary_coding", PRIMARY_CODING_SQL),
            ("v_session_metrics", SESSION_METRICS_SQL)]


def _tag(sql: str) -> str:
    """What each view's comment holds: a digest of the SQL that made it (DuckDB re-renders a view's text, so
    comparing the text itself would not work)."""
    return "rrrs:" + hashlib.sha256(sql.encode()).hexdigest()[:16]


def _stale(con: duckdb.DuckDBPyConnection, views: list[tuple[str, str]]) -> list[tuple[str, str]]:
    have = dict(con.execute("SELECT view_name, comment FROM duckdb_views() WHERE database_name = current_database() "
                            "AND schema_name = current_schema()").fetchall())
    return [(name, sql) for name, sql in views if have.get(name) != _tag(sql)]


def _cache_work(con: duckdb.DuckDBPyConnection) -> str | None:
    """"create" (missing, or its columns changed), "top up" (codings missing or gone), or None."""
    if not _cache_columns_match(con):
        return "create"
    if con.execute(f"SELECT ({_ORPHANS}) + (SELECT count(*) FROM ({_MISSING}))").fetchall()[0][0]:
        return "top up"
    return None


def create_views(con: duckdb.DuckDBPyConnection, book: cb.Codebook = cb.DEFAULT) -> None:
    """Make the views that are missing or differ from the code; create, rebuild or top up the derived metrics
    cache (it holds no original data). Nothing is written when all is current, so several servers connecting
    to one shared store neither rewrite the views nor fight over them: the work happens under the write lock,
    checked again once it is held."""
    views = _views(book)
    if not _stale(con, views) and _cache_work(con) is None:
        return
    with writing(con):
        stale = _stale(con, views)
        for name, sql in stale:
            if name == "v_coding_metrics":  # it reads the cache: make the cache first
                _fill_cache(con)
            con.execute(sql)
            con.execute(f"COMMENT ON VIEW {name} IS '{_tag(sql)}'")
        if not any(name == "v_coding_metrics" for name, _ in stale):
            _fill_cache(con)


def _fill_cache(con: duckdb.DuckDBPyConnection) -> None:
    work = _cache_work(con)
    if work == "create":
        con.execute(f"CREATE OR REPLACE TABLE {CACHE} AS SELECT * FROM v_coding_metrics_live")
    elif work == "top up":
        refresh_metrics(con)
