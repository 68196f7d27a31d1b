"""One dyad over time: the dyads a scope may see, a dyad's per-session metrics and its segment strip.

Every query filters by dyad first (through `v_primary_coding`, whose dyad filter DuckDB pushes down) and
only then aggregates that dyad's marks. Querying `v_session_metrics` by dyad would aggregate every mark in
the clinic first (~0.5-0.9 s at 100,000 sessions). The per-session counts therefore repeat the definitions
of `v_session_metrics` (views.py: a family's segments = segments with a `check` of that family); a test
checks that both agree for every dyad.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from rrrs_core.codebook import RUPTURE_FAMILIES
from rrrs_core.errors import NotFoundError
from rrrs_core.queries import severity
from rrrs_core.scope import Scope

GLOBAL_KEYS = ("overall_withdrawal", "overall_confrontation", "overall_resolution", "therapist_contribution")

# Marks of the primary coding of each of one dyad's sessions, with their family (first parameter: dyad id).
PRIMARY_MARKS_CTE = """
p AS (
    SELECT pc.coding_id, pc.session_number, pc.coder_id, pc.n_codings
    FROM v_primary_coding pc WHERE pc.dyad_id = ?
),
pm AS (
    SELECT p.session_number, k.segment, k.code, k.clarity, cc.family, cc.label, cc.position
    FROM p
    JOIN coding c ON c.coding_id = p.coding_id
    JOIN mark k ON k.coding_id = p.coding_id
    JOIN codebook_code cc ON cc.codebook_id = c.codebook_id AND cc.codebook_version = c.codebook_version
     AND cc.key = k.code
)"""


def require_dyad(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str) -> dict[str, Any]:
    """The dyad's identity row; the same NotFoundError for an unknown id and for one outside the scope."""
    where, params = scope.sql("d.therapist_id")
    cur = con.execute(
        f"""
        SELECT d.dyad_id, d.therapist_id, t.supervisor_id, coalesce(t.trainee, false) AS trainee,
            d.patient_id, d.treatment,
            (SELECT count(*) FROM session s WHERE s.dyad_id = ?) AS n_sessions,
            (SELECT count(*) FROM v_primary_coding pc WHERE pc.dyad_id = ?) AS n_coded
        FROM dyad d LEFT JOIN therapist t ON t.therapist_id = d.therapist_id
        WHERE d.dyad_id = ? AND {where}
        """,
        [dyad_id, dyad_id, dyad_id, *params],
    )
    row = cur.fetchone()
    if row is None:
        raise NotFoundError(f"Dyad {dyad_id!r} not found or not permitted.")
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def dyads(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    """Dyads in scope for a picker, with how many of their sessions are coded (have a final coding)."""
    where, params = scope.sql("d.therapist_id")
    return con.execute(
        f"""
        WITH coded AS (
            SELECT DISTINCT dyad_id, session_number FROM coding WHERE is_current AND status = 'final'
        )
        SELECT d.dyad_id, d.therapist_id, d.patient_id, d.treatment,
            count(s.session_number)::INTEGER AS n_sessions,
            count(coded.session_number)::INTEGER AS n_coded,
            max(s.session_date) AS last_session_date
        FROM dyad d
        LEFT JOIN session s ON s.dyad_id = d.dyad_id
        LEFT JOIN coded ON coded.dyad_id = s.dyad_id AND coded.session_number = s.session_number
        WHERE {where}
        GROUP BY ALL ORDER BY d.dyad_id
        """,
        params,
    ).df()


def dyad_choices(con: duckdb.DuckDBPyConnection, scope: Scope, search: str = "", current: str | None = None,
                 limit: int = 50) -> pd.DataFrame:
    """At most `limit` dyads in scope whose id or therapist id contains `search` (any case), by id, for a
    picker that must not ship every dyad (5,000 at 100,000 sessions); `current`, when in scope, is always
    among them. `hit` = it matches; `n_matches` = how many dyads in scope match in all, so the picker can say what it left
    out.
    Counts as `dyads`: sessions recorded, and of those coded (with a final coding)."""
    where, params = scope.sql("d.therapist_id")
    needle = search.strip().lower()
    return con.execute(
        f"""
        WITH hits AS (
            SELECT d.dyad_id, d.therapist_id,
                (contains(lower(d.dyad_id), ?) OR contains(lower(d.therapist_id), ?)) AS hit
            FROM dyad d WHERE {where}
        ),
        picked AS (
            SELECT dyad_id, therapist_id, hit, (sum(hit::INTEGER) OVER ())::INTEGER AS n_matches FROM hits
            WHERE hit OR dyad_id = ?
            ORDER BY dyad_id = ? DESC, dyad_id LIMIT ?
        ),
        coded AS (
            SELECT DISTINCT dyad_id, session_number FROM coding
            WHERE is_current AND status = 'final' AND dyad_id IN (SELECT dyad_id FROM picked)
        )
        SELECT p.dyad_id, p.therapist_id, p.hit, p.n_matches,
            count(s.session_number)::INTEGER AS n_sessions, count(coded.session_number)::INTEGER AS n_coded
        FROM picked p
        LEFT JOIN session s ON s.dyad_id = p.dyad_id
        LEFT JOIN coded ON coded.dyad_id = s.dyad_id AND coded.session_number = s.session_number
        GROUP BY ALL ORDER BY p.dyad_id
        """,
        [needle, needle, *params, current, current, limit],
    ).df()


def trajectory(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str, threshold: int = 4) -> pd.DataFrame:
    """One row per coded session (its primary coding): rupture shares, global ratings, flags.

    `high_contribution` marks sessions whose therapist contribution is at or above `threshold`;
    `episodes`/`unaddressed`/`unaddressed_in_session` count rupture episodes (see rrrs_core.episodes);
    `flagged` and `severity` are the shared session-flag rule (rrrs_core.queries.severity).
    """
    from rrrs_core.episodes import EPISODE_WINDOW, dyad_episode_counts

    require_dyad(con, scope, dyad_id)
    globals_ = ",\n".join(f"max(r.rating) FILTER (WHERE r.item = '{k}') AS {k}" for k in GLOBAL_KEYS)
    df = con.execute(
        f"""
        WITH {PRIMARY_MARKS_CTE},
        seg AS (
            SELECT session_number, segment,
                bool_or(family = 'withdrawal' AND clarity = 'check') AS w,
                bool_or(family = 'confrontation' AND clarity = 'check') AS c,
                bool_or(family = 'resolution' AND clarity = 'check') AS r
            FROM pm GROUP BY ALL
        ),
        fam AS (
            SELECT session_number, count(*) FILTER (WHERE w) AS withdrawal_segments,
                count(*) FILTER (WHERE c) AS confrontation_segments,
                count(*) FILTER (WHERE w OR c) AS rupture_segments,
                count(*) FILTER (WHERE r) AS resolution_segments
            FROM seg GROUP BY ALL
        ),
        rat AS (
            SELECT p.session_number, count(r.item) AS n_ratings, {globals_}
            FROM p LEFT JOIN rating r ON r.coding_id = p.coding_id GROUP BY ALL
        )
        SELECT p.session_number, s.session_date, s.n_segments, s.segment_minutes,
            p.coding_id, p.coder_id, p.n_codings::INTEGER AS n_codings,
            coalesce(fam.withdrawal_segments, 0)::INTEGER AS withdrawal_segments,
            coalesce(fam.confrontation_segments, 0)::INTEGER AS confrontation_segments,
            coalesce(fam.rupture_segments, 0)::INTEGER AS rupture_segments,
            coalesce(fam.resolution_segments, 0)::INTEGER AS resolution_segments,
            coalesce(fam.withdrawal_segments, 0) / s.n_segments AS withdrawal_share,
            coalesce(fam.confrontation_segments, 0) / s.n_segments AS confrontation_share,
            coalesce(fam.rupture_segments, 0) / s.n_segments AS rupture_share,
            {", ".join(f"rat.{k}" for k in GLOBAL_KEYS)},
            rat.n_ratings = 0 AS ratings_pending,
            coalesce(rat.therapist_contribution >= ?, false) AS high_contribution
        FROM p
        JOIN session s ON s.dyad_id = ? AND s.session_number = p.session_number
        LEFT JOIN fam ON fam.session_number = p.session_number
        LEFT JOIN rat ON rat.session_number = p.session_number
        ORDER BY p.session_number
        """,
        [dyad_id, int(threshold), dyad_id],
    ).df()
    counts = dyad_episode_counts(con, scope, dyad_id, EPISODE_WINDOW)
    df = df.merge(counts, on="session_number", how="left")
    for col in ("episodes", "unaddressed", "unaddressed_in_session"):
        df[col] = df[col].fillna(0).astype(int)
    for key in GLOBAL_KEYS:
        df[key] = df[key].astype("Int64")
    return _with_flags(df, threshold)


def _with_flags(df: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Add `severity` and `flagged` by the shared rule; the pending-ratings part needs the episode counts,
    so this runs on the merged frame rather than in SQL."""
    def val(v: Any) -> int | None:
        return None if pd.isna(v) else int(v)

    rows = list(zip(df.therapist_contribution, df.overall_resolution, df.rupture_segments, df.ratings_pending,
                    df.unaddressed, strict=True))
    df["severity"] = [severity.severity(val(tc), val(res), int(rs)) for tc, res, rs, _, _ in rows]
    df["flagged"] = [severity.flagged(val(tc), val(res), int(rs), threshold, bool(p), int(u))
                     for tc, res, rs, p, u in rows]
    return df


def segment_strip(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str) -> pd.DataFrame:
    """Every (session, segment, family) cell of the dyad's coded sessions, marked or not.

    `clarity` is 'check' when any code of the family meets criteria there, 'check_minus' when only unclear
    ones do, NULL when none; `codes` names them for tooltips.
    """
    require_dyad(con, scope, dyad_id)
    return con.execute(
        f"""
        WITH {PRIMARY_MARKS_CTE},
        grid AS (
            SELECT p.session_number, s.session_date, s.segment_minutes,
                unnest(range(1, s.n_segments + 1)) AS segment
            FROM p JOIN session s ON s.dyad_id = ? AND s.session_number = p.session_number
        ),
        fams AS (SELECT unnest(['withdrawal', 'confrontation', 'resolution']) AS family),
        cell AS (
            SELECT session_number, segment, family,
                CASE WHEN bool_or(clarity = 'check') THEN 'check' ELSE 'check_minus' END AS clarity,
                string_agg(label || CASE WHEN clarity = 'check_minus' THEN ' (unclear)' ELSE '' END, '; '
                           ORDER BY position) AS codes
            FROM pm GROUP BY ALL
        )
        SELECT g.session_number, g.session_date, g.segment::INTEGER AS segment,
            ((g.segment - 1) * g.segment_minutes)::INTEGER AS minute_start,
            (g.segment * g.segment_minutes)::INTEGER AS minute_end,
            f.family, cell.clarity, coalesce(cell.codes, '') AS codes
        FROM grid g CROSS JOIN fams f
        LEFT JOIN cell ON cell.session_number = g.session_number AND cell.segment = g.segment
         AND cell.family = f.family
        ORDER BY g.session_number, g.segment, f.family
        """,
        [dyad_id, dyad_id],
    ).df()


def key_figures(traj: pd.DataFrame) -> dict[str, Any]:
    """The numbers at the top of the dyad page, from an already aggregated `trajectory` frame."""
    rated = traj[traj.overall_resolution.notna()]
    latest = rated.iloc[-1] if len(rated) else None
    return {
        "sessions_coded": len(traj),
        "mean_rupture_share": float(traj.rupture_share.mean()) if len(traj) else None,
        "mean_shares": {f: float(traj[f"{f}_share"].mean()) if len(traj) else None for f in RUPTURE_FAMILIES},
        "latest_resolution": None if latest is None else int(latest.overall_resolution),
        "latest_resolution_session": None if latest is None else int(latest.session_number),
        "high_contribution_sessions": [int(s) for s in traj.loc[traj.high_contribution, "session_number"]],
        "pending_sessions": [int(s) for s in traj.loc[traj.ratings_pending, "session_number"]],
        "unaddressed_episodes": int(traj.unaddressed.sum()) if len(traj) else 0,
    }
