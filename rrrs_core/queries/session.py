"""One session in detail: its codings, the marks and ratings of one coder, and how two coders differ.

The coding shown by default is the primary one (`v_primary_coding`: consensus first, then the first coder
to reach the database); any other current, final coding can be viewed by coder id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from rrrs_core import codebook as cb
from rrrs_core.errors import NotFoundError
from rrrs_core.queries.dyad import require_dyad
from rrrs_core.scope import Scope


def session_header(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str,
                   session_number: int) -> dict[str, Any]:
    """Dyad identity plus the session's date, length, neighbours in the dyad and draft count.

    A session with self-reports but no recorded session (no coding ever stored) exists too: its date is the
    form's completion date and its length is unknown (`n_segments` None). Neighbours run over both kinds."""
    dyad = require_dyad(con, scope, dyad_id)
    cur = con.execute(
        """
        WITH axis AS (
            SELECT session_number, session_date, n_segments, segment_minutes FROM session WHERE dyad_id = $1
            UNION ALL
            SELECT session_number, min(completed_on), NULL, NULL FROM selfreport
            WHERE dyad_id = $1 AND session_number NOT IN (SELECT session_number FROM session WHERE dyad_id = $1)
            GROUP BY session_number
        )
        SELECT a.session_date, a.n_segments, a.segment_minutes,
            (SELECT max(session_number) FROM axis WHERE session_number < $2) AS prev_session,
            (SELECT min(session_number) FROM axis WHERE session_number > $2) AS next_session,
            (SELECT count(*) FROM coding c WHERE c.dyad_id = $1 AND c.session_number = $2
              AND c.is_current AND c.status <> 'final') AS n_drafts
        FROM axis a WHERE a.session_number = $2
        """,
        [dyad_id, int(session_number)],
    )
    row = cur.fetchone()
    if row is None:
        raise NotFoundError(f"Session {session_number} of dyad {dyad_id!r} not found or not permitted.")
    return {**dyad, "session_number": int(session_number),
            **dict(zip([d[0] for d in cur.description], row, strict=True))}


def sessions(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str) -> pd.DataFrame:
    """The dyad's sessions for a picker, coded or not, including those known only from self-reports."""
    require_dyad(con, scope, dyad_id)
    return con.execute(
        """
        WITH axis AS (
            SELECT session_number, session_date FROM session WHERE dyad_id = $1
            UNION ALL
            SELECT session_number, min(completed_on) FROM selfreport
            WHERE dyad_id = $1 AND session_number NOT IN (SELECT session_number FROM session WHERE dyad_id = $1)
            GROUP BY session_number
        )
        SELECT a.session_number, a.session_date, pc.coding_id IS NOT NULL AS coded
        FROM axis a
        LEFT JOIN (SELECT * FROM v_primary_coding WHERE dyad_id = $1) pc ON pc.session_number = a.session_number
        ORDER BY a.session_number
        """,
        [dyad_id],
    ).df()


def codings(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str, session_number: int) -> pd.DataFrame:
    """Current, final codings of the session, primary first."""
    require_dyad(con, scope, dyad_id)
    return con.execute(
        """
        WITH c AS (
            SELECT * FROM coding WHERE dyad_id = $1 AND session_number = $2 AND is_current AND status = 'final'
        ),
        k AS (SELECT coding_id, count(*) AS n FROM mark WHERE coding_id IN (SELECT coding_id FROM c) GROUP BY ALL),
        r AS (SELECT coding_id, count(*) AS n FROM rating WHERE coding_id IN (SELECT coding_id FROM c) GROUP BY ALL),
        pc AS (SELECT coding_id FROM v_primary_coding WHERE dyad_id = $1 AND session_number = $2)
        SELECT c.coding_id, c.coder_id, c.version, c.consensus, c.codebook_id, c.codebook_version,
            c.created_at, pc.coding_id IS NOT NULL AS is_primary,
            coalesce(k.n, 0)::INTEGER AS n_marks, coalesce(r.n, 0) = 0 AS ratings_pending
        FROM c
        LEFT JOIN pc ON pc.coding_id = c.coding_id
        LEFT JOIN k ON k.coding_id = c.coding_id
        LEFT JOIN r ON r.coding_id = c.coding_id
        ORDER BY is_primary DESC, c.coder_id
        """,
        [dyad_id, int(session_number)],
    ).df()


def _coding(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str, session_number: int,
            coder_id: str) -> tuple[int, cb.Codebook, int]:
    require_dyad(con, scope, dyad_id)
    row = con.execute(
        """
        SELECT c.coding_id, c.codebook_id, c.codebook_version, s.segment_minutes
        FROM coding c JOIN session s USING (dyad_id, session_number)
        WHERE c.dyad_id = ? AND c.session_number = ? AND c.coder_id = ? AND c.is_current AND c.status = 'final'
        """,
        [dyad_id, int(session_number), coder_id],
    ).fetchone()
    if row is None:
        raise NotFoundError(f"No final coding of session {session_number} by {coder_id!r}.")
    return int(row[0]), cb.get(row[1], row[2]), int(row[3])


def marks(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str, session_number: int,
          coder_id: str) -> pd.DataFrame:
    """The coder's marks with minute ranges, codebook label, family, definition and check-minus guidance."""
    coding_id, book, _ = _coding(con, scope, dyad_id, session_number, coder_id)
    df = con.execute(
        """
        SELECT k.segment, ((k.segment - 1) * s.segment_minutes)::INTEGER AS minute_start,
            (k.segment * s.segment_minutes)::INTEGER AS minute_end,
            k.code, cc.label, cc.family, k.clarity, cc.position, c.coder_id
        FROM mark k JOIN coding c USING (coding_id)
        JOIN session s ON s.dyad_id = c.dyad_id AND s.session_number = c.session_number
        JOIN codebook_code cc ON cc.codebook_id = c.codebook_id AND cc.codebook_version = c.codebook_version
         AND cc.key = k.code
        WHERE k.coding_id = ? ORDER BY cc.position, k.segment
        """,
        [coding_id],
    ).df()
    df["definition"] = [book.code(k).definition for k in df.code]
    df["check_minus_guidance"] = [book.code(k).check_minus for k in df.code]
    return df


def ratings(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str, session_number: int,
            coder_id: str) -> pd.DataFrame:
    """The four global ratings in codebook order with the manual's anchor text (or 'Ratings pending')."""
    coding_id, book, _ = _coding(con, scope, dyad_id, session_number, coder_id)
    given = dict(con.execute("SELECT item, rating FROM rating WHERE coding_id = ?", [coding_id]).fetchall())
    rows = [{"item": g.key, "label": g.label, "rating": given.get(g.key),
             "anchor": g.scale.anchor(given.get(g.key)), "help": g.help} for g in book.global_items]
    df = pd.DataFrame(rows, columns=["item", "label", "rating", "anchor", "help"])
    df["rating"] = df["rating"].astype("Int64")
    return df


@dataclass(frozen=True)
class CoderDiff:
    """Where two codings of one session disagree; segment lists are 1-based segment numbers."""

    coder_a: str
    coder_b: str
    marks: pd.DataFrame    # code, label, family, only_a, only_b, clarity_differs, agree (lists of segments)
    ratings: pd.DataFrame  # item, label, a, b, difference (global items always, significance when differing)
    n_agree: int           # (segment, code) marks with the same clarity in both
    n_union: int           # (segment, code) marks in either


def coder_diff(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str, session_number: int,
               coder_a: str, coder_b: str) -> CoderDiff:
    """Per code, the segments one coder marked and the other did not, and the rating differences."""
    a, book, _ = _coding(con, scope, dyad_id, session_number, coder_a)
    b, _, _ = _coding(con, scope, dyad_id, session_number, coder_b)
    m = con.execute(
        """
        WITH a AS (SELECT segment, code, clarity FROM mark WHERE coding_id = ?),
        b AS (SELECT segment, code, clarity FROM mark WHERE coding_id = ?),
        j AS (
            SELECT coalesce(a.code, b.code) AS code, coalesce(a.segment, b.segment) AS segment,
                a.clarity AS ca, b.clarity AS cb FROM a FULL OUTER JOIN b ON a.code = b.code
                AND a.segment = b.segment
        )
        SELECT j.code, cc.label, cc.family, cc.position,
            coalesce(list(segment ORDER BY segment) FILTER (WHERE cb IS NULL), []) AS only_a,
            coalesce(list(segment ORDER BY segment) FILTER (WHERE ca IS NULL), []) AS only_b,
            coalesce(list(segment ORDER BY segment) FILTER (WHERE ca <> cb), []) AS clarity_differs,
            coalesce(list(segment ORDER BY segment) FILTER (WHERE ca = cb), []) AS agree
        FROM j JOIN codebook_code cc ON cc.codebook_id = ? AND cc.codebook_version = ? AND cc.key = j.code
        GROUP BY ALL ORDER BY cc.position
        """,
        [a, b, book.id, book.version],
    ).df()
    for col in ("only_a", "only_b", "clarity_differs", "agree"):
        m[col] = [[int(s) for s in v] for v in m[col]]
    r = con.execute(
        """
        SELECT coalesce(a.item, b.item) AS item, a.rating AS a, b.rating AS b
        FROM (SELECT item, rating FROM rating WHERE coding_id = ?) a
        FULL OUTER JOIN (SELECT item, rating FROM rating WHERE coding_id = ?) b ON a.item = b.item
        """,
        [a, b],
    ).df()
    by_item = {row.item: (row.a, row.b) for row in r.itertuples()}
    rows = []
    for item in book.rating_items:
        va, vb = by_item.get(item, (None, None))
        va, vb = (None if pd.isna(v) else int(v) for v in (va, vb))
        is_global = item in book.global_keys
        if is_global or va != vb:
            label = book.global_item(item).label if is_global else f"Significance: {book.code(item).label}"
            rows.append({"item": item, "label": label, "a": va, "b": vb,
                         "difference": None if va is None or vb is None else vb - va})
    ratings_df = pd.DataFrame(rows, columns=["item", "label", "a", "b", "difference"])
    for col in ("a", "b", "difference"):
        ratings_df[col] = ratings_df[col].astype("Int64")
    n_agree = int(sum(len(v) for v in m.agree))
    n_union = int(sum(len(v) for col in ("only_a", "only_b", "clarity_differs", "agree") for v in m[col]))
    return CoderDiff(coder_a, coder_b, m, ratings_df, n_agree, n_union)


def diff_table(diff: CoderDiff, segment_minutes: int = 5) -> pd.DataFrame:
    """Display form of `CoderDiff.marks`: only codes with a disagreement, segments as minute ranges."""
    def mins(segs: list[int]) -> str:
        return ", ".join(f"{(s - 1) * segment_minutes}-{s * segment_minutes}" for s in segs)

    rows = [{"Code": r.label, "Family": r.family,
             f"Only {diff.coder_a} (min)": mins(r.only_a), f"Only {diff.coder_b} (min)": mins(r.only_b),
             "Clarity differs (min)": mins(r.clarity_differs), "Both (min)": mins(r.agree)}
            for r in diff.marks.itertuples() if r.only_a or r.only_b or r.clarity_differs]
    cols = ["Code", "Family", f"Only {diff.coder_a} (min)", f"Only {diff.coder_b} (min)",
            "Clarity differs (min)", "Both (min)"]
    return pd.DataFrame(rows, columns=cols)
