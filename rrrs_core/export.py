"""CSV exports: the per-coding summary, made safe to open in a spreadsheet."""

from __future__ import annotations

import duckdb
import pandas as pd

from rrrs_core import codebook as cb
from rrrs_core.scope import CLINIC, Scope
from rrrs_core.views import code_segments_select, metric_columns

ID_COLUMNS = ["dyad_id", "therapist_id", "session_number", "coder_id"]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def summary_columns(book: cb.Codebook = cb.DEFAULT) -> list[str]:
    return ID_COLUMNS + metric_columns(book)


_EXPORTED = """
    FROM v_coding_metrics m JOIN dyad d USING (dyad_id)
    WHERE m.is_current AND m.status = 'final' AND {where}"""


def summary(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, book: cb.Codebook = cb.DEFAULT) -> pd.DataFrame:
    """One row per current, final coding (second coders included); pending ratings stay empty."""
    where, params = scope.sql("d.therapist_id")
    cols = ", ".join(metric_columns(book))  # each name is in exactly one of x (metrics) and s (seg_<key>)
    return con.execute(
        f"""
        WITH x AS (SELECT m.*, d.therapist_id {_EXPORTED.format(where=where)})
        SELECT dyad_id, therapist_id, session_number, coder_id, {cols}
        FROM x JOIN ({code_segments_select(book, "x")}) s USING (coding_id)
        ORDER BY dyad_id, session_number, coder_id
        """,
        params,
    ).df()


def summary_size(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC) -> int:
    """How many codings `summary` exports, without building it."""
    where, params = scope.sql("d.therapist_id")
    return int(con.execute(f"SELECT count(*) {_EXPORTED.format(where=where)}", params).fetchall()[0][0])


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula (CSV injection) with a quote."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v)
    return out


def to_csv(frame: pd.DataFrame) -> bytes:
    return neutralise_formulas(frame).to_csv(index=False).encode("utf-8")
