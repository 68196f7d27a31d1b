"""Per-group summaries of the big staged tables, read once and shared by validation and the manual's rules.

Ratings are the largest table by far (about 30 rows per coding), so every question asked of them per
coding is answered from one aggregation, `sum_ratings`, instead of joins over millions of rows. Each
codebook item is one bit of an integer (`ix` is its 1-based position in `book.rating_items`), which turns
"which items are rated" and "is any item rated twice" into integer arithmetic.

- `sum_ratings` (one row per coding key): `n` known-item rows, `distinct_n` distinct known items, `rated`
  item bits, `high` bits of items rated above 1, each global rating (named by its item), and the highest
  significance per rupture family, read from the compact staging (`compact`): they are only trusted
  (by the consistency rules and the import's metric cache) after validation found no errors. `odd` counts
  rows whose item is not a known item or whose rating is not one of the digits 1-5. Row numbers are not
  kept: the few messages that need one look it up (`consistency`).
- `sum_marks` (one row per coding key and segment): `n` known-code rows, `distinct_n` distinct codes,
  `odd` rows whose code is not a known code or whose clarity is not written `check` or `check_minus`, and
  the segment's `flags` (`views.mark_flags`), which the import's metric cache counts (trusted, like the
  ratings' values, only after validation found no errors).

Each summary screens its table (`SCREENS`): when no group has an odd row and the group columns (the key,
and for marks the segment) pass the row rules, no row rule can fire on the table and no value can hold
stray spaces, so a clean file, the usual case, is not scanned row by row for either.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from rrrs_core import codebook as cb
from rrrs_core.importing import compact
from rrrs_core.importing.format import KEY as KEY_COLUMNS
from rrrs_core.importing.format import StagedTable
from rrrs_core.importing.reader import messy
from rrrs_core.importing.typed import CHECK_WORDS
from rrrs_core.store import scalar
from rrrs_core.views import mark_flags

KEY = "dyad_id, session_number, coder_id"
RUPTURE_FAMILIES = ("withdrawal", "confrontation")
TABLES = ("sum_ratings", "sum_marks")
# Item bit sets are signed 64-bit integers (bits 0-62; the sign bit stays clear): DuckDB's bit_or over
# millions of rows runs about a third faster on BIGINT than on UBIGINT (0.30 s vs 0.41 s at 100k sessions).
BITS = "BIGINT"
MAX_ITEMS = 63
# The summaries keyed like the typed tables: they are built from the staging, before validation, so their
# session numbers (and segments) are text; read them this way only after validation found no errors.
RATINGS_TYPED = "(SELECT * REPLACE (session_number::INTEGER AS session_number) FROM sum_ratings)"
MARKS_TYPED = ("(SELECT * REPLACE (session_number::INTEGER AS session_number, segment::INTEGER AS segment) "
               "FROM sum_marks)")


@dataclass(frozen=True)
class Screen:
    summary: str  # the summary table
    odd: str  # condition on a summary row (alias t): true for every group with a row that may break a rule
    columns: tuple[str, ...]  # the staged columns the summary groups by; their rules are checked per group


SCREENS = {"ratings": Screen("sum_ratings", "t.odd > 0", KEY_COLUMNS),
           "marks": Screen("sum_marks", "t.odd > 0", (*KEY_COLUMNS, "segment"))}


def families(book: cb.Codebook) -> list[str]:
    """The family of each rating item in `book.rating_items` order ('global' for the global ratings)."""
    return [book.code(k).family if book.has_code(k) else "global" for k in book.rating_items]


def _bits(ix: str) -> str:
    return f"1::{BITS} << ({ix} - 1)"


def _mask(book: cb.Codebook, family: str) -> int:
    """The bits of the family's items (positions in `book.rating_items`)."""
    return sum(1 << i for i, f in enumerate(families(book)) if f == family)


def build(con: duckdb.DuckDBPyConnection, staged: dict[str, StagedTable], book: cb.Codebook,
          tables: tuple[str, ...] = ("ratings", "marks")) -> None:
    items = list(book.rating_items)
    if len(items) > MAX_ITEMS:
        raise ValueError(f"the import summary keeps one bit per rating item: at most {MAX_ITEMS}")
    if "ratings" in staged and "ratings" in tables:
        # Integer tests on the item's position and bit, not text: this aggregation reads every rating.
        # `val` is the rating's number (`compact.VALUE`); a rating not written as a plain digit is odd.
        globals_ = [f"max(CASE WHEN ix = {items.index(k) + 1} THEN val END) AS {k}" for k in book.global_keys]
        tops = [f"max(CASE WHEN b & {_mask(book, f)}::{BITS} <> 0 THEN val END) AS top_{f}" for f in RUPTURE_FAMILIES]
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE sum_ratings AS
            SELECT {KEY}, count(ix) AS n, bit_count(bit_or(b)) AS distinct_n, bit_or(b) AS rated,
                bit_or(CASE WHEN val > 1 THEN b END) AS high,
                count(CASE WHEN ix IS NULL OR v IS NULL THEN 1 END) AS odd, {', '.join(globals_ + tops)}
            FROM (SELECT {KEY}, ix, v, {compact.VALUE} AS val, {_bits('ix')} AS b FROM {compact.TABLE})
            GROUP BY ALL""")
    if "marks" in staged and "marks" in tables:
        families_ = [book.code(k).family for k in book.keys]
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE sum_marks AS
            SELECT {KEY}, segment, count(ix) AS n, bit_count(bit_or({_bits('ix')})) AS distinct_n,
                count(CASE WHEN ix IS NULL OR clarity IS NULL OR clarity NOT IN ('check', 'check_minus') THEN 1 END)
                    AS odd,
                bit_or({mark_flags('$2[ix]', 'list_contains($3, lower(clarity))')}) AS flags
            FROM (SELECT *, list_position($1, code) AS ix FROM stg_marks) GROUP BY ALL""",
                    [list(book.keys), families_, CHECK_WORDS])


def untidy(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Might the staged table hold stray spaces or empty strings? Not when no group has an odd row (a padded
    code, item or value is odd) and no group column has them."""
    screen = SCREENS[table]
    return bool(scalar(con, f"SELECT count(*) FROM {screen.summary} t WHERE {screen.odd} OR "
                            f"{messy(list(screen.columns))}"))


def drop(con: duckdb.DuckDBPyConnection) -> None:
    for t in TABLES:
        con.execute(f"DROP TABLE IF EXISTS {t}")
