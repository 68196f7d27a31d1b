"""The Clinic page's self-report figures (QI): de-identified like the other clinic tables.

1. **SRS below the cutoff, by period and treatment.** Among sessions with a patient SRS (period: the form's
   completion date, else the session's date), the share whose total is below the cutoff (the instrument's
   `below_cutoff` rule: 36). Suppressed like the trends table (`queries.clinic`): a row of fewer than
   `MIN_CELL` sessions is hidden, and further rows until a reader who solves everything this table publishes
   (treatments add up to the whole clinic, months to their quarter, below-cutoff sessions = share x
   sessions, parts never above wholes) can neither prove a hidden count to lie in 1-4 nor pin a hidden small
   group's below-cutoff sessions (`rrrs_core.suppression`, the same reader). The self-reported sessions are a
   population of their own (most are never coded, and the page never says how many are both), so no
   published relation ties this table to the coded tables.
2. **Patient-reported ruptures and coded rupture frequency**, in double-reported sessions (a primary coding and
   the patient's post-session rupture answer): the point-biserial correlation between the answer (yes = 1)
   and the coded share of segments with a rupture marker, with its 95% confidence interval (Fisher's z) and
   n, computed by SciPy (`scipy.stats.pearsonr`; a point-biserial r is Pearson's r with a 0/1 variable).
   Shown only when both groups hold `MIN_CELL` sessions or more.

No patient, dyad or therapist id and no single form's values leave this module.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import duckdb
import pandas as pd
from scipy import stats

from rrrs_core import suppression
from rrrs_core.queries.clinic import SUPPRESSED, UNSPECIFIED
from rrrs_core.queries.clinic_model import ALL_TREATMENTS, MIN_CELL, PERIODS
from rrrs_core.queries.selfreport import PATIENT, RUPTURE, SRS
from rrrs_core.suppression import Cells, Key

RULE = (f"Sessions with a patient SRS: the share whose total is below the cutoff of 36 (the SRS's below_cutoff "
        f"rule), by the month or quarter the form was completed in. Rows of fewer than {MIN_CELL} sessions are "
        f"hidden ('{SUPPRESSED}'), and further rows with them until no hidden count or share can be worked out "
        "from the table (treatments add up to the whole clinic, months to quarters).")
ASSOCIATION_RULE = (
    "Double-reported sessions: coded (primary coding) and with the patient's post-session rupture answer. "
    "Point-biserial r between the answer (yes = 1, no = 0) and the coded share of segments with a rupture "
    "marker (check); 95% confidence interval by Fisher's z; computed with SciPy. r > 0: sessions the patient "
    f"calls ruptured have more coded rupture segments. Shown when both answers have {MIN_CELL} sessions or "
    "more. The 3RS validation (Eubanks et al. 2019) found patient-reported ruptures went with confrontation "
    "markers, not withdrawal markers: withdrawal often goes unreported.")
MEASURES = {"rupture_share": "Rupture share (withdrawal or confrontation)",
            "confrontation_share": "Confrontation share", "withdrawal_share": "Withdrawal share"}

_SESSIONS = f"""
WITH srs AS (
    SELECT s.dyad_id, s.session_number, s.completed_on,
        EXISTS (SELECT 1 FROM v_selfreport_alert a WHERE a.dyad_id = s.dyad_id AND a.session_number = s.session_number
                AND a.respondent = '{PATIENT}' AND a.instrument = '{SRS}' AND a.rule = 'below_cutoff') AS below
    FROM v_selfreport_scale s
    WHERE s.respondent = '{PATIENT}' AND s.instrument = '{SRS}' AND s.scale = 'total'
)
SELECT coalesce(srs.completed_on, x.session_date) AS day, coalesce(d.treatment, '{UNSPECIFIED}') AS treatment,
    srs.below
FROM srs JOIN dyad d USING (dyad_id)
LEFT JOIN session x ON x.dyad_id = srs.dyad_id AND x.session_number = srs.session_number
"""


def _raw(con: duckdb.DuckDBPyConnection, kind: str) -> pd.DataFrame:
    return con.execute(
        f"""
        WITH s AS (SELECT date_trunc(?, day)::DATE AS period_start, treatment, below FROM ({_SESSIONS})
                   WHERE day IS NOT NULL)
        SELECT period_start, grouping(treatment) = 1 AS is_total,
            CASE WHEN grouping(treatment) = 1 THEN '{ALL_TREATMENTS}' ELSE treatment END AS treatment,
            count(*) AS n, count(*) FILTER (WHERE below) AS n_below
        FROM s GROUP BY GROUPING SETS ((period_start, treatment), (period_start))
        ORDER BY period_start, is_total, treatment
        """,
        [kind],
    ).df()


def _key(kind: str, r: object) -> Key:
    return ("row", kind, pd.Timestamp(r.period_start).date(), bool(r.is_total), r.treatment)  # type: ignore[attr-defined]


def build(rows: dict[str, pd.DataFrame]) -> Cells:
    """The reader's model of the table: per row, sessions (a count, at least 1: a listed row) and sessions
    below the cutoff (share x sessions); treatments sum to the whole clinic, months to their quarter."""
    cells = Cells(min_cell=MIN_CELL)
    for kind in PERIODS:
        for r in rows[kind].itertuples():
            key = _key(kind, r)
            n = cells.var(("n", *key[1:]), int(r.n), lo=1, count=True)
            below = cells.var(("below", *key[1:]), int(r.n_below), per=n)
            rank = 5 if r.is_total else 2 if kind == "month" else 4
            cells.unit(key, [n, below], rank, int(r.n) < MIN_CELL, size=int(r.n))
            if r.is_total and int(r.n) >= MIN_CELL:
                cells.reluctant.add(key)
            cells.relate({below: 1.0, n: -1.0}, below=True)
        for _, group in rows[kind].groupby("period_start"):
            keys = [_key(kind, r) for r in group.itertuples()]
            total = [k for k in keys if k[3]]
            for m in ("n", "below"):
                cells.relate({**{(m, *k[1:]): 1.0 for k in keys if not k[3]}, (m, *total[0][1:]): -1.0})
    months: dict[tuple[object, ...], list[Key]] = {}
    for r in rows["month"].itertuples():
        q = pd.Timestamp(r.period_start).to_period("Q").start_time.date()
        months.setdefault((q, bool(r.is_total), r.treatment), []).append(_key("month", r))
    for r in rows["quarter"].itertuples():
        qkey = _key("quarter", r)
        for m in ("n", "below"):
            cells.relate({**{(m, *k[1:]): 1.0 for k in months.get(qkey[2:], [])}, (m, *qkey[1:]): -1.0})
    return cells


def below_cutoff(con: duckdb.DuckDBPyConnection, period: str = "quarter") -> pd.DataFrame:
    """Per period (newest first) and treatment (the whole clinic first): `sessions` with a patient SRS (text,
    `SUPPRESSED` when hidden) and `below_share` (NaN when hidden); `RULE` says how."""
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
    rows = {kind: _raw(con, kind) for kind in PERIODS}
    hidden = suppression.protect(build(rows))
    raw = rows[period]
    gone = [_key(period, r) in hidden for r in raw.itertuples()]
    out = raw[["period_start", "treatment", "is_total"]].copy()
    out["sessions"] = [SUPPRESSED if h else str(int(n)) for n, h in zip(raw.n, gone, strict=True)]
    out["below_share"] = (raw.n_below / raw.n).where(~pd.Series(gone, index=raw.index))
    out["suppressed"] = gone
    order = out.sort_values(["period_start", "is_total", "treatment"], ascending=[False, False, True],
                            kind="stable")
    return order.reset_index(drop=True)


def undated(con: duckdb.DuckDBPyConnection) -> int:
    """Patient SRS forms with neither a completion date nor a dated session: left out of the table."""
    row = con.execute(f"SELECT count(*) FROM ({_SESSIONS}) WHERE day IS NULL").fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Association:
    """One coded measure against the patient's rupture answer in double-reported sessions."""

    measure: str
    n: int
    n_yes: int
    n_no: int
    r: float | None          # None: not shown (a group under MIN_CELL, or a constant measure)
    low: float | None
    high: float | None
    mean_yes: float | None
    mean_no: float | None
    note: str = ""


def _double_reported(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per double-reported session (no ids): the patient's answer and the coded shares (for `association`)."""
    return con.execute(
        f"""
        WITH ans AS (
            SELECT dyad_id, session_number, max(value) AS reported FROM selfreport
            WHERE respondent = '{PATIENT}' AND instrument = '{RUPTURE}' AND item = 'rupture' GROUP BY ALL
        )
        SELECT ans.reported::INTEGER AS reported,
            m.rupture_segments / m.n_segments AS rupture_share,
            m.confrontation_segments / m.n_segments AS confrontation_share,
            m.withdrawal_segments / m.n_segments AS withdrawal_share
        FROM ans JOIN v_session_metrics m USING (dyad_id, session_number)
        WHERE m.n_segments > 0
        ORDER BY 1, 2, 3, 4
        """
    ).df()


def association(con: duckdb.DuckDBPyConnection) -> list[Association]:
    """The point-biserial r (with its 95% CI) of each coded share in `MEASURES` against the answer."""
    both = _double_reported(con)
    yes, no = both[both.reported == 1], both[both.reported == 0]
    out = []
    for col, label in MEASURES.items():
        base = dict(measure=label, n=len(both), n_yes=len(yes), n_no=len(no))
        if len(yes) < MIN_CELL or len(no) < MIN_CELL:
            out.append(Association(**base, r=None, low=None, high=None, mean_yes=None, mean_no=None,
                                   note=f"not shown: fewer than {MIN_CELL} sessions with a 'yes' or a 'no'"))
            continue
        means = dict(mean_yes=float(yes[col].mean()), mean_no=float(no[col].mean()))
        if both[col].nunique() < 2:
            out.append(Association(**base, r=None, low=None, high=None, **means,
                                   note="not computable: the coded share is the same in every session"))
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = stats.pearsonr(both.reported.astype(float), both[col].astype(float))
            ci = result.confidence_interval(confidence_level=0.95)
        r, low, high = (float(v) for v in (result.statistic, ci.low, ci.high))
        out.append(Association(**base, r=None if math.isnan(r) else r, low=low, high=high, **means))
    return out
