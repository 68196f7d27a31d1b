"""Coder pairs and where they disagree: the data of the drill-down a calibration meeting works from.

A disagreement is a (segment, code) that one coding marks **check** and the other does not (absent or
check-minus): the presence rule of the statistics, where check-minus counts as absent. Check-minus against
nothing is not a disagreement.

Who sees which sessions (`Viewer`): a coder only pairs that include themselves (any session they coded);
a supervisor or admin the sessions of the dyads in their scope.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core import codebook as cb
from rrrs_core.errors import NotFoundError
from rrrs_core.reliability.design import COMPARED
from rrrs_core.scope import CLINIC, Scope

REFERENCE = "reference"  # coder_b meaning "the session's reference coding" (calibration)


@dataclass(frozen=True)
class Viewer:
    """What part of the pairs a principal sees: `coder_id` set, only pairs with that coder; else `scope`."""

    scope: Scope = CLINIC
    coder_id: str | None = None

    def allows_pair(self, a: str, b: str) -> bool:
        return self.coder_id is None or self.coder_id in (a, b)


def _period(since: dt.date | None, until: dt.date | None) -> tuple[str, list[object]]:
    return ("(?::DATE IS NULL OR s.session_date >= ?::DATE) AND (?::DATE IS NULL OR s.session_date <= ?::DATE)",
            [since, since, until, until])


def pairs(con: duckdb.DuckDBPyConnection, viewer: Viewer = Viewer(), since: dt.date | None = None,
          until: dt.date | None = None) -> pd.DataFrame:
    """Every pair of coders with at least one session both coded (final, current, not consensus)."""
    period, params = _period(since, until)
    scope_sql, scope_params = viewer.scope.sql("d.therapist_id") if viewer.coder_id is None else ("true", [])
    df = con.execute(f"""
        WITH c AS (SELECT c.dyad_id, c.session_number, c.coder_id FROM coding c
                   JOIN session s USING (dyad_id, session_number) JOIN dyad d USING (dyad_id)
                   WHERE {COMPARED} AND {period} AND {scope_sql})
        SELECT a.coder_id AS coder_a, b.coder_id AS coder_b, count(*) AS sessions
        FROM c a JOIN c b ON a.dyad_id = b.dyad_id AND a.session_number = b.session_number
         AND a.coder_id < b.coder_id
        WHERE (?::VARCHAR IS NULL OR ? IN (a.coder_id, b.coder_id))
        GROUP BY ALL ORDER BY sessions DESC, coder_a, coder_b""",
        [*params, *scope_params, viewer.coder_id, viewer.coder_id]).df()
    return df


def _coding_pairs(coder_b: str) -> str:
    """SQL: (dyad, session, coding a, coding b, coder b) for coder a (?) against coder b or the reference."""
    if coder_b == REFERENCE:
        return f"""SELECT c.dyad_id, c.session_number, c.coding_id AS id_a, r2.coding_id AS id_b,
                       r.coder_id AS coder_b
                   FROM coding c JOIN reference_coding r USING (dyad_id, session_number)
                   JOIN coding r2 ON r2.dyad_id = r.dyad_id AND r2.session_number = r.session_number
                    AND r2.coder_id = r.coder_id AND r2.is_current AND r2.status = 'final'
                   WHERE {COMPARED} AND c.coder_id = ? AND r.coder_id <> c.coder_id AND ? = '{REFERENCE}'"""
    return f"""SELECT c.dyad_id, c.session_number, c.coding_id AS id_a, c2.coding_id AS id_b,
                   c2.coder_id AS coder_b
               FROM coding c JOIN coding c2 USING (dyad_id, session_number)
               WHERE {COMPARED.replace('c.', 'c2.')} AND {COMPARED} AND c.coder_id = ? AND c2.coder_id = ?"""


def sessions(con: duckdb.DuckDBPyConnection, viewer: Viewer, coder_a: str, coder_b: str,
             since: dt.date | None = None, until: dt.date | None = None,
             book: cb.Codebook = cb.DEFAULT) -> pd.DataFrame:
    """Sessions both coded (coder_b may be REFERENCE: the calibration sessions), with the number of disputed
    (segment, code) marks and the disputed codes' labels, most disputed first."""
    if not viewer.allows_pair(coder_a, coder_b):
        return pd.DataFrame(columns=["dyad_id", "session_number", "session_date", "coder_b", "disputed", "codes"])
    period, params = _period(since, until)
    scope_sql, scope_params = viewer.scope.sql("dy.therapist_id") if viewer.coder_id is None else ("true", [])
    df = con.execute(f"""
        WITH p AS (SELECT q.* FROM ({_coding_pairs(coder_b)}) q
                   JOIN session s USING (dyad_id, session_number) JOIN dyad dy USING (dyad_id)
                   WHERE {period} AND {scope_sql}),
        a AS (SELECT p.*, m.segment, m.code FROM p JOIN mark m ON m.coding_id = p.id_a AND m.clarity = 'check'),
        b AS (SELECT p.*, m.segment, m.code FROM p JOIN mark m ON m.coding_id = p.id_b AND m.clarity = 'check'),
        x AS (SELECT dyad_id, session_number, segment, code FROM (
                 SELECT dyad_id, session_number, segment, code FROM a
                 UNION ALL SELECT dyad_id, session_number, segment, code FROM b)
              GROUP BY ALL HAVING count(*) = 1)
        SELECT p.dyad_id, p.session_number, s.session_date, p.coder_b,
            count(x.code) AS disputed, list(DISTINCT x.code) FILTER (WHERE x.code IS NOT NULL) AS codes
        FROM p JOIN session s USING (dyad_id, session_number)
        LEFT JOIN x USING (dyad_id, session_number)
        GROUP BY ALL ORDER BY disputed DESC, s.session_date DESC NULLS LAST, p.dyad_id, p.session_number""",
        [coder_a, coder_b, *params, *scope_params]).df()
    df["codes"] = [", ".join(book.code(k).label for k in book.keys if k in set(_items(v))) for v in df.codes]
    return df


def _items(value: object) -> list[str]:
    """A DuckDB list cell as a Python list (None/NaN when the session has no disputed code)."""
    return [str(v) for v in value] if hasattr(value, "__iter__") and not isinstance(value, str) else []


@dataclass(frozen=True)
class Comparison:
    """Two codings of one session for the drill-down."""

    dyad_id: str
    session_number: int
    coder_a: str
    coder_b: str
    n_segments: int
    segment_minutes: int
    marks: pd.DataFrame     # coder_id, segment, code, label, family, clarity, position, minute_start, minute_end
    disputed: pd.DataFrame  # segment, code, label, family, clarity_a, clarity_b, minute_start, minute_end
    definitions: pd.DataFrame  # code, label, family, definition, check_minus: the disputed codes, codebook order


def compare(con: duckdb.DuckDBPyConnection, viewer: Viewer, dyad_id: str, session_number: int, coder_a: str,
            coder_b: str, book: cb.Codebook = cb.DEFAULT) -> Comparison:
    """Both codings' marks, the disputed ones, and the manual's definitions of the disputed codes.
    NotFoundError when the pair or session is outside the viewer's reach or the two did not both code it."""
    if not viewer.allows_pair(coder_a, coder_b):
        raise NotFoundError(f"Dyad {dyad_id} has no session {session_number} (not found or not permitted).")
    scope_sql, scope_params = viewer.scope.sql("dy.therapist_id") if viewer.coder_id is None else ("true", [])
    row = con.execute(f"""
        SELECT q.id_a, q.id_b, q.coder_b, s.n_segments, s.segment_minutes FROM ({_coding_pairs(coder_b)}) q
        JOIN session s USING (dyad_id, session_number) JOIN dyad dy USING (dyad_id)
        WHERE q.dyad_id = ? AND q.session_number = ? AND {scope_sql}""",
        [coder_a, coder_b, dyad_id, int(session_number), *scope_params]).fetchone()
    if row is None:
        raise NotFoundError(f"Dyad {dyad_id} has no session {session_number} coded by both "
                            f"(not found or not permitted).")
    id_a, id_b, real_b, n_segments, minutes = row
    marks = con.execute("""
        SELECT CASE WHEN m.coding_id = ? THEN ? ELSE ? END AS coder_id, m.segment, m.code, m.clarity
        FROM mark m WHERE m.coding_id IN (?, ?) ORDER BY m.segment""",
        [id_a, coder_a, real_b, id_a, id_b]).df()
    marks = marks[[book.has_code(k) for k in marks.code]].copy()
    marks["label"] = [book.code(k).label for k in marks.code]
    marks["family"] = [book.code(k).family for k in marks.code]
    marks["position"] = [book.keys.index(k) for k in marks.code]
    marks["minute_start"] = (marks.segment - 1) * minutes
    marks["minute_end"] = marks.segment * minutes
    wide = marks.pivot_table(index=["segment", "code"], columns="coder_id", values="clarity", aggfunc="first")
    wide = wide.reindex(columns=[coder_a, real_b])
    present_a, present_b = wide[coder_a].eq("check"), wide[real_b].eq("check")
    disputed = wide[present_a ^ present_b].reset_index()
    disputed.columns = ["segment", "code", "clarity_a", "clarity_b"]
    disputed["label"] = [book.code(k).label for k in disputed.code]
    disputed["family"] = [book.code(k).family for k in disputed.code]
    disputed["minute_start"] = (disputed.segment - 1) * minutes
    disputed["minute_end"] = disputed.segment * minutes
    for col in ("clarity_a", "clarity_b"):
        disputed[col] = disputed[col].fillna("absent")
    codes = [k for k in book.keys if k in set(disputed.code)]
    definitions = pd.DataFrame([{"code": k, "label": book.code(k).label, "family": book.code(k).family,
                                 "definition": book.code(k).definition, "check_minus": book.code(k).check_minus}
                                for k in codes], columns=["code", "label", "family", "definition", "check_minus"])
    return Comparison(dyad_id, int(session_number), coder_a, str(real_b), int(n_segments), int(minutes),
                      marks.reset_index(drop=True), disputed, definitions)


def date_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.date | None, dt.date | None]:
    """First and last session date of the sessions with a compared coding (the period filter's bounds)."""
    row = con.execute(f"SELECT min(s.session_date), max(s.session_date) FROM session s WHERE EXISTS "
                      f"(SELECT 1 FROM coding c WHERE c.dyad_id = s.dyad_id AND c.session_number = s.session_number "
                      f"AND {COMPARED})").fetchone()
    return (row[0], row[1]) if row else (None, None)


def session_coders(con: duckdb.DuckDBPyConnection, viewer: Viewer, dyad_id: str, session_number: int) -> list[str]:
    """Coders with a current, final coding of a session in the viewer's scope (consensus codings included:
    a consensus may be a reference)."""
    scope_sql, scope_params = viewer.scope.sql("dy.therapist_id")
    return [r[0] for r in con.execute(f"""
        SELECT DISTINCT c.coder_id FROM coding c JOIN dyad dy USING (dyad_id)
        WHERE c.dyad_id = ? AND c.session_number = ? AND c.is_current AND c.status = 'final' AND {scope_sql}
        ORDER BY 1""", [dyad_id, int(session_number), *scope_params]).fetchall()]
