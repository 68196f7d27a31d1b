"""Drift: each coder's agreement on routine double-coded sessions, by quarter or month.

A coder drifting away from the others shows as a falling line. Each routine double-coded session (its two
earliest final codings, `design.selection`) counts for both its coders. Per coder and period:

- `icc`: ICC(1,1) on rupture frequency (`rupture_segments`, segments with a withdrawal or confrontation
  marker checked), the coder's value against their partner's. One-way, because the partner varies. This is
  the line drawn: a coder who starts missing markers pulls it down at once.
- `ac1`: Gwet's AC1 on rupture presence per segment. Ruptures are rare per segment, so AC1 stays high
  while frequencies drift; it is shown beside the ICC for the same reason as in the table.

Periods with fewer than `MIN_SESSIONS` of a coder's sessions are left empty with their reason: a point from
two sessions would be noise.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

from rrrs_core.reliability.categorical import NO_VARIANCE, Patterns, presence_stats
from rrrs_core.reliability.design import Design, selection
from rrrs_core.reliability.icc import icc_forms
from rrrs_core.reliability.table import FEW_SESSIONS, MIN_SESSIONS

PERIODS = ("quarter", "month")
COLUMNS = ["coder_id", "period_start", "sessions", "segments", "icc", "ac1", "agreement", "reason"]


def _rows(con: duckdb.DuckDBPyConnection, period: str, since: dt.date | None, until: dt.date | None) -> pd.DataFrame:
    """One row per compared coding of a dated session: its coder, period, own and partner's rupture
    frequency, and the session's segments marked (check) by this coder only, the partner only, or both."""
    sel, params = selection(Design(since=since, until=until))
    return con.execute(f"""
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
        SELECT sel.coder_id, ps.p AS period_start, ps.n_segments,
            CASE WHEN sel.slot = 1 THEN ps.only_1 ELSE ps.only_2 END AS only_self,
            CASE WHEN sel.slot = 1 THEN ps.only_2 ELSE ps.only_1 END AS only_other, ps.both
        FROM sel JOIN per_session ps USING (dyad_id, session_number)
        ORDER BY sel.coder_id, period_start""", params).df()


def drift(con: duckdb.DuckDBPyConnection, period: str = "quarter", since: dt.date | None = None,
          until: dt.date | None = None) -> pd.DataFrame:
    """One row per coder and period (dated sessions only): sessions, segments, ICC(1,1) on rupture
    frequency, AC1 and percent agreement on rupture presence, and the reason when empty."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    rows = _rows(con, period, since, until)
    out = []
    for (coder, start), g in rows.groupby(["coder_id", "period_start"], sort=True):
        n_seg = int(g.n_segments.sum())
        if len(g) < MIN_SESSIONS:
            out.append([coder, start, len(g), n_seg, None, None, None, FEW_SESSIONS])
            continue
        own = (g.only_self + g.both).to_numpy(float)
        partner = (g.only_other + g.both).to_numpy(float)
        table = np.column_stack([own, partner])
        icc = icc_forms(table)[0].value if np.ptp(table) > 0 else None
        counts = {1: int(g.only_self.sum()), 2: int(g.only_other.sum()), 3: int(g.both.sum())}
        counts[0] = n_seg - sum(counts.values())
        stats = {s.statistic: s for s in presence_stats(Patterns(2, {p: v for p, v in counts.items() if v},
                                                                 same_coders=False))}
        out.append([coder, start, len(g), n_seg, icc, stats["ac1"].value, stats["agreement"].value,
                    "" if icc is not None else f"ICC: {NO_VARIANCE}"])
    frame = pd.DataFrame(out, columns=COLUMNS).astype({"icc": float, "ac1": float, "agreement": float})
    frame["period_start"] = pd.to_datetime(frame.period_start)
    return frame
