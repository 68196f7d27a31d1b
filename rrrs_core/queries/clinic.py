"""Clinic-wide aggregates for quality-improvement meetings: de-identified by construction.

These queries never return patient or dyad ids, and name therapists only by a keyed pseudonym computed in
SQL (`rrrs_core.pseudonym`). Small cells are suppressed in two steps, so a QI slide cannot point at a
patient:

1. Primary suppression: any count, share or mean computed from fewer than `MIN_CELL` sessions is hidden
   (a rating count of 1 to 4 hides its row's rating distribution and mean).
2. Secondary (complementary) suppression against a reader who solves everything the page and its PDF
   publish together: both period views, both tables, the therapist table and the header. `_plan` writes
   those figures and their relations down (sums, months against quarters, share x sessions = ruptured
   sessions, mean x rated = rating sum, the therapist table's means over counts it never shows, listed
   rows >= 1, parts <= wholes, all in whole numbers) and `rrrs_core.suppression`
   hides further units until no hidden count can be shown to lie between 1 and `MIN_CELL - 1` and no
   hidden small group's ruptured sessions or rating sums can be pinned (module docstring there).

A table row counts as one unit: when a row is hidden, its counts, share and means all are (so a share or
mean cannot be multiplied back into a count); its contribution ratings and their mean are a second unit. Every hidden count is shown as `SUPPRESSED`, whether it was
hidden for being small or to protect a small cell: a different mark for the second kind would tell
readers that cell holds `MIN_CELL` or more and narrow down the small one. Counts come back as text so the
app and PDF show them alike; shares and means come back as numbers, NULL when hidden. The raw counts used
for the decision never leave this module.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core import pseudonym, suppression
from rrrs_core.scope import CLINIC, Scope
from rrrs_core.suppression import Cells, Key

MIN_CELL = 5
SUPPRESSED = "*"
SUPPRESSION_NOTE = (
    f"Suppression rule: '{SUPPRESSED}' = suppressed (fewer than {MIN_CELL} sessions, or hidden to protect another cell). "
    f"Any count, share or mean of fewer than {MIN_CELL} sessions is hidden (shares and means are left blank), "
    "and further cells with it, until no hidden count can be worked out to lie between 1 and "
    f"{MIN_CELL - 1}, and no hidden small group's ruptures or mean can be worked out, from everything this "
    "page and its PDF show (totals, months against quarters, shares and means, the therapist table, the "
    "header). A row's contribution ratings and their mean are shown or hidden together."
)
PERIODS: tuple[str, ...] = ("month", "quarter")
DEFAULT_PERIOD = "quarter"  # months split a small clinic's treatments into cells too small to show
ALL_TREATMENTS = "All treatments"
UNSPECIFIED = "Unspecified"
RATINGS = range(1, 6)



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


def _raw_rows(con: duckdb.DuckDBPyConnection, scope: Scope, period: str) -> pd.DataFrame:
    where, params = scope.sql("therapist_id")
    measures = ("count(*) AS n, avg(ruptured::INTEGER) AS share, count(overall_resolution) AS n_rated, "
                "avg(overall_resolution) AS mean_res")
    sql = (f"WITH s AS ({_SESSIONS.format(where=where, unspecified=UNSPECIFIED)}) "
           + _GROUPS.format(measures=measures, filter=""))
    return con.execute(sql, [period, *params]).df()


def _raw_ratings(con: duckdb.DuckDBPyConnection, scope: Scope, period: str) -> pd.DataFrame:
    where, params = scope.sql("therapist_id")
    counts = ", ".join(f"count(*) FILTER (WHERE therapist_contribution = {r}) AS c{r}" for r in RATINGS)
    measures = f"count(*) AS n, {counts}, avg(therapist_contribution) AS mean_tc"
    sql = (f"WITH s AS ({_SESSIONS.format(where=where, unspecified=UNSPECIFIED)}) "
           + _GROUPS.format(measures=measures, filter="WHERE therapist_contribution IS NOT NULL"))
    return con.execute(sql, [period, *params]).df()


def _every_row(rows: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """The contribution table with a row for every row of the trends table (0 ratings where none)."""
    keys = rows[["period_start", "is_total", "treatment"]]
    out = keys.merge(ratings, on=["period_start", "is_total", "treatment"], how="left")
    counts = ["n", *(f"c{k}" for k in RATINGS)]
    out[counts] = out[counts].fillna(0).astype(int)
    return out


def _row_key(kind: str, r: object) -> Key:
    return ("row", kind, pd.Timestamp(r.period_start).date(), bool(r.is_total), r.treatment)  # type: ignore[attr-defined]


def _ratings_key(row: Key) -> Key:
    return ("ratings", *row[1:])


def _therapist_key(i: int) -> Key:
    return ("therapist", i)


def _small(n: int) -> bool:
    return 1 <= n < MIN_CELL


# What a row publishes, as the reader's variables: sessions, sessions with ruptures (share x sessions),
# rated sessions and their resolution sum (mean x rated), contribution-rated sessions, their per-rating
# counts and their contribution sum (mean x rated).
_ROW_MEASURES = ("n", "ruptured", "rated", "res_sum", "tc", "tc_sum")
_MEASURES = (*_ROW_MEASURES, *(("c", k) for k in RATINGS))
_SCALE = 5  # resolution and contribution ratings run 1-5


def _var(measure: object, row: Key) -> Key:
    return (*measure, *row[1:]) if isinstance(measure, tuple) else (measure, *row[1:])


@dataclass
class _Plan:
    rows: dict[str, pd.DataFrame]
    ratings: dict[str, pd.DataFrame]
    therapists: pd.DataFrame
    hidden: set[Key]
    hidden_vars: set[Key]  # every variable of a hidden unit: what the tables print as hidden


def _part_key(row: Key, part: str) -> Key:
    return ("part", part, *row[1:])


def _add_row(cells: Cells, kind: str, r: object, rated: object | None, keep: bool) -> None:
    """One row of the trends table (and its contribution-table twin, `rated`, if listed) as one unit.

    `keep`: a whole-clinic row of `MIN_CELL` or more sessions. Its sessions, share, rated sessions and
    mean resolution are hidden only when no other cell as near can protect a small one (`Cells.reluctant`); its
    contribution-rated sessions (with the rating distribution) and small rated sessions (1-4, with the
    mean) are units of their own that can be hidden while the row stays. The contribution count is apart
    because a treatment missing from the contribution table is known to have none: shown beside the
    total's sessions, it bounds how many sessions such a treatment has."""
    key = _row_key(kind, r)
    n, n_rated = int(r.n), int(r.n_rated)  # type: ignore[attr-defined]
    n_tc = int(rated.n) if rated is not None else 0  # type: ignore[attr-defined]
    listed = rated is not None  # a row missing from the contribution table has no ratings: public
    v = {m: _var(m, key) for m in _MEASURES}
    cells.var(v["n"], n, lo=1, count=True)  # a listed row has at least one session
    cells.var(v["ruptured"], round(float(r.share) * n), per=v["n"])  # type: ignore[attr-defined]
    cells.var(v["rated"], n_rated, count=True)
    res = 0.0 if n_rated == 0 else float(r.mean_res) * n_rated  # type: ignore[attr-defined]
    cells.var(v["res_sum"], round(res), per=v["rated"])
    # The contribution table lists every row of the trends table (`_every_row`), 0 ratings included, so a
    # hidden row's contribution count is not known to be 0 (which, beside a shown total, would bound it).
    cells.var(v["tc"], n_tc, hi=math.inf if listed else 0, count=True)
    tc_sum = sum(k * int(getattr(rated, f"c{k}")) for k in RATINGS) if listed else 0
    cells.var(v["tc_sum"], tc_sum, hi=math.inf if listed else 0, per=v["tc"])
    # Complements are taken from month rows before quarter rows (the quarter view is the default: a hidden
    # month is better protected by another month of the treatment than by blanking its quarter).
    rank = 5 if r.is_total else 2 if kind == "month" else 4  # type: ignore[attr-defined]
    members = [v[m] for m in _ROW_MEASURES if m != "tc_sum"]
    # A row's rating counts and their mean are shown or hidden together (one small count hides the row's
    # distribution; its rated sessions stay): cell-by-cell hiding in a table of treatments x ratings x
    # months, tied to quarters, needs far more complements for the same protection.
    counts = [int(getattr(rated, f"c{k}")) if listed else 0 for k in RATINGS]
    for k, c in zip(RATINGS, counts, strict=True):
        cells.var(v[("c", k)], c, hi=math.inf if listed else 0, count=True)
    tied = []
    if listed:
        dist = _ratings_key(key)
        cells.unit(dist, [v["tc_sum"], *(v[("c", k)] for k in RATINGS)], rank - 2,
                   any(_small(c) for c in counts), size=n_tc)
        tied.append(dist)
    if keep:  # see the docstring: the row less its contribution count and small rated sessions
        small = [v["rated"], v["res_sum"]] if _small(n_rated) else []
        cells.unit(key, [m for m in members if m not in small and m != v["tc"]], rank, False, size=n)
        cells.reluctant.add(key)
        parts = [_part_key(key, "tc")]
        cells.unit(parts[0], [v["tc"]], 1, _small(n_tc), size=n_tc)  # before any row: a total's count only
        cells.tied[parts[0]] = tied
        if small:
            parts.append(_part_key(key, "rated"))
            cells.unit(parts[1], small, rank, True, size=n_rated)
            cells.tied[parts[1]] = []
        cells.tied[key] = parts
    else:
        cells.unit(key, members, rank, n < MIN_CELL or _small(n_rated) or _small(n_tc), size=n)
        cells.tied[key] = tied
    for part in ("ruptured", "rated", "tc"):
        cells.relate({v[part]: 1.0, v["n"]: -1.0}, below=True)
    for count, total in (("rated", "res_sum"), ("tc", "tc_sum")):
        cells.relate({v[count]: 1.0, v[total]: -1.0}, below=True)
        cells.relate({v[total]: 1.0, v[count]: -float(_SCALE)}, below=True)
    cells.relate({v["tc"]: -1.0, **{v[("c", k)]: 1.0 for k in RATINGS}})
    cells.relate({v["tc_sum"]: -1.0, **{v[("c", k)]: float(k) for k in RATINGS}})


def _undated_value(cells: Cells, part: str, n_therapists: int, month_totals: list[Key]) -> None:
    """The true value of the undated sessions' `part`: the therapists' minus the months' (the reader's
    solutions are kept as changes from the true values, so a latent variable needs its true one too)."""
    cells.value[(part, "undated")] = float(sum(cells.value[(part, "therapist", i)] for i in range(n_therapists))
                                           - sum(cells.value[_var(part, k)] for k in month_totals))


def _therapist_means(cells: Cells, therapists: pd.DataFrame, month_totals: list[Key], n_undated: int) -> None:
    """The therapist table's mean resolution and mean contribution, shown without their counts.

    A shown mean p / q (in lowest terms) is of 5 or more rated sessions and says q x rating sum = p x rated
    sessions, a whole-number tie; a blank mean beside shown sessions says 0-4 rated sessions. The rated
    sessions and rating sums themselves are never shown (latent); they add up, over therapists, to the
    months' totals plus the undated sessions'. What the reader learns from a row is carried by variables of
    the row's unit whose true value is 0, so it holds only while the row is shown: `gap` (q x sum - p x
    count - gap = 0), `over` (5 - count + over <= 0) and `under` (count - 4 - under <= 0).
    """
    one = cells.var(("one",), 1.0, lo=1.0, hi=1.0)
    for count, total, n_col, mean_col in (("rated", "res_sum", "n_res", "mean_res"),
                                          ("tc", "tc_sum", "n_tc", "mean_tc")):
        for i, r in enumerate(therapists.itertuples()):
            n = int(getattr(r, n_col))
            rating_sum = round(float(getattr(r, mean_col)) * n) if n else 0
            c = cells.var((count, "therapist", i), n)
            t = cells.var((total, "therapist", i), rating_sum)
            cells.latent |= {c, t}
            cells.relate({c: 1.0, ("n", "therapist", i): -1.0}, below=True)
            cells.relate({c: 1.0, t: -1.0}, below=True)
            cells.relate({t: 1.0, c: -float(_SCALE)}, below=True)
            if n >= MIN_CELL:
                p, q = (rating_sum // math.gcd(rating_sum, n), n // math.gcd(rating_sum, n))
                gap = cells.var(("gap", count, "therapist", i), 0.0, lo=-math.inf)
                over = cells.var(("over", count, "therapist", i), 0.0)
                cells.relate({t: float(q), c: -float(p), gap: -1.0})
                cells.relate({one: float(MIN_CELL), c: -1.0, over: 1.0}, below=True)
                extra = [gap, over]
            else:
                under = cells.var(("under", count, "therapist", i), 0.0)
                cells.relate({c: 1.0, one: -float(MIN_CELL - 1), under: -1.0}, below=True)
                extra = [under]
            cells.members[_therapist_key(i)] += extra
            cells.owner.update(dict.fromkeys(extra, _therapist_key(i)))
        c_undated = cells.var((count, "undated"), 0, hi=n_undated)
        t_undated = cells.var((total, "undated"), 0, hi=_SCALE * n_undated)
        cells.latent |= {c_undated, t_undated}
        for part, extra in ((count, c_undated), (total, t_undated)):
            _undated_value(cells, part, len(therapists), month_totals)
            cells.relate({**{(part, "therapist", i): 1.0 for i in range(len(therapists))},
                          **{_var(part, k): -1.0 for k in month_totals}, extra: -1.0})


def _kept_totals(rows: dict[str, pd.DataFrame]) -> set[Key]:
    """The whole-clinic rows hidden only when nothing as near can protect a small cell: those of `MIN_CELL` or
    more sessions, except one
    per month with fewer than `MIN_CELL` sessions (a partial first or last month). The periods add up to the
    header's dated sessions and the months to their quarter, so such a month's total is the quarter's minus
    the other months' unless one of those is hidden too: the smallest of them is (else the quarter's)."""
    totals = {kind: rows[kind][rows[kind].is_total] for kind in PERIODS}
    kept = {_row_key(kind, r) for kind in PERIODS for r in totals[kind].itertuples() if r.n >= MIN_CELL}
    quarter_of = {_row_key("month", r): pd.Timestamp(r.period_start).to_period("Q").start_time.date()
                  for r in totals["month"].itertuples()}
    for small, quarter in quarter_of.items():
        if small in kept:
            continue
        siblings = sorted((k for k, qs in quarter_of.items() if qs == quarter and k in kept),
                          key=lambda k: int(totals["month"].set_index("period_start").n.get(pd.Timestamp(k[2]), 0)))
        quarter_key = ("row", "quarter", quarter, True, ALL_TREATMENTS)
        kept -= {siblings[0]} if siblings else {quarter_key}
    return kept


def _compute_plan(con: duckdb.DuckDBPyConnection, scope: Scope) -> _Plan:
    """Everything the Clinic page and its PDF publish, with one suppression pattern for all of it.

    Months and quarters (a quarter is the sum of its months, and the page switches between them), the
    trends and contribution tables (a row of each describes the same sessions: one unit hides both), the
    therapist table, and the header totals they add up to are modelled together as one reader would
    combine them; `suppression.protect` then hides cells until no hidden figure can be pinned or proved
    small. Whole-clinic rows of `MIN_CELL` or more sessions are hidden last (`_kept_totals`, `_add_row`).
    """
    rows = {kind: _raw_rows(con, scope, kind) for kind in PERIODS}
    ratings = {kind: _every_row(rows[kind], _raw_ratings(con, scope, kind)) for kind in PERIODS}
    therapists = _raw_therapists(con, scope)
    head = overview(con, scope)
    cells = _cells(rows, ratings, therapists, head, _kept_totals(rows))
    hidden = suppression.protect(cells)
    return _Plan(rows, ratings, therapists, hidden, suppression.hidden_vars(cells, hidden))


def _cells(rows: dict[str, pd.DataFrame], ratings: dict[str, pd.DataFrame], therapists: pd.DataFrame,
           head: dict[str, int], kept: set[Key]) -> Cells:
    """The reader's model of everything published (see `_compute_plan`)."""
    cells = Cells(min_cell=MIN_CELL)
    dated = cells.var(("dated sessions",), head["n_sessions"] - head["n_undated"])
    everyone = cells.var(("all sessions",), head["n_sessions"])
    cells.unit(("header",), [dated, everyone], 9, False)
    cells.fixed.add(("header",))
    for kind in PERIODS:
        rated = {_row_key(kind, r): r for r in ratings[kind].itertuples()}
        for r in rows[kind].itertuples():
            _add_row(cells, kind, r, rated.get(_row_key(kind, r)), _row_key(kind, r) in kept)
        for _, group in rows[kind].groupby("period_start"):  # each measure: components vs total
            keys = [_row_key(kind, r) for r in group.itertuples()]
            total = [k for k in keys if k[3]]
            for m in _MEASURES if total else ():
                cells.relate({**{_var(m, k): 1.0 for k in keys if not k[3]}, _var(m, total[0]): -1.0})
        totals = [_row_key(kind, r) for r in rows[kind].itertuples() if r.is_total]
        cells.relate({**{_var("n", k): 1.0 for k in totals}, dated: -1.0})
    # A quarter's cell is the sum of its months' cells, measure by measure.
    months: dict[tuple[object, ...], list[Key]] = {}
    for r in rows["month"].itertuples():
        q = pd.Timestamp(r.period_start).to_period("Q").start_time.date()
        months.setdefault((q, bool(r.is_total), r.treatment), []).append(_row_key("month", r))
    for r in rows["quarter"].itertuples():
        qkey = _row_key("quarter", r)
        for m in _MEASURES:
            cells.relate({**{_var(m, k): 1.0 for k in months.get(qkey[2:], [])}, _var(m, qkey): -1.0})
    # Therapists: sessions add up to the header; ruptured sessions to the months' plus the undated ones'.
    undated = cells.var(("ruptured", "undated"), 0, hi=head["n_undated"])
    cells.latent.add(undated)
    for i, r in enumerate(therapists.itertuples()):
        n = cells.var(("n", "therapist", i), int(r.n), lo=1, count=True)
        ruptured = cells.var(("ruptured", "therapist", i), round(float(r.share) * int(r.n)), per=n)
        cells.unit(_therapist_key(i), [n, ruptured], 0, int(r.n) < MIN_CELL, size=int(r.n))
        cells.relate({ruptured: 1.0, n: -1.0}, below=True)
    cells.relate({**{("n", "therapist", i): 1.0 for i in range(len(therapists))}, everyone: -1.0})
    month_totals = [_row_key("month", r) for r in rows["month"].itertuples() if r.is_total]
    _undated_value(cells, "ruptured", len(therapists), month_totals)
    cells.relate({**{("ruptured", "therapist", i): 1.0 for i in range(len(therapists))},
                  **{_var("ruptured", k): -1.0 for k in month_totals}, undated: -1.0})
    _therapist_means(cells, therapists, month_totals, head["n_undated"])
    return cells




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
    """Whether each row's `measure` is hidden (its unit is: the row, its rating distribution, or the small
    part of a shown whole-clinic row)."""
    return pd.Series([_var(measure, _row_key(kind, r)) in plan.hidden_vars for r in raw.itertuples()],
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
    """Per period (newest first) and treatment ('All treatments' first): how many sessions got each
    therapist contribution rating 1-5, and the mean, among sessions with a contribution rating."""
    kind = _period(period)
    plan = _plan(con, scope)
    raw = plan.ratings[kind]
    out = raw[["period_start", "treatment", "is_total"]].copy()
    out["rated_sessions"] = [_shown(n, h) for n, h in zip(raw.n, _mask(plan, kind, raw, "tc"), strict=True)]
    mean_hidden = _mask(plan, kind, raw, "tc_sum")
    for k in RATINGS:
        shown = _mask(plan, kind, raw, ("c", k))
        out[f"rating_{k}"] = [_shown(getattr(r, f"c{k}"), h) for r, h in zip(raw.itertuples(), shown, strict=True)]
    out["mean_contribution"] = raw.mean_tc.where(~mean_hidden & (raw.n >= MIN_CELL))
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
                count(therapist_contribution) AS n_tc, avg(therapist_contribution) AS mean_tc
            FROM v_session_metrics CROSS JOIN pseudonym_key WHERE {where}
            GROUP BY therapist_id, pseudonym_key.opad, pseudonym_key.ipad
        )
        SELECT * FROM g ORDER BY therapist
        """,
        [*pseudonym.params(con), *params],
    ).df()


def therapist_table(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC) -> pd.DataFrame:
    """Per therapist pseudonym over all dated and undated sessions: sessions, share with ruptures,
    mean resolution and mean contribution (each hidden below `MIN_CELL` sessions).

    The sessions column sums to the clinic's session count in the page header and the ruptured sessions
    to the trends' totals, so the table is protected together with the period tables (`_plan`).
    """
    plan = _plan(con, scope)
    raw = plan.therapists
    hidden = pd.Series([_therapist_key(i) in plan.hidden for i in range(len(raw))], index=raw.index,
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
