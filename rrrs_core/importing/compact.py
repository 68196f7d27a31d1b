"""The staged ratings, kept compact: a known item as its position in the codebook's list, a rating written as
one of the digits 1-5 as that number, and the text only for any other value.

Ratings are the big table (about 30 rows per coding, 3.3 million at 100,000 sessions). Staged as five text
columns, storing them in DuckDB cost more than reading the file, and every later step turned the item and
the rating back into numbers row by row. Here the import's summary and its write read the numbers (`ix`,
`v`), while the view `stg_ratings` (`text_select`) gives back every row's text exactly as read, so the
validation rules and their messages see the file as the user wrote it.

`raw_ratings` columns: dyad_id, session_number, coder_id (text, as read); `ix` (1-based position of the item
in `items`, NULL for any other item) with `item_text` (the item when `ix` is NULL); `v` (the rating when
written exactly as 1-5, else NULL) with `rating_text` (the rating when `v` is NULL). Row order, and so
`rowid`, is the file's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import duckdb

# A rating written exactly as one of the digits 1-5, else NULL (an odd row for the import summary).
RATING_VALUE = "CASE rating " + " ".join(f"WHEN '{v}' THEN {v}" for v in range(1, 6)) + " END"
TABLE = "raw_ratings"
# A rating's number: `v`, or for a rating written otherwise (such as '05', which validation accepts) its text
# as a number; NULL when it is none. Trust it only once validation has found no errors.
VALUE = "coalesce(v, try_cast(rating_text AS INTEGER))"


def create(con: duckdb.DuckDBPyConnection, source: str, items: Sequence[str],
           params: Mapping[str, object] | None = None) -> None:
    """`raw_ratings` from the text relation `source` (columns dyad_id, session_number, coder_id, item, rating;
    named parameters `params`, plus `$items`)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {TABLE} AS
        SELECT dyad_id, session_number, coder_id,
            list_position($items, item)::UTINYINT AS ix, CASE WHEN ix IS NULL THEN item END AS item_text,
            ({RATING_VALUE})::UTINYINT AS v, CASE WHEN v IS NULL THEN rating END AS rating_text
        FROM {source}""", {**(params or {}), "items": list(items)})


def text_list(words: Sequence[str]) -> str:
    """Our own constants (codebook items, clarity words) as a SQL list literal: views take no parameters."""
    return "[" + ", ".join("'" + w.replace("'", "''") + "'" for w in words) + "]::VARCHAR[]"


def text_select(items: Sequence[str]) -> str:
    """Select list over `raw_ratings` giving back the ratings' text columns as read."""
    return (f"dyad_id, session_number, coder_id, coalesce(item_text, ({text_list(items)})[ix]) AS item, "
            "coalesce(rating_text, v::VARCHAR) AS rating")
