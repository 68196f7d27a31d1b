"""The reader's model of the Clinic page and its PDF: every published figure as a variable, every tie
between figures as a relation, and the units the tables show or hide together (see `queries.clinic`, which
fetches the rows and publishes the result, and `rrrs_core.suppression`, which decides what to hide).

Keys: a row is ("row", kind, period start, is total, treatment); its measures are (measure, kind, ...) with
measure one of `MEASURES`; a therapist row is ("therapist", i).
"""

from __future__ import annotations

import math

import pandas as pd

from rrrs_core.suppression import Cells, Key

MIN_CELL = 5
PERIODS: tuple[str, ...] = ("month", "quarter")
ALL_TREATMENTS = "All treatments"
RATINGS = range(1, 6)


def every_row(rows: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """The contribution table with a row for every row of the trends table (0 ratings where none)."""
    keys = rows[["period_start", "is_total", "treatment"]]
    out = keys.merge(ratings, on=["period_start", "is_total", "treatment"], how="left")
    counts = ["n", *(f"c{k}" for k in RATINGS)]
    out[counts] = out[counts].fillna(0).astype(int)
    return out


def row_key(kind: str, r: object) -> Key:
    p, total, treatment = r.period_start, r.is_total, r.treatment  # type: ignore[attr-defined]
    return ("row", kind, pd.Timestamp(p).date(), bool(total), treatment)


def ratings_key(row: Key) -> Key:
    return ("ratings", *row[1:])


def therapist_key(i: int) -> Key:
    return ("therapist", i)


def is_small(n: int) -> bool:
    return 1 <= n < MIN_CELL


# What a row publishes, as the reader's variables: sessions, sessions with ruptures (share x sessions),
# rated sessions and their resolution sum (mean x rated), contribution-rated sessions, their per-rating
# counts and their contribution sum (mean x rated).
ROW_MEASURES = ("n", "ruptured", "rated", "res_sum", "tc", "tc_sum")
MEASURES = (*ROW_MEASURES, *(("c", k) for k in RATINGS))
SCALE = 5  # resolution and contribution ratings run 1-5


def var_key(measure: object, row: Key) -> Key:
    return (*measure, *row[1:]) if isinstance(measure, tuple) else (measure, *row[1:])


def part_key(row: Key, part: str) -> Key:
    return ("part", part, *row[1:])


def add_row(cells: Cells, kind: str, r: object, rated: object | None, keep: bool) -> None:
    """One row of the trends table (and its contribution-table twin, `rated`, if listed) as one unit.

    `keep`: a whole-clinic row of `MIN_CELL` or more sessions. Its sessions, share, rated sessions and
    mean resolution are hidden only when no other cell as near can protect a small one (`Cells.reluctant`); its
    contribution-rated sessions (with the rating distribution) and small rated sessions (1-4, with the
    mean) are units of their own that can be hidden while the row stays. The contribution count is apart
    because a treatment missing from the contribution table is known to have none: shown beside the
    total's sessions, it bounds how many sessions such a treatment has."""
    key = row_key(kind, r)
    n, n_rated = int(r.n), int(r.n_rated)  # type: ignore[attr-defined]
    n_tc = int(rated.n) if rated is not None else 0  # type: ignore[attr-defined]
    listed = rated is not None  # a row missing from the contribution table has no ratings: public
    v = {m: var_key(m, key) for m in MEASURES}
    cells.var(v["n"], n, lo=1, count=True)  # a listed row has at least one session
    cells.var(v["ruptured"], round(float(r.share) * n), per=v["n"])  # type: ignore[attr-defined]
    cells.var(v["rated"], n_rated, count=True)
    res = 0.0 if n_rated == 0 else float(r.mean_res) * n_rated  # type: ignore[attr-defined]
    cells.var(v["res_sum"], round(res), per=v["rated"])
    # The contribution table lists every row of the trends table (`every_row`), 0 ratings included, so a
    # hidden row's contribution count is not known to be 0 (which, beside a shown total, would bound it).
    cells.var(v["tc"], n_tc, hi=math.inf if listed else 0, count=True)
    tc_sum = sum(k * int(getattr(rated, f"c{k}")) for k in RATINGS) if listed else 0
    cells.var(v["tc_sum"], tc_sum, hi=math.inf if listed else 0, per=v["tc"])
    # Complements are taken from month rows before quarter rows (the quarter view is the default: a hidden
    # month is better protected by another month of the treatment than by blanking its quarter).
    rank = 5 if r.is_total else 2 if kind == "month" else 4  # type: ignore[attr-defined]
    members = [v[m] for m in ROW_MEASURES if m != "tc_sum"]
    # A row's rating counts and their mean are shown or hidden together (one small count hides the row's
    # distribution; its rated sessions stay): cell-by-cell hiding in a table of treatments x ratings x
    # months, tied to quarters, needs far more complements for the same protection.
    counts = [int(getattr(rated, f"c{k}")) if listed else 0 for k in RATINGS]
    for k, c in zip(RATINGS, counts, strict=True):
        cells.var(v[("c", k)], c, hi=math.inf if listed else 0, count=True)
    tied = []
    if listed:
        dist = ratings_key(key)
        cells.unit(dist, [v["tc_sum"], *(v[("c", k)] for k in RATINGS)], rank - 2,
                   any(is_small(c) for c in counts), size=n_tc)
        tied.append(dist)
    if keep:  # see the docstring: the row less its contribution count and small rated sessions
        small = [v["rated"], v["res_sum"]] if is_small(n_rated) else []
        cells.unit(key, [m for m in members if m not in small and m != v["tc"]], rank, False, size=n)
        cells.reluctant.add(key)
        parts = [part_key(key, "tc")]
        cells.unit(parts[0], [v["tc"]], 1, is_small(n_tc), size=n_tc)  # before any row: a total's count only
        cells.tied[parts[0]] = tied
        if small:
            parts.append(part_key(key, "rated"))
            cells.unit(parts[1], small, rank, True, size=n_rated)
            cells.tied[parts[1]] = []
        cells.tied[key] = parts
    else:
        cells.unit(key, members, rank, n < MIN_CELL or is_small(n_rated) or is_small(n_tc), size=n)
        cells.tied[key] = tied
    for part in ("ruptured", "rated", "tc"):
        cells.relate({v[part]: 1.0, v["n"]: -1.0}, below=True)
    for count, total in (("rated", "res_sum"), ("tc", "tc_sum")):
        cells.relate({v[count]: 1.0, v[total]: -1.0}, below=True)
        cells.relate({v[total]: 1.0, v[count]: -float(SCALE)}, below=True)
    cells.relate({v["tc"]: -1.0, **{v[("c", k)]: 1.0 for k in RATINGS}})
    cells.relate({v["tc_sum"]: -1.0, **{v[("c", k)]: float(k) for k in RATINGS}})


def undated_value(cells: Cells, part: str, n_therapists: int, month_totals: list[Key]) -> None:
    """The true value of the undated sessions' `part`: the therapists' minus the months' (the reader's
    solutions are kept as changes from the true values, so a latent variable needs its true one too)."""
    cells.value[(part, "undated")] = float(sum(cells.value[(part, "therapist", i)] for i in range(n_therapists))
                                           - sum(cells.value[var_key(part, k)] for k in month_totals))


def therapist_means(cells: Cells, therapists: pd.DataFrame, month_totals: list[Key], n_undated: int) -> None:
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
            cells.relate({t: 1.0, c: -float(SCALE)}, below=True)
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
            cells.members[therapist_key(i)] += extra
            cells.owner.update(dict.fromkeys(extra, therapist_key(i)))
        c_undated = cells.var((count, "undated"), 0, hi=n_undated)
        t_undated = cells.var((total, "undated"), 0, hi=SCALE * n_undated)
        cells.latent |= {c_undated, t_undated}
        for part, extra in ((count, c_undated), (total, t_undated)):
            undated_value(cells, part, len(therapists), month_totals)
            cells.relate({**{(part, "therapist", i): 1.0 for i in range(len(therapists))},
                          **{var_key(part, k): -1.0 for k in month_totals}, extra: -1.0})


def kept_totals(rows: dict[str, pd.DataFrame]) -> set[Key]:
    """The whole-clinic rows hidden only when nothing as near can protect a small cell: those of `MIN_CELL` or
    more sessions, except one
    per month with fewer than `MIN_CELL` sessions (a partial first or last month). The periods add up to the
    header's dated sessions and the months to their quarter, so such a month's total is the quarter's minus
    the other months' unless one of those is hidden too: the smallest of them is (else the quarter's)."""
    totals = {kind: rows[kind][rows[kind].is_total] for kind in PERIODS}
    kept = {row_key(kind, r) for kind in PERIODS for r in totals[kind].itertuples() if r.n >= MIN_CELL}
    quarter_of = {row_key("month", r): pd.Timestamp(r.period_start).to_period("Q").start_time.date()
                  for r in totals["month"].itertuples()}
    for small, quarter in quarter_of.items():
        if small in kept:
            continue
        siblings = sorted((k for k, qs in quarter_of.items() if qs == quarter and k in kept),
                          key=lambda k: int(totals["month"].set_index("period_start").n.get(pd.Timestamp(k[2]), 0)))
        quarter_key = ("row", "quarter", quarter, True, ALL_TREATMENTS)
        kept -= {siblings[0]} if siblings else {quarter_key}
    return kept


def build(rows: dict[str, pd.DataFrame], ratings: dict[str, pd.DataFrame], therapists: pd.DataFrame,
           head: dict[str, int], kept: set[Key]) -> Cells:
    """The reader's model of everything published (see `_compute_plan`)."""
    cells = Cells(min_cell=MIN_CELL)
    dated = cells.var(("dated sessions",), head["n_sessions"] - head["n_undated"])
    everyone = cells.var(("all sessions",), head["n_sessions"])
    cells.unit(("header",), [dated, everyone], 9, False)
    cells.fixed.add(("header",))
    for kind in PERIODS:
        rated = {row_key(kind, r): r for r in ratings[kind].itertuples()}
        for r in rows[kind].itertuples():
            add_row(cells, kind, r, rated.get(row_key(kind, r)), row_key(kind, r) in kept)
        for _, group in rows[kind].groupby("period_start"):  # each measure: components vs total
            keys = [row_key(kind, r) for r in group.itertuples()]
            total = [k for k in keys if k[3]]
            for m in MEASURES if total else ():
                cells.relate({**{var_key(m, k): 1.0 for k in keys if not k[3]}, var_key(m, total[0]): -1.0})
        totals = [row_key(kind, r) for r in rows[kind].itertuples() if r.is_total]
        cells.relate({**{var_key("n", k): 1.0 for k in totals}, dated: -1.0})
    # A quarter's cell is the sum of its months' cells, measure by measure.
    months: dict[tuple[object, ...], list[Key]] = {}
    for r in rows["month"].itertuples():
        q = pd.Timestamp(r.period_start).to_period("Q").start_time.date()
        months.setdefault((q, bool(r.is_total), r.treatment), []).append(row_key("month", r))
    for r in rows["quarter"].itertuples():
        qkey = row_key("quarter", r)
        for m in MEASURES:
            cells.relate({**{var_key(m, k): 1.0 for k in months.get(qkey[2:], [])}, var_key(m, qkey): -1.0})
    # Therapists: sessions add up to the header; ruptured sessions to the months' plus the undated ones'.
    undated = cells.var(("ruptured", "undated"), 0, hi=head["n_undated"])
    cells.latent.add(undated)
    for i, r in enumerate(therapists.itertuples()):
        n = cells.var(("n", "therapist", i), int(r.n), lo=1, count=True)
        ruptured = cells.var(("ruptured", "therapist", i), round(float(r.share) * int(r.n)), per=n)
        cells.unit(therapist_key(i), [n, ruptured], 0, int(r.n) < MIN_CELL, size=int(r.n))
        cells.relate({ruptured: 1.0, n: -1.0}, below=True)
    cells.relate({**{("n", "therapist", i): 1.0 for i in range(len(therapists))}, everyone: -1.0})
    month_totals = [row_key("month", r) for r in rows["month"].itertuples() if r.is_total]
    undated_value(cells, "ruptured", len(therapists), month_totals)
    cells.relate({**{("ruptured", "therapist", i): 1.0 for i in range(len(therapists))},
                  **{var_key("ruptured", k): -1.0 for k in month_totals}, undated: -1.0})
    therapist_means(cells, therapists, month_totals, head["n_undated"])
    return cells
