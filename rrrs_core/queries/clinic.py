"""Clinic-wide aggregates for quality-improvement meetings: de-identified by construction.

These queries never return patient or dyad ids, and name therapists only by a keyed pseudonym computed in
SQL (`rrrs_core.pseudonym`). Small cells are suppressed in two steps, so a QI slide cannot point at a
patient:

1. Primary suppression: any count, share or mean computed from fewer than `MIN_CELL` sessions is hidden.
2. Secondary (complementary) suppression: the clinic page and PDF also show totals (each period's
   'All treatments' row, a row's rated sessions against its rating counts, a quarter against its months,
   the clinic's session count in the header). Where one hidden cell could be worked out from a total by
   subtracting the visible cells, the next smallest cell of that total (a component before the total
   itself) is hidden too, and so on until no hidden value can be computed from the published figures.
   "Computed" means exactly: its value is fixed by the linear relations between published cells (sums,
   and counts times a shown mean), which `_protect` checks with linear algebra rather than by rule of
   thumb, so chains of totals (2-D tables, months and quarters) are covered as well.

A table row counts as one cell: when a row is hidden, its counts, share and means all are (so a share or
mean cannot be multiplied back into a count). Every hidden count is shown as `SUPPRESSED`, whether it was
hidden for being small or to protect a small cell: a different mark for the second kind would tell
readers that cell holds `MIN_CELL` or more and narrow down the small one. Counts come back as text so the
app and PDF show them alike; shares and means come back as numbers, NULL when hidden. The raw counts used
for the decision never leave this module.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from rrrs_core import pseudonym
from rrrs_core.scope import CLINIC, Scope

MIN_CELL = 5
SUPPRESSED = "*"
SUPPRESSION_NOTE = (
    f"Suppression rule: any count, share or mean computed from fewer than {MIN_CELL} sessions is not shown "
    f"(the count appears as '{SUPPRESSED}', shares and means are left blank). Where a total is also shown "
    "(All treatments, a row's rated sessions, a quarter against its months, the clinic totals), further "
    "cells are hidden the same way - the next smallest first - so that no hidden value can be worked out "
    f"by subtracting the visible ones from the total; a '{SUPPRESSED}' may therefore stand for "
    f"{MIN_CELL} or more sessions."
)
PERIODS: tuple[str, ...] = ("month", "quarter")
ALL_TREATMENTS = "All treatments"
UNSPECIFIED = "Unspecified"
RATINGS = range(1, 6)

Key = tuple[Hashable, ...]


def _period(period: str) -> str:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, not {period!r}")
    return period


# --- secondary suppression ---------------------------------------------------------------------------


@dataclass
class _Cells:
    """Published count cells and the linear relations between them that a reader can exploit.

    Each relation maps cells to coefficients and holds as `sum(coef * value) == constant`, the constant
    being known to the reader (it is made of shown cells). A relation with a `carrier` cell is only
    published while that cell is shown (the weighted sum behind a shown mean). `need` is how many of a
    relation's cells must be hidden, if any are, for the cheap first pass of `_protect`: 2 for a sum, 3
    for a row's weighted sum (which, with the row's plain sum, pins down any two hidden counts). `tied`
    cells are hidden with their key (a hidden row hides its rating counts). `fixed` cells are shown
    elsewhere (the header totals) and are never hidden. `rank` orders the choice of complement, lower
    first: components before totals, rating counts before whole rows.
    """

    value: dict[Key, int] = field(default_factory=dict)
    rank: dict[Key, int] = field(default_factory=dict)
    primary: set[Key] = field(default_factory=set)
    fixed: set[Key] = field(default_factory=set)
    relations: list[tuple[dict[Key, float], Key | None, int]] = field(default_factory=list)
    tied: dict[Key, list[Key]] = field(default_factory=dict)
    touching: dict[Key, list[int]] = field(default_factory=dict)  # relation indexes by cell (for `_protect`)

    def add(self, key: Key, value: int, rank: int, primary: bool) -> None:
        self.value[key] = int(value)
        self.rank[key] = rank
        if primary:
            self.primary.add(key)

    def relate(self, terms: dict[Key, float], carrier: Key | None = None, need: int = 2) -> None:
        terms = {k: c for k, c in terms.items() if c}
        if len(terms) > 1:
            self.relations.append((terms, carrier, need))


def _close(cells: _Cells, keys: Iterable[Key]) -> set[Key]:
    out: set[Key] = set()
    todo = list(keys)
    while todo:
        k = todo.pop()
        if k not in out:
            out.add(k)
            todo += cells.tied.get(k, [])
    return out


def _derivable(cells: _Cells, hidden: set[Key], focus: Key | None = None) -> list[set[Key]]:
    """Hidden cells whose value is fixed by the published relations (the reader's linear system), as one
    set per independent block of hidden cells (only the block holding `focus`, when given).

    With the hidden cells as unknowns, a cell is determined exactly when every solution agrees on it,
    i.e. when its coordinate is zero in every null-space vector of the system. Hiding more cells never
    determines a cell that was not determined before, so blocks can be fixed independently.
    """
    live = [t for t, carrier, _ in cells.relations
            if (carrier is None or carrier not in hidden) and any(k in hidden for k in t)]
    parent: dict[Key, Key] = {}

    def find(k: Key) -> Key:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for terms in live:
        ks = [k for k in terms if k in hidden]
        for k in ks[1:]:
            parent[find(k)] = find(ks[0])
        find(ks[0])
    blocks: dict[Key, list[dict[Key, float]]] = {}
    for terms in live:
        blocks.setdefault(find(next(k for k in terms if k in hidden)), []).append(terms)
    if focus is not None:
        blocks = {root: rels for root, rels in blocks.items() if focus in parent and root == find(focus)}
    out: list[set[Key]] = []
    for rels in blocks.values():
        cols = sorted({k for t in rels for k in t if k in hidden}, key=repr)
        index = {k: i for i, k in enumerate(cols)}
        a = np.zeros((len(rels), len(cols)))
        for i, terms in enumerate(rels):
            for k, c in terms.items():
                if k in index:
                    a[i, index[k]] += c
        _, s, vt = np.linalg.svd(a)
        null = vt[int((s > 1e-9).sum()):]
        found = {cols[i] for i in np.flatnonzero(np.all(np.abs(null) < 1e-9, axis=0))}
        if found:
            out.append(found)
    return out


def _knock_on(cells: _Cells, hidden: set[Key], key: Key) -> int:
    """How many relations that are safe now (nothing hidden) hiding `key` would expose, each of which then
    needs a complement of its own: the cascade a choice sets off."""
    extra = _close(cells, [key])
    count = 0
    for i in {i for k in extra for i in cells.touching.get(k, ())}:
        terms, carrier, need = cells.relations[i]
        if (carrier is None or carrier not in extra | hidden) and not any(k in hidden for k in terms):
            count += 0 < sum(k in extra for k in terms) < need
    return count


def _preferred(cells: _Cells, keys: Iterable[Key], hidden: set[Key]) -> list[Key]:
    """Cells that could be hidden to protect others, best first: lower rank (components before totals),
    fewest knock-on complements, non-zero before zero, then the smallest value."""
    free = {k for k in keys if k not in hidden and k not in cells.fixed}
    return sorted(free, key=lambda k: (cells.rank[k], _knock_on(cells, hidden, k), cells.value[k] == 0,
                                       cells.value[k], repr(k)))


def _protects(cells: _Cells, hidden: set[Key], cell: Key, target: Key) -> bool:
    """Whether hiding `cell` as well leaves `target` underivable."""
    return not any(target in found for found in _derivable(cells, hidden | _close(cells, [cell]), target))


def _protect(cells: _Cells) -> set[Key]:
    """Primary suppression plus complementary cells, until no hidden value is derivable (except one that
    equals a header total, which no hiding in the table can protect).

    First the plain rule, cheaply, to a fixed point: a published relation with exactly one hidden cell
    gives that cell away, so hide the best other cell of the relation too (a row with a shown mean needs
    three hidden counts, else the mean would pin down two). Then the exact check (`_derivable`) catches
    what combinations of relations still give away (2-D tables, months against quarters): per block,
    hide the best cell next to a derivable one that makes it underivable, and repeat.
    """
    cells.touching = {}
    for i, (terms, carrier, _) in enumerate(cells.relations):
        for k in [*terms, *([carrier] if carrier else [])]:
            cells.touching.setdefault(k, []).append(i)
    hidden = _close(cells, cells.primary - cells.fixed)
    stuck: set[Key] = set()
    while True:
        changed = True
        while changed:
            changed = False
            for terms, carrier, need in cells.relations:
                if carrier is not None and carrier in hidden:
                    continue
                inside = [k for k in terms if k in hidden]
                if not 0 < len(inside) < need or inside[0] in stuck:
                    continue
                candidates = _preferred(cells, terms, hidden) or ([carrier] if carrier else [])
                if candidates:
                    hidden |= _close(cells, candidates[:1])
                    changed = True
                else:
                    stuck.add(inside[0])
        blocks = [sorted(found - stuck, key=repr) for found in _derivable(cells, hidden)]
        blocks = [b for b in blocks if b]
        if not blocks:
            return hidden
        for exposed in blocks:
            target = exposed[0]
            near = (k for t, _, _ in cells.relations if target in t for k in t)
            candidates = _preferred(cells, near, hidden)
            if not candidates:
                stuck.add(target)
                continue
            pick = next((c for c in candidates[:8] if _protects(cells, hidden, c, target)), candidates[0])
            hidden |= _close(cells, [pick])


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


def _row_key(kind: str, r: object) -> Key:
    return ("row", kind, pd.Timestamp(r.period_start).date(), bool(r.is_total), r.treatment)  # type: ignore[attr-defined]


def _rating_key(kind: str, r: object, rating: int) -> Key:
    return ("rating", *_row_key(kind, r)[1:], rating)


def _row_keys(kind: str, r: object) -> list[Key]:
    return [_row_key(kind, r)]


def _rating_keys(kind: str, r: object) -> list[Key]:
    return [_rating_key(kind, r, k) for k in RATINGS]


def _small(n: int) -> bool:
    return 1 <= n < MIN_CELL


@dataclass
class _PeriodPlan:
    rows: dict[str, pd.DataFrame]
    ratings: dict[str, pd.DataFrame]
    hidden: set[Key]


def _period_plan(con: duckdb.DuckDBPyConnection, scope: Scope) -> _PeriodPlan:
    """Both period tables for months and quarters, with one suppression pattern for all of them.

    Months and quarters are protected together (a quarter is the sum of its months, and the page switches
    between them), as are the two tables (a trends row and a ratings row describe the same sessions: one
    key hides both), and the period totals against the clinic's dated sessions in the page header.
    """
    rows = {kind: _raw_rows(con, scope, kind) for kind in PERIODS}
    ratings = {kind: _raw_ratings(con, scope, kind) for kind in PERIODS}
    head = overview(con, scope)
    dated: Key = ("dated sessions",)
    cells = _Cells()
    cells.add(dated, head["n_sessions"] - head["n_undated"], 9, False)
    cells.fixed.add(dated)
    for kind in PERIODS:
        n_tc = {_row_key(kind, r): int(r.n) for r in ratings[kind].itertuples()}
        for r in rows[kind].itertuples():
            key = _row_key(kind, r)
            small = r.n < MIN_CELL or _small(r.n_rated) or _small(n_tc.get(key, 0))
            cells.add(key, r.n, 3 if r.is_total else 2, small)
        for r in ratings[kind].itertuples():
            key = _row_key(kind, r)
            cells.tied[key] = [_rating_key(kind, r, k) for k in RATINGS]
            for k in RATINGS:
                c = getattr(r, f"c{k}")
                cells.add(_rating_key(kind, r, k), c, 1 if r.is_total else 0, _small(c))
            # Rating counts sum to the row's rated sessions; a shown mean gives their weighted sum.
            cells.relate({key: -1.0, **{_rating_key(kind, r, k): 1.0 for k in RATINGS}})
            cells.relate({_rating_key(kind, r, k): float(k) for k in RATINGS}, carrier=key, need=3)
        for table, keys in ((rows[kind], _row_keys), (ratings[kind], _rating_keys)):
            for _, group in table.groupby("period_start"):
                parts = [keys(kind, r) for r in group.itertuples() if not r.is_total]
                total = [keys(kind, r) for r in group.itertuples() if r.is_total]
                for i, tkey in enumerate(total[0] if total else []):  # each column: components vs total
                    cells.relate({**{p[i]: 1.0 for p in parts}, tkey: -1.0})
        totals = [_row_key(kind, r) for r in rows[kind].itertuples() if r.is_total]
        cells.relate({**dict.fromkeys(totals, 1.0), dated: -1.0})
    # A quarter's cell is the sum of its months' cells, row by row and rating by rating.
    for table, keys in ((rows, _row_keys), (ratings, _rating_keys)):
        months: dict[tuple[object, ...], list[list[Key]]] = {}
        for r in table["month"].itertuples():
            q = pd.Timestamp(r.period_start).to_period("Q").start_time.date()
            months.setdefault((q, bool(r.is_total), r.treatment), []).append(keys("month", r))
        for r in table["quarter"].itertuples():
            parts = months.get((pd.Timestamp(r.period_start).date(), bool(r.is_total), r.treatment), [])
            for i, qkey in enumerate(keys("quarter", r)):
                cells.relate({**{p[i]: 1.0 for p in parts}, qkey: -1.0})
    return _PeriodPlan(rows, ratings, _protect_memo(cells, [*rows.values(), *ratings.values()], head))


_MEMO: OrderedDict[str, set[Key]] = OrderedDict()
_MEMO_LOCK = threading.Lock()


def _protect_memo(cells: _Cells, frames: list[pd.DataFrame], head: dict[str, int]) -> set[Key]:
    """`_protect(cells)`, remembered for the last few inputs: the page and the PDF ask for both period
    tables, which share one pattern; the cells are a pure function of these frames and totals."""
    digest = hashlib.sha256(repr(sorted(head.items())).encode())
    for frame in frames:
        digest.update(frame.to_csv(index=False).encode())
    key = digest.hexdigest()
    with _MEMO_LOCK:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return set(_MEMO[key])
    hidden = _protect(cells)
    with _MEMO_LOCK:
        _MEMO[key] = set(hidden)
        while len(_MEMO) > 8:
            _MEMO.popitem(last=False)
    return hidden


def _shown(value: object, hidden: bool) -> str:
    return SUPPRESSED if hidden else str(int(value))  # type: ignore[call-overload]


def trends(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, period: str = "month") -> pd.DataFrame:
    """Per period and treatment (plus an 'All treatments' row): sessions, share with ruptures, mean
    overall resolution. `rupture_share` is sessions with >= 1 rupture segment / sessions. `suppressed`
    marks rows hidden by the suppression rule (primary or complementary)."""
    kind = _period(period)
    plan = _period_plan(con, scope)
    raw = plan.rows[kind]
    hidden = [_row_key(kind, r) in plan.hidden for r in raw.itertuples()]
    out = raw[["period_start", "treatment", "is_total"]].copy()
    out["sessions"] = [_shown(n, h) for n, h in zip(raw.n, hidden, strict=True)]
    out["rupture_share"] = raw.share.where(~pd.Series(hidden, index=raw.index, dtype=bool))
    out["rated_sessions"] = [_shown(n, h) for n, h in zip(raw.n_rated, hidden, strict=True)]
    out["mean_resolution"] = raw.mean_res.where(
        ~pd.Series(hidden, index=raw.index, dtype=bool) & (raw.n_rated >= MIN_CELL))
    out["suppressed"] = pd.Series(hidden, index=raw.index, dtype=bool)
    return out.reset_index(drop=True)


def contribution_table(
    con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC, period: str = "month"
) -> pd.DataFrame:
    """Per period and treatment (plus 'All treatments'): how many sessions got each therapist
    contribution rating 1-5, and the mean, among sessions with a contribution rating."""
    kind = _period(period)
    plan = _period_plan(con, scope)
    raw = plan.ratings[kind]
    row_hidden = pd.Series([_row_key(kind, r) in plan.hidden for r in raw.itertuples()], index=raw.index,
                           dtype=bool)
    out = raw[["period_start", "treatment", "is_total"]].copy()
    out["rated_sessions"] = [_shown(n, h) for n, h in zip(raw.n, row_hidden, strict=True)]
    for k in RATINGS:
        out[f"rating_{k}"] = [_shown(getattr(r, f"c{k}"), _rating_key(kind, r, k) in plan.hidden)
                              for r in raw.itertuples()]
    out["mean_contribution"] = raw.mean_tc.where(~row_hidden & (raw.n >= MIN_CELL))
    return out.reset_index(drop=True)


# --- therapists ---------------------------------------------------------------------------------------


def therapist_table(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC) -> pd.DataFrame:
    """Per therapist pseudonym over all dated and undated sessions: sessions, share with ruptures,
    mean resolution and mean contribution (each hidden below `MIN_CELL` sessions).

    The sessions column sums to the clinic's session count in the page header, so a single hidden
    therapist is protected by hiding the next smallest one too (their whole row).
    """
    where, params = scope.sql("therapist_id")
    raw = con.execute(
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
    cells = _Cells()
    everyone: Key = ("all sessions",)
    cells.add(everyone, overview(con, scope)["n_sessions"], 9, False)
    cells.fixed.add(everyone)
    for i, n in enumerate(raw.n):
        cells.add(("therapist", i), n, 0, n < MIN_CELL)
    cells.relate({**{("therapist", i): 1.0 for i in range(len(raw))}, everyone: -1.0})
    protected = _protect(cells)
    hidden = pd.Series([("therapist", i) in protected for i in range(len(raw))], index=raw.index, dtype=bool)
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
