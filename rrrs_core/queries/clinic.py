"""Clinic-wide aggregates for quality-improvement meetings: de-identified by construction.

These queries never return patient or dyad ids, and name therapists only by a keyed pseudonym computed in
SQL (`rrrs_core.pseudonym`). Small cells are suppressed in two steps, so a QI slide cannot point at a
patient:

1. Primary suppression: any count, share or mean computed from fewer than `MIN_CELL` sessions is hidden.
2. Secondary (complementary) suppression against a reader who solves everything the page and its PDF
   publish together: both period views, both tables, the therapist table and the header. `_plan` writes
   those figures and their relations down (sums, months against quarters, share x sessions = ruptured
   sessions, mean x rated = rating sum, share 4-5 x rated = sessions rated 4-5, which bound the rating sum,
   the therapist table's means over counts it never shows, listed rows >= 1, parts <= wholes, all in whole
   numbers; `clinic_model` builds it) and `rrrs_core.suppression` hides further units until no hidden count
   (sessions rated 4-5 included) can be shown to lie between 1 and `MIN_CELL - 1` and no hidden small
   group's ruptured sessions or rating sums can be pinned (module docstring there).

The contribution table publishes, per row, the rated sessions, the share rated 4-5 and the mean; no
per-rating counts (small in nearly every cell, they made the table a table of `*`). The share 4-5 is a
share of the row's 5 or more rated sessions, as the rupture share is of its sessions.

A table row counts as one unit: when a row is hidden, its counts, share and means all are (so a share or
mean cannot be multiplied back into a count); its mean contribution and its share 4-5 are units of their
own, hidden with the row or alone. Every hidden count is shown as `SUPPRESSED`, whether it was
hidden for being small or to protect a small cell: a different mark for the second kind would tell
readers that cell holds `MIN_CELL` or more and narrow down the small one. Counts come back as text so the
app and PDF show them alike; shares and means come back as numbers, NULL when hidden. The raw counts used
for the decision never leave this module.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core import pseudonym, suppression
from rrrs_core.queries import clinic_model as model
from rrrs_core.queries.clinic_model import ALL_TREATMENTS, HIGH, MIN_CELL, PERIODS
from rrrs_core.scope import CLINIC, Scope
from rrrs_core.suppression import Key

SUPPRESSED = "*"
SUPPRESSION_NOTE = (
    f"Suppression rule: '{SUPPRESSED}' = suppressed (fewer than {MIN_CELL} sessions, or hidden to protect another cell). "
    f"Any count, share or mean of fewer than {MIN_CELL} sessions is hidden (shares and means are left blank), "
    "and further cells with it, until no hidden count can be worked out to lie between 1 and "
    f"{MIN_CELL - 1}, and no hidden small group's ruptures or mean can be worked out, from everything this "
    "page and its PDF show (totals, months against quarters, shares and means, the therapist table, the "
    "header)."
)
CONTRIBUTION_NOTE = (
    "Therapist contribution: how far the therapist caused or exacerbated ruptures, 1 (usual) to 5 (clearly "
    f"caused), among sessions with a contribution rating. Rated 4-5: the share rated {HIGH} or more (the flag "
    "threshold), i.e. how often the therapist considerably drove or clearly caused a rupture. The share and "
    f"the mean are shown from {MIN_CELL} rated sessions, and left blank when they would give a hidden cell away."
)
DEFAULT_PERIOD = "quarter"  # months split a small clinic's treatments into cells too small to show
UNSPECIFIED = "Unspecified"



def _period(period: str) -> str:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
    return period


# --- period tables (trends and contribution ratings) -------------------------------------------------


_SESSIONS = """
    SELECT date_trunc(?, session_date)::DATE AS period_start,
        coalesce(treatment, '{unspecified}') AS treatment,
        rupture_segments > 0 AS ruptured, overall_resolution, therapist_contribution
    FROM v_session_metrics
    WHERE {where} AND session_date IS NOT NULL
"""

_GROUPS = f"""
    SELECT period_start, grouping(treatment) = 1 AS is_total,
        CASE WHEN grouping(treatment) = 1 THEN '{ALL_TREATMENTS}' ELSE treatment END AS treatment, {{measures}}
    FROM s {{filter}} GROUP BY GROUPING SETS ((period_start, treatment), (period_start))
    ORDER BY period_start, is_total, treatment
"""


# Each row: sessions and those with ruptures; resolution-rated sessions and their rating sum; contribution-
# rated sessions, their rating sum and how many are rated `HIGH` or more. Sums are whole numbers (the
# reader's model works in them); the means are published.
_MEASURES = f"""count(*) AS n, count(*) FILTER (WHERE ruptured) AS n_ruptured, avg(ruptured::INTEGER) AS share,
    count(overall_resolution) AS n_rated, coalesce(sum(overall_resolution), 0) AS res_sum,
    avg(overall_resolution) AS mean_res, count(therapist_contribution) AS n_tc,
    coalesce(sum(therapist_contribution), 0) AS tc_sum, avg(therapist_contribution) AS mean_tc,
    count(*) FILTER (WHERE therapist_contribution >= {HIGH}) AS tc_high"""


def _raw_rows(con: duckdb.DuckDBPyConnection, scope: Scope, period: str) -> pd.DataFrame:
    where, params = scope.sql("therapist_id")
    sql = (f"WITH s AS ({_SESSIONS.format(where=where, unspecified=UNSPECIFIED)}) "
           + _GROUPS.format(measures=_MEASURES, filter=""))
    return con.execute(sql, [period, *params]).df()


@dataclass
class _Plan:
    rows: dict[str, pd.DataFrame]
    therapists: pd.DataFrame
    hidden: set[Key]
    hidden_vars: set[Key]  # every variable of a hidden unit: what the tables print as hidden


def _compute_plan(con: duckdb.DuckDBPyConnection, scope: Scope) -> _Plan:
    """Everything the Clinic page and its PDF publish, with one suppression pattern for all of it.

    Months and quarters (a quarter is the sum of its months, and the page switches between them), the
    trends and contribution tables (a row of each describes the same sessions: one unit hides both), the
    therapist table, and the header totals they add up to are modelled together as one reader would
    combine them; `suppression.protect` then hides cells until no hidden figure can be pinned or proved
    small. Whole-clinic rows of `MIN_CELL` or more sessions are hidden last (`model.kept_totals`, `model.add_row`).
    """
    rows = {kind: _raw_rows(con, scope, kind) for kind in PERIODS}
    therapists = _raw_therapists(con, scope)
    head = overview(con, scope)
    cells = model.build(rows, therapists, head, model.kept_totals(rows))
    hidden = suppression.protect(cells)
    return _Plan(rows, therapists, hidden, suppression.hidden_vars(cells, hidden))


_MEMO: OrderedDict[str, _Plan] = OrderedDict()
_MEMO_LOCK = threading.Lock()


def _plan(con: duckdb.DuckDBPyConnection, scope: Scope) -> _Plan:
    """`_compute_plan`, remembered for the last few inputs: the page and the PDF ask for all three tables,
    which share one plan. The key is a fingerprint of every session field the plan reads (and of the
    pseudonym key, which names the therapists), so an import or an edit gives a new plan."""
    where, params = scope.sql("therapist_id")
    row = con.execute(
        f"""SELECT count(*), sum(hash(therapist_id, session_date, treatment, rupture_segments > 0,
                overall_resolution, therapist_contribution)) FROM v_session_metrics WHERE {where}""",
        params).fetchone()
    digest = hashlib.sha256(repr((row, where, params)).encode())
    for part in pseudonym.params(con):
        digest.update(part if isinstance(part, bytes) else repr(part).encode())
    key = digest.hexdigest()
    with _MEMO_LOCK:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return _MEMO[key]
    plan = _compute_plan(con, scope)
    with _MEMO_LOCK:
        _MEMO[key] = plan
        while len(_MEMO) > 8:
            _MEMO.popitem(last=False)
    return plan


def _shown(value: object, hidden: bool) -> str:
    return SUPPRESSED if hidden else str(int(value))  # type: ignore[call-overload]


def _newest_first(out: pd.DataFrame) -> pd.DataFrame:
    """Newest period first; in each period the whole clinic first, then the treatments A-Z."""
    order = out.assign(_later=out.period_start).sort_values(["_later", "is_total", "treatment"],
                                                            ascending=[False, False, True], kind="stable")
    return order.drop(columns="_later").reset_index(drop=True)


def _mask(plan: _Plan, kind: str, raw: pd.DataFrame, measure: object) -> pd.Series:
    """Whether each row's `measure` is hidden (its unit is: the row, its mean contribution or share 4-5, or
    the small part of a shown whole-clinic row)."""
    return pd.Series([model.var_key(measure, model.row_key(kind, r)) in plan.hidden_vars for r in raw.itertuples()],
                     index=raw.index, dtype=bool)


def trends(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, period: str = "quarter") -> pd.DataFrame:
    """Per period (newest first) and treatment (the 'All treatments' row first): sessions, share with
    ruptures, mean overall resolution. `rupture_share` is sessions with >= 1 rupture segment / sessions.
    `suppressed` marks rows whose sessions are hidden by the suppression rule (primary or complementary);
    a whole-clinic row of 5 or more sessions never is, though its rated sessions may be."""
    kind = _period(period)
    plan = _plan(con, scope)
    raw = plan.rows[kind]
    hidden, rated_hidden = _mask(plan, kind, raw, "n"), _mask(plan, kind, raw, "rated")
    out = raw[["period_start", "treatment", "is_total"]].copy()
    out["sessions"] = [_shown(n, h) for n, h in zip(raw.n, hidden, strict=True)]
    out["rupture_share"] = raw.share.where(~_mask(plan, kind, raw, "ruptured"))
    out["rated_sessions"] = [_shown(n, h) for n, h in zip(raw.n_rated, rated_hidden, strict=True)]
    out["mean_resolution"] = raw.mean_res.where(~_mask(plan, kind, raw, "res_sum") & (raw.n_rated >= MIN_CELL))
    out["suppressed"] = hidden
    return _newest_first(out)


def contribution_table(
    con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, period: str = "quarter"
) -> pd.DataFrame:
    """Per period (newest first) and treatment ('All treatments' first), among sessions with a therapist
    contribution rating: how many there are, the share rated `HIGH` (4) or more ("the therapist initiated
    or exacerbated a rupture", the flag threshold) and the mean rating (1-5), each shown from 5 rated sessions
    and hidden on its own when it would give a hidden cell away. Every row of the trends table is listed, 0 rated included.

    No per-rating counts: a count of sessions rated 4 or 5 is small in nearly every cell, so a table of
    them is a table of `*`; the share 4-5 answers "how often" as the rupture share does, for the same
    group of 5 or more sessions."""
    kind = _period(period)
    plan = _plan(con, scope)
    raw = plan.rows[kind]
    out = raw[["period_start", "treatment", "is_total"]].copy()
    out["rated_sessions"] = [_shown(n, h) for n, h in zip(raw.n_tc, _mask(plan, kind, raw, "tc"), strict=True)]
    enough = raw.n_tc >= MIN_CELL
    out["high_share"] = (raw.tc_high / raw.n_tc.where(enough)).where(~_mask(plan, kind, raw, "tc_high"))
    out["mean_contribution"] = raw.mean_tc.where(~_mask(plan, kind, raw, "tc_sum") & enough)
    return _newest_first(out)


# --- therapists ---------------------------------------------------------------------------------------


def _raw_therapists(con: duckdb.DuckDBPyConnection, scope: Scope) -> pd.DataFrame:
    where, params = scope.sql("therapist_id")
    return con.execute(
        f"""
        WITH {pseudonym.KEY_CTE},
        g AS (
            SELECT {pseudonym.sql('therapist_id')} AS therapist, count(*) AS n,
                avg((rupture_segments > 0)::INTEGER) AS share,
                count(overall_resolution) AS n_res, avg(overall_resolution) AS mean_res,
                count(therapist_contribution) AS n_tc, avg(therapist_contribution) AS mean_tc,
                count(*) FILTER (WHERE therapist_contribution >= ?) AS n_high
            FROM v_session_metrics CROSS JOIN pseudonym_key WHERE {where}
            GROUP BY therapist_id, pseudonym_key.opad, pseudonym_key.ipad
        )
        SELECT * FROM g ORDER BY therapist
        """,
        [*pseudonym.params(con), HIGH, *params],
    ).df()


def therapist_table(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC) -> pd.DataFrame:
    """Per therapist pseudonym over all dated and undated sessions: sessions, share with ruptures,
    mean resolution and mean contribution (each hidden below `MIN_CELL` sessions).

    The sessions column sums to the clinic's session count in the page header and the ruptured sessions
    to the trends' totals, so the table is protected together with the period tables (`_plan`).
    """
    plan = _plan(con, scope)
    raw = plan.therapists
    hidden = pd.Series([model.therapist_key(i) in plan.hidden for i in range(len(raw))], index=raw.index,
                       dtype=bool)
    out = raw[["therapist"]].copy()
    out["sessions"] = [_shown(n, h) for n, h in zip(raw.n, hidden, strict=True)]
    out["rupture_share"] = raw.share.where(~hidden)
    out["mean_resolution"] = raw.mean_res.where(~hidden & (raw.n_res >= MIN_CELL))
    out["mean_contribution"] = raw.mean_tc.where(~hidden & (raw.n_tc >= MIN_CELL))
    return out.reset_index(drop=True)


def overview(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC) -> dict[str, int]:
    """Clinic totals for the header, and how many sessions lack a date (left out of the trends)."""
    where, params = scope.sql("therapist_id")
    row = con.execute(
        f"""
        SELECT count(*), count(DISTINCT therapist_id), count(DISTINCT treatment),
            count(*) FILTER (WHERE session_date IS NULL)
        FROM v_session_metrics WHERE {where}
        """,
        params,
    ).fetchone()
    keys = ("n_sessions", "n_therapists", "n_treatments", "n_undated")
    return dict(zip(keys, (int(v) for v in row), strict=True)) if row else dict.fromkeys(keys, 0)
