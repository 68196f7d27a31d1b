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
HIGH = 4  # the app's default flag threshold: "rated 4-5" = the therapist initiated or exacerbated a rupture
SCALE = 5  # resolution and contribution ratings run 1-5


def row_key(kind: str, r: object) -> Key:
    p, total, treatment = r.period_start, r.is_total, r.treatment  # type: ignore[attr-defined]
    return ("row", kind, pd.Timestamp(p).date(), bool(total), treatment)


def mean_key(row: Key) -> Key:
    """The unit of a row's mean contribution."""
    return ("mean", *row[1:])


def high_key(row: Key) -> Key:
    """The unit of a row's share rated 4-5."""
    return ("high", *row[1:])


def therapist_key(i: int) -> Key:
    return ("therapist", i)


def is_small(n: int) -> bool:
    return 1 <= n < MIN_CELL


# What a row publishes, as the reader's variables: sessions, sessions with ruptures (share x sessions),
# rated sessions and their resolution sum (mean x rated), contribution-rated sessions, their contribution
# sum (mean x rated) and how many of them were rated `HIGH` or more (share x rated).
MEASURES = ("n", "ruptured", "rated", "res_sum", "tc", "tc_sum", "tc_high")


def var_key(measure: str, row: Key) -> Key:
    return (measure, *row[1:])


def part_key(row: Key, part: str) -> Key:
    return ("part", part, *row[1:])


def contribution_bounds(cells: Cells, tc: Key, tc_sum: Key, high: Key) -> None:
    """What a reader knows of a group's contribution figures without its ratings: `high` of `tc` rated
    sessions are rated 4-5 and the rest 1-3, so tc + 3 high <= sum <= 3 tc + 2 high (every whole sum in
    between is some set of ratings, so nothing else follows; it implies tc <= sum <= 5 tc)."""
    lo_high, hi_low = HIGH - 1, HIGH - 1  # a high rating is at least 1 + 3, a low one at most 3
    cells.relate({high: 1.0, tc: -1.0}, below=True)
    cells.relate({tc: 1.0, high: float(lo_high), tc_sum: -1.0}, below=True)
    cells.relate({tc_sum: 1.0, tc: -float(hi_low), high: -float(SCALE - hi_low)}, below=True)


def add_row(cells: Cells, kind: str, r: object, keep: bool) -> None:
    """One row of the trends table and its contribution-table twin: the row, and two units of its own for
    the mean contribution and the share rated 4-5 (hidden with the row, or alone: 4-5 ratings are rare, so a
    hidden group's count can be proved 1-4 by the shown ones and must be protected without the mean).

    `keep`: a whole-clinic row of `MIN_CELL` or more sessions. Its sessions, share and rated counts, and
    its contribution unit, are hidden only when no other cell as near can protect a small one
    (`Cells.reluctant`); a small (1-4) rated or contribution-rated count is a unit of its own (with the mean
    that needs it) that is hidden while the row stays."""
    key = row_key(kind, r)
    n, n_rated, n_tc = int(r.n), int(r.n_rated), int(r.n_tc)  # type: ignore[attr-defined]
    v = {m: var_key(m, key) for m in MEASURES}
    cells.var(v["n"], n, lo=1, count=True)  # a listed row has at least one session
    cells.var(v["ruptured"], int(r.n_ruptured), per=v["n"])  # type: ignore[attr-defined]
    cells.var(v["rated"], n_rated, count=True)
    cells.var(v["res_sum"], int(r.res_sum), per=v["rated"])  # type: ignore[attr-defined]
    # The contribution table lists every row of the trends table, 0 rated included, so a hidden row's
    # contribution count is not known to be 0 (which, beside a shown total, would bound it).
    cells.var(v["tc"], n_tc, count=True)
    cells.var(v["tc_sum"], int(r.tc_sum), per=v["tc"])  # type: ignore[attr-defined]
    # Sessions rated 4-5 are shown as a share of 5 or more rated sessions, as ruptured ones are of the
    # sessions. Hidden, they are protected as the per-rating counts they replace were: a count, which may
    # not be proved to lie in 1-4.
    cells.var(v["tc_high"], int(r.tc_high), count=True)  # type: ignore[attr-defined]
    # Complements are taken from month rows before quarter rows (the quarter view is the default: a hidden
    # month is better protected by another month of the treatment than by blanking its quarter).
    rank = 5 if r.is_total else 2 if kind == "month" else 4  # type: ignore[attr-defined]
    contribution = [mean_key(key), high_key(key)]
    cells.unit(contribution[0], [v["tc_sum"]], rank - 2, is_small(n_tc), size=n_tc)
    cells.unit(contribution[1], [v["tc_high"]], rank - 3, is_small(n_tc), size=n_tc)  # before the mean
    if keep:  # see the docstring: the row less its small counts
        cells.reluctant |= {key, *contribution}
        parts = {part: [v[c] for c in counts] for part, count, counts in
                 (("rated", n_rated, ("rated", "res_sum")), ("tc", n_tc, ("tc",))) if is_small(count)}
        cells.unit(key, [v[m] for m in ("n", "ruptured", "rated", "res_sum", "tc")
                         if not any(v[m] in members for members in parts.values())], rank, False, size=n)
        cells.tied[key] = list(contribution)
        for part, members in parts.items():
            cells.unit(part_key(key, part), members, rank, True, size=cells.value[members[0]])
            cells.tied[part_key(key, part)] = list(contribution) if part == "tc" else []
            cells.tied[key].append(part_key(key, part))
    else:
        cells.unit(key, [v[m] for m in ("n", "ruptured", "rated", "res_sum", "tc")], rank,
                   n < MIN_CELL or is_small(n_rated) or is_small(n_tc), size=n)
        cells.tied[key] = list(contribution)
    for part in ("ruptured", "rated", "tc"):
        cells.relate({v[part]: 1.0, v["n"]: -1.0}, below=True)
    cells.relate({v["rated"]: 1.0, v["res_sum"]: -1.0}, below=True)
    cells.relate({v["res_sum"]: 1.0, v["rated"]: -float(SCALE)}, below=True)
    contribution_bounds(cells, v["tc"], v["tc_sum"], v["tc_high"])


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
    therapist_high(cells, therapists, month_totals, n_undated)


def therapist_high(cells: Cells, therapists: pd.DataFrame, month_totals: list[Key], n_undated: int) -> None:
    """A therapist's sessions rated 4-5 (never shown) are bounded by their mean contribution like a row's
    (`contribution_bounds`: a mean of 1.0 says none) and add up, with the undated sessions', to the months'
    totals: a reader knows this, so the model does too."""
    for i, r in enumerate(therapists.itertuples()):
        high = cells.var(("tc_high", "therapist", i), int(r.n_high))
        cells.latent.add(high)
        contribution_bounds(cells, ("tc", "therapist", i), ("tc_sum", "therapist", i), high)
    extra = cells.var(("tc_high", "undated"), 0, hi=n_undated)
    cells.latent.add(extra)
    undated_value(cells, "tc_high", len(therapists), month_totals)
    contribution_bounds(cells, ("tc", "undated"), ("tc_sum", "undated"), extra)
    cells.relate({**{("tc_high", "therapist", i): 1.0 for i in range(len(therapists))},
                  **{var_key("tc_high", k): -1.0 for k in month_totals}, extra: -1.0})


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


def build(rows: dict[str, pd.DataFrame], therapists: pd.DataFrame, head: dict[str, int], kept: set[Key]) -> Cells:
    """The reader's model of everything published (see `_compute_plan`)."""
    cells = Cells(min_cell=MIN_CELL)
    dated = cells.var(("dated sessions",), head["n_sessions"] - head["n_undated"])
    everyone = cells.var(("all sessions",), head["n_sessions"])
    cells.unit(("header",), [dated, everyone], 9, False)
    cells.fixed.add(("header",))
    for kind in PERIODS:
        for r in rows[kind].itertuples():
            add_row(cells, kind, r, row_key(kind, r) in kept)
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
