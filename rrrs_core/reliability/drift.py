"""Drift: each coder's agreement on routine double-coded sessions, by quarter or month.

A coder drifting away from the others shows as a falling line. Each routine double-coded session (its two
earliest final codings, `design.selection`) counts for both its coders; per coder and period the measure is
Gwet's AC1 on rupture presence per segment (check marks only), the lead statistic for presence, computed by
the same library as the table. Periods with fewer than `MIN_SESSIONS` sessions for a coder are left empty
with their reason: a point from two sessions would be noise.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from rrrs_core.reliability.categorical import Patterns, presence_stats
from rrrs_core.reliability.design import Design, selection
from rrrs_core.reliability.table import FEW_SESSIONS, MIN_SESSIONS

PERIODS = ("quarter", "month")
COLUMNS = ["coder_id", "period_start", "sessions", "segments", "ac1", "agreement", "reason"]


def drift(con: duckdb.DuckDBPyConnection, period: str = "quarter", since: dt.date | None = None,
          until: dt.date | None = None) -> pd.DataFrame:
    """One row per coder and period (dated sessions only): sessions, segments, AC1 and percent agreement."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    sel, params = selection(Design(since=since, until=until))
    rows = con.execute(f"""
        WITH sel AS MATERIALIZED ({sel}),
        sess AS (SELECT dyad_id, session_number, s.n_segments, date_trunc('{period}', s.session_date) AS p
                 FROM session s SEMI JOIN sel USING (dyad_id, session_number) WHERE s.session_date IS NOT NULL),
        seg AS (SELECT sel.dyad_id, sel.session_number, k.segment, bit_or(1 << (sel.slot - 1)) AS pattern
                FROM sel JOIN mark k USING (coding_id) JOIN coding c USING (coding_id)
                JOIN codebook_code cc ON cc.codebook_id = c.codebook_id
                 AND cc.codebook_version = c.codebook_version AND cc.key = k.code
                WHERE k.clarity = 'check' AND cc.family IN ('withdrawal', 'confrontation') GROUP BY ALL),
        per_session AS (
            SELECT sess.dyad_id, sess.session_number, sess.p, sess.n_segments,
                count(*) FILTER (WHERE seg.pattern = 1) AS only_1, count(*) FILTER (WHERE seg.pattern = 2) AS only_2,
                count(*) FILTER (WHERE seg.pattern = 3) AS both
            FROM sess LEFT JOIN seg USING (dyad_id, session_number) GROUP BY ALL)
        SELECT sel.coder_id, ps.p AS period_start, count(*) AS sessions, sum(ps.n_segments) AS segments,
            sum(CASE WHEN sel.slot = 1 THEN ps.only_1 ELSE ps.only_2 END) AS only_self,
            sum(CASE WHEN sel.slot = 1 THEN ps.only_2 ELSE ps.only_1 END) AS only_other,
            sum(ps.both) AS both
        FROM sel JOIN per_session ps USING (dyad_id, session_number)
        GROUP BY ALL ORDER BY sel.coder_id, period_start""", params).fetchall()
    out = []
    for coder, start, n_sess, n_seg, only_self, only_other, both in rows:
        counts = {1: int(only_self), 2: int(only_other), 3: int(both)}
        counts[0] = int(n_seg) - sum(counts.values())
        if n_sess < MIN_SESSIONS:
            out.append([coder, start, n_sess, n_seg, None, None, FEW_SESSIONS])
            continue
        stats = {s.statistic: s for s in presence_stats(Patterns(2, {p: v for p, v in counts.items() if v},
                                                                 same_coders=False))}
        out.append([coder, start, n_sess, n_seg, stats["ac1"].value, stats["agreement"].value,
                    stats["ac1"].reason])
    frame = pd.DataFrame(out, columns=COLUMNS).astype({"ac1": float, "agreement": float})
    frame["period_start"] = pd.to_datetime(frame.period_start)
    return frame
