"""The compared codings' numbers, aggregated in SQL: per-session values for the ICCs, per-segment presence
patterns for the chance-corrected coefficients.

Per-session values are the summary export's (`rrrs export summary`, `views.v_coding_metrics` and
`views.code_segments_select`): the family frequencies, the four global items, and `seg_<key>`, the segments
where a code is marked check. Each code's significance rating is `sig_<key>` (it is not in the export): a
code never rated counts as 1, the scoresheet default, and a coding with ratings pending has none.

Presence: a segment counts as present for a code when the code is marked check in it; check-minus (unclear
whether it meets criteria) counts as absent. A family is present when any of its codes is; `rupture` when
withdrawal or confrontation is. Every segment of a compared session is a unit, marked or not.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from rrrs_core import codebook as cb
from rrrs_core.errors import RrrsError
from rrrs_core.reliability.categorical import Patterns
from rrrs_core.reliability.design import Design, selection
from rrrs_core.views import code_segments_select

FAMILY_ITEMS = ("withdrawal_segments", "confrontation_segments", "rupture_segments", "resolution_segments")
PRESENCE_FAMILIES = {"withdrawal": ("withdrawal",), "confrontation": ("confrontation",),
                     "rupture": ("withdrawal", "confrontation"), "resolution": ("resolution",)}


def session_items(book: cb.Codebook = cb.DEFAULT) -> list[str]:
    """Per-session items in report order: family frequencies, global ratings, code frequencies, significance."""
    return [*FAMILY_ITEMS, *book.global_keys, *[f"seg_{k}" for k in book.keys], *[f"sig_{k}" for k in book.keys]]


def presence_items(book: cb.Codebook = cb.DEFAULT) -> list[str]:
    return [*PRESENCE_FAMILIES, *book.keys]


def session_values(con: duckdb.DuckDBPyConnection, design: Design,
                   book: cb.Codebook = cb.DEFAULT) -> pd.DataFrame:
    """One row per compared coding: dyad_id, session_number, slot, coder_id and every `session_items` column
    as floats (NaN where the coding's ratings are pending)."""
    sel, params = selection(design)
    sig = ", ".join(f"max(CASE WHEN r.item = '{k}' THEN r.rating END) AS r_{k}" for k in book.keys)
    sig_cols = ", ".join(f"CASE WHEN m.ratings_pending THEN NULL ELSE coalesce(g.r_{k}, 1) END AS sig_{k}"
                         for k in book.keys)
    keys = ", ".join(f"'{k}'" for k in book.keys)
    metric_cols = ", ".join(f"m.{c}" for c in [*FAMILY_ITEMS, *book.global_keys])
    seg_cols = ", ".join(f"x.seg_{k}" for k in book.keys)
    frame = con.execute(f"""
        WITH sel AS MATERIALIZED ({sel}),
        g AS (SELECT r.coding_id, {sig} FROM rating r SEMI JOIN sel USING (coding_id)
              WHERE r.item IN ({keys}) GROUP BY r.coding_id)
        SELECT sel.dyad_id, sel.session_number, sel.slot, sel.coder_id, {metric_cols}, {seg_cols}, {sig_cols}
        FROM sel
        JOIN v_coding_metrics m USING (coding_id)
        JOIN ({code_segments_select(book, "sel")}) x USING (coding_id)
        LEFT JOIN g USING (coding_id)
        ORDER BY sel.dyad_id, sel.session_number, sel.slot""", params).df()
    return frame.astype({c: float for c in session_items(book)})


class Wide:
    """`session_values` as sessions x k tables, one per item: the rows come ordered by session and slot, and
    every compared session has exactly k codings (the design's SQL guarantees it), so a reshape does it."""

    def __init__(self, values: pd.DataFrame, k: int):
        self.k = k
        self.n = len(values) // k
        slots = values["slot"].to_numpy()
        if len(values) % k or (slots.reshape(self.n, k) != np.arange(1, k + 1)).any():
            raise RrrsError("Reliability: the compared codings are not one per coder and session.")
        self.values = values
        codes, _ = pd.factorize(values["coder_id"])
        self.coders = codes.reshape(self.n, k)

    def table(self, item: str) -> tuple[np.ndarray, int]:
        """One item without the sessions missing a value (ratings pending), and the distinct coders behind it."""
        table = self.values[item].to_numpy(dtype=float).reshape(self.n, self.k)
        keep = ~np.isnan(table).any(axis=1)
        return table[keep], len(np.unique(self.coders[keep]))


def wide(values: pd.DataFrame, item: str, k: int) -> tuple[np.ndarray, int]:
    """One item as a sessions x k table with no missing cell, and the number of distinct coders behind it."""
    return Wide(values, k).table(item)


def presence_patterns(con: duckdb.DuckDBPyConnection, design: Design,
                      book: cb.Codebook = cb.DEFAULT) -> tuple[dict[str, Patterns], int, int]:
    """Per presence item, the segment counts by pattern of slots marking it check; also the number of
    sessions and of distinct coders compared."""
    sel, params = selection(design)
    unions = " UNION ALL ".join(
        f"SELECT '{name}' AS item, dyad_id, session_number, segment, bit_or(bit) AS pattern FROM marked "
        f"WHERE family IN ({', '.join(repr(f) for f in fams)}) GROUP BY ALL"
        for name, fams in PRESENCE_FAMILIES.items())
    rows = con.execute(f"""
        WITH sel AS MATERIALIZED ({sel}),
        marked AS (
            SELECT sel.dyad_id, sel.session_number, k.segment, k.code, cc.family, 1 << (sel.slot - 1) AS bit
            FROM sel
            JOIN mark k USING (coding_id)
            JOIN coding c USING (coding_id)
            JOIN codebook_code cc
              ON cc.codebook_id = c.codebook_id AND cc.codebook_version = c.codebook_version AND cc.key = k.code
            WHERE k.clarity = 'check'
        ),
        patterns AS (
            SELECT code AS item, dyad_id, session_number, segment, bit_or(bit) AS pattern FROM marked GROUP BY ALL
            UNION ALL {unions}
        )
        SELECT item, pattern, count(*) AS n FROM patterns GROUP BY ALL""", params).fetchall()
    n_sessions, n_coders, n_segments = design_size(con, design)
    counts: dict[str, dict[int, int]] = {item: {} for item in presence_items(book)}
    for item, pattern, n in rows:
        if item in counts:
            counts[item][int(pattern)] = int(n)
    out = {}
    for item, c in counts.items():
        c[0] = max(int(n_segments) - sum(c.values()), 0)  # segments nobody marked: no mark row
        out[item] = Patterns(design.k, {p: v for p, v in c.items() if v}, same_coders=design.crossed)
    return out, int(n_sessions), int(n_coders)


def design_size(con: duckdb.DuckDBPyConnection, design: Design) -> tuple[int, int, int]:
    """Sessions compared, distinct coders among their compared codings, and the sessions' segments."""
    sel, params = selection(design)
    row = con.execute(f"""
        WITH sel AS MATERIALIZED ({sel})
        SELECT count(*), (SELECT count(DISTINCT coder_id) FROM sel), coalesce(sum(s.n_segments), 0)
        FROM session s SEMI JOIN sel USING (dyad_id, session_number)""", params).fetchall()[0]
    return int(row[0]), int(row[1]), int(row[2])
