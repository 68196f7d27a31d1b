"""Typed forms of the staged tables, made only once the rules found no errors (so casts cannot fail).

The sessions are a typed copy. The marks and the ratings (millions of rows), each read only twice after
this, are typed views rather than copies; the ratings' view reads their compact staging (`compact`).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from rrrs_core import codebook as cb
from rrrs_core.importing import compact, selfreports
from rrrs_core.importing.format import SHEET_ROW, TRUE_WORDS
from rrrs_core.store import scalar

CHECK_WORDS = sorted(k for k, v in cb.CLARITY_ALIASES.items() if v == "check")


def build(con: duckdb.DuckDBPyConnection, items: Sequence[str]) -> None:
    """`items`: the codebook's rating items, as staged (`compact`)."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE typ_sessions AS
        SELECT _row, dyad_id, therapist_id, session_number::INTEGER AS session_number, coder_id,
            n_segments::INTEGER AS n_segments, strptime(session_date, '%Y-%m-%d')::DATE AS session_date,
            coalesce(segment_minutes::INTEGER, 5) AS segment_minutes, supervisor_id,
            CASE WHEN trainee IS NULL THEN NULL ELSE list_contains(?::VARCHAR[], lower(trainee)) END AS trainee,
            patient_id, treatment,
            coalesce(list_contains(?::VARCHAR[], lower(consensus)), false) AS consensus
        FROM stg_sessions
        """,
        [list(TRUE_WORDS), list(TRUE_WORDS)],
    )
    # A view, like the ratings': the marks are read twice after this (their consistency summary, the write).
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW typ_marks AS
        SELECT _row, dyad_id, session_number::INTEGER AS session_number, coder_id, segment::INTEGER AS segment,
            code, CASE WHEN list_contains({compact.text_list(CHECK_WORDS)}, lower(clarity)) THEN 'check'
            ELSE 'check_minus' END AS clarity
        FROM stg_marks""")
    if scalar(con, "SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = 'stg_selfreports'"):
        selfreports.build_typed(con)  # the optional fourth table
    # Read from the compact staging: after validation every item is known and every rating a number 1-5.
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW typ_ratings AS
        SELECT {SHEET_ROW} AS _row, dyad_id, session_number::INTEGER AS session_number, coder_id, ix,
            ({compact.text_list(items)})[ix] AS item, {compact.VALUE} AS rating
        FROM {compact.TABLE}""")


def drop(con: duckdb.DuckDBPyConnection) -> None:
    selfreports.drop(con)
    for t in ("stg_sessions", "stg_marks", "stg_ratings", "typ_ratings", "typ_marks"):
        con.execute(f"DROP VIEW IF EXISTS {t}")
    for t in ("raw_sessions", "raw_marks", "raw_ratings", "typ_sessions",
              "new_codings"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
