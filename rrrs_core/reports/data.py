"""Queries only the reports need: every primary-coding mark of a dyad or a therapist in one round trip.

They filter by dyad or therapist first (like `queries.dyad`), so a report never aggregates the whole
clinic's marks; episodes are then found in Python with the pure `episodes.find_episodes`, which is the
same rule `dyad_episode_counts` applies in SQL.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from rrrs_core.errors import NotFoundError
from rrrs_core.queries.dyad import GLOBAL_KEYS, PRIMARY_MARKS_CTE
from rrrs_core.scope import Scope

MARK_COLUMNS = ["session_number", "segment", "code", "clarity", "family", "label", "position"]


def dyad_marks(con: duckdb.DuckDBPyConnection, dyad_id: str) -> pd.DataFrame:
    """Marks of the primary coding of each coded session of the dyad, in codebook order."""
    return con.execute(
        f"WITH {PRIMARY_MARKS_CTE} SELECT {', '.join(MARK_COLUMNS)} FROM pm "
        "ORDER BY session_number, position, segment",
        [dyad_id],
    ).df()


def dyad_codings(con: duckdb.DuckDBPyConnection, dyad_id: str) -> pd.DataFrame:
    """Current, final codings of the dyad's sessions: who coded what, with which codebook."""
    return con.execute(
        """
        SELECT c.session_number, c.coder_id, c.codebook_id, c.codebook_version, c.consensus,
            pc.coding_id IS NOT NULL AS is_primary
        FROM coding c
        LEFT JOIN (SELECT coding_id FROM v_primary_coding WHERE dyad_id = ?) pc ON pc.coding_id = c.coding_id
        WHERE c.dyad_id = ? AND c.is_current AND c.status = 'final'
        ORDER BY c.session_number, is_primary DESC, c.coder_id
        """,
        [dyad_id, dyad_id],
    ).df()


def require_therapist(con: duckdb.DuckDBPyConnection, scope: Scope, therapist_id: str) -> dict[str, Any]:
    """The therapist's row; the same NotFoundError for an unknown id and one outside the scope."""
    rows = con.execute(
        """
        SELECT t.therapist_id, t.supervisor_id, coalesce(t.trainee, false) AS trainee,
            (SELECT count(*) FROM dyad d WHERE d.therapist_id = t.therapist_id) AS n_dyads
        FROM therapist t WHERE t.therapist_id = ?
        """,
        [therapist_id],
    ).fetchall()
    if not rows or not scope.allows(therapist_id):
        raise NotFoundError(f"Therapist {therapist_id!r} not found or not permitted.")
    keys = ("therapist_id", "supervisor_id", "trainee", "n_dyads")
    return dict(zip(keys, rows[0], strict=True))


_THERAPIST_CODINGS = """
p AS (
    SELECT pc.coding_id, pc.dyad_id, pc.session_number, pc.coder_id
    FROM v_primary_coding pc JOIN dyad d ON d.dyad_id = pc.dyad_id
    WHERE d.therapist_id = ?
)"""


def therapist_sessions(con: duckdb.DuckDBPyConnection, therapist_id: str) -> pd.DataFrame:
    """One row per coded session of the therapist's dyads (primary coding) with its global ratings."""
    globals_ = ", ".join(f"max(r.rating) FILTER (WHERE r.item = '{k}') AS {k}" for k in GLOBAL_KEYS)
    df = con.execute(
        f"""
        WITH {_THERAPIST_CODINGS},
        rat AS (
            SELECT p.coding_id, count(r.item) AS n_ratings, {globals_}
            FROM p LEFT JOIN rating r ON r.coding_id = p.coding_id GROUP BY ALL
        )
        SELECT p.dyad_id, p.session_number, s.session_date, s.n_segments, s.segment_minutes, p.coder_id,
            {", ".join(f"rat.{k}" for k in GLOBAL_KEYS)}, rat.n_ratings = 0 AS ratings_pending
        FROM p
        JOIN session s ON s.dyad_id = p.dyad_id AND s.session_number = p.session_number
        JOIN rat ON rat.coding_id = p.coding_id
        ORDER BY p.dyad_id, p.session_number
        """,
        [therapist_id],
    ).df()
    for key in GLOBAL_KEYS:
        df[key] = df[key].astype("Int64")
    return df


def therapist_marks(con: duckdb.DuckDBPyConnection, therapist_id: str) -> pd.DataFrame:
    """Marks of those primary codings, keyed by dyad and session."""
    return con.execute(
        f"""
        WITH {_THERAPIST_CODINGS}
        SELECT p.dyad_id, p.session_number, k.segment, k.code, k.clarity, cc.family, cc.label, cc.position
        FROM p
        JOIN coding c ON c.coding_id = p.coding_id
        JOIN mark k ON k.coding_id = p.coding_id
        JOIN codebook_code cc ON cc.codebook_id = c.codebook_id AND cc.codebook_version = c.codebook_version
         AND cc.key = k.code
        ORDER BY p.dyad_id, p.session_number, cc.position, k.segment
        """,
        [therapist_id],
    ).df()


def therapists_with_dyads(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every therapist who has at least one dyad (one report each in a batch)."""
    return [r[0] for r in con.execute(
        "SELECT DISTINCT therapist_id FROM dyad WHERE therapist_id IS NOT NULL ORDER BY therapist_id"
    ).fetchall()]
