"""Complementary suppression, checked against a reader who solves the published tables.

A reader of the clinic page and its PDF knows every shown figure and how the figures are tied: parts sum to
totals and months to quarters; a shown share times its count is a number of sessions with ruptures and a
shown mean times its count a sum of ratings; a listed row has at least one session; a part never exceeds
its whole (ruptured <= sessions, rated <= sessions, a rating sum between 1 and 5 times the rated
sessions). `Reader` is that reader, and it reasons over whole numbers, since every hidden value is a count
or a sum of whole ratings: `r1 + r3 + r4 = 5` and `r1 + 3 r3 + 4 r4 = 10` leave r3 anywhere in 0..2.5 over
real numbers but only r3 = 1 over whole ones. For a hidden value it looks for a whole-number solution of
every published figure and relation (over the hidden values linked to it) that shows the value could be
otherwise: the linear programme (HiGHS) first, whose answer settles it when it has no solution or a whole
one, else HiGHS's branch and bound on the same model.

A hidden value is *disclosed* when the reader can

- prove a hidden count small: every value it can take lies between 1 and `min_cell - 1` (this includes
  knowing it exactly; a count that might be 0, or `min_cell` or more, tells nobody a small group exists);
- pin a small group's measure: the ruptured sessions or a rating sum of a group of 1 to `min_cell - 1`
  sessions has one possible value (e.g. "the hidden rows have 0% ruptures").

`protect` starts from the primarily suppressed units, hides whole units (a table row, a row's mean or share,
a therapist row) and keeps hiding the best neighbour of a disclosed value (the one that
undoes the disclosure, else the lowest-ranked, largest one) until nothing is disclosed, so one function
decides what the page and the PDF may print. Hiding more only ever widens the reader's ranges, so a value
once found safe stays safe.

Limits: a branch and bound that reaches `MIP_NODES` nodes without a solution counts the value as
disclosed (more hiding, never less); the reader knows only what is published with the tables (not, e.g.,
how many sessions a dyad has); a value the header alone gives away (a clinic with fewer than `min_cell`
sessions) is not protected. Generic over keys; `rrrs_core.queries.clinic` builds the clinic's units, values and relations.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy import sparse

Key = tuple[Hashable, ...]
Terms = dict[Key, float]
MIP_NODES = 2000  # branch-and-bound nodes per whole-number check; beyond it the value counts as disclosed
TRIES = 8  # candidates tried for the complement that actually undoes a disclosure, before taking the best


@dataclass
class Cells:
    """What a reader is given, as variables and linear relations, and how it can be hidden.

    Variables (`value`) are every published or derivable quantity, with the bounds a reader knows without
    the tables (`lo`, `hi`: a listed row has `lo` 1). `members` maps a hiding unit (what the table shows or
    hides as one, e.g. a row) to its variables; a variable outside every unit is `latent`: never published,
    never checked (e.g. the ruptures among undated sessions). `equal` relations hold as
    `sum(coef * var) == 0`, `below` ones as `<= 0`. `counts` are the variables the small-count rule applies
    to. `rank` orders complements, lower first (components before totals). `tied` units are hidden with
    their key; `fixed` units (the header totals) are never hidden.
    """

    min_cell: int = 5
    value: dict[Key, float] = field(default_factory=dict)
    lo: dict[Key, float] = field(default_factory=dict)
    hi: dict[Key, float] = field(default_factory=dict)
    counts: set[Key] = field(default_factory=set)
    latent: set[Key] = field(default_factory=set)
    members: dict[Key, list[Key]] = field(default_factory=dict)
    owner: dict[Key, Key] = field(default_factory=dict)
    rank: dict[Key, int] = field(default_factory=dict)
    size: dict[Key, float] = field(default_factory=dict)
    primary: set[Key] = field(default_factory=set)
    fixed: set[Key] = field(default_factory=set)
    tied: dict[Key, list[Key]] = field(default_factory=dict)
    equal: list[Terms] = field(default_factory=list)
    below: list[Terms] = field(default_factory=list)
    touching: dict[Key, list[int]] = field(default_factory=dict)
    every: list[Terms] = field(default_factory=list)
    per: dict[Key, Key] = field(default_factory=dict)  # measure -> the count it is a measure of
    # Whole-number solutions found so far, as the variables where they differ from the true values: one
    # stays a solution for every reader to whom those variables are hidden (hiding only removes knowledge).
    solutions: list[dict[Key, float]] = field(default_factory=list)
    moving: dict[Key, list[int]] = field(default_factory=dict)  # variable -> solutions that move it
    # Units hidden only when no other unit as near can protect a disclosed value (the whole-clinic rows):
    # they come after every other candidate at the same distance. (Last of all, whatever the distance, made
    # the reader's chains through months, quarters and therapists hide nearly every other cell first.)
    reluctant: set[Key] = field(default_factory=set)

    def var(self, key: Key, value: float, lo: float = 0.0, hi: float = math.inf, count: bool = False,
            per: Key | None = None) -> Key:
        self.value[key] = float(value)
        self.lo[key], self.hi[key] = float(lo), float(hi)
        if count:
            self.counts.add(key)
        if per is not None:
            self.per[key] = per
        return key

    def unit(self, key: Key, members: list[Key], rank: int, primary: bool, size: float = 0.0) -> None:
        self.members[key] = members
        self.rank[key], self.size[key] = rank, float(size)
        for m in members:
            self.owner[m] = key
        if primary:
            self.primary.add(key)

    def relate(self, terms: Terms, below: bool = False) -> None:
        terms = {k: c for k, c in terms.items() if c}
        if terms:
            (self.below if below else self.equal).append(terms)

    def index(self) -> None:
        """Which relations each variable takes part in (equal first, then below, one numbering)."""
        self.touching = {}
        self.every = [*self.equal, *self.below]
        for i, terms in enumerate(self.every):
            for k in terms:
                self.touching.setdefault(k, []).append(i)


def close(cells: Cells, keys: Iterable[Key]) -> set[Key]:
    """The units `keys` plus every unit tied to them (a hidden row hides its rating cells)."""
    out: set[Key] = set()
    todo = list(keys)
    while todo:
        k = todo.pop()
        if k not in out:
            out.add(k)
            todo += cells.tied.get(k, [])
    return out


def hidden_vars(cells: Cells, hidden: set[Key]) -> set[Key]:
    return {v for u in hidden for v in cells.members.get(u, ())} | cells.latent


def _block(cells: Cells, unknown: set[Key], target: Key) -> tuple[list[Key], list[int]]:
    """The unknowns linked to `target` through relations (others cannot narrow it), and those relations."""
    if not cells.touching:
        cells.index()
    seen, rels, todo = {target}, set(), [target]
    every = cells.every
    while todo:
        k = todo.pop()
        for i in cells.touching.get(k, ()):
            if i not in rels:
                rels.add(i)
                for other in every[i]:
                    if other in unknown and other not in seen:
                        seen.add(other)
                        todo.append(other)
    return sorted(seen, key=repr), sorted(rels)


class Reader:
    """The reader's linear programme for one block of hidden values: the published relations with the
    shown values moved to the right-hand side, and the public bounds. One model answers for every value
    of the block (only the objective changes between solves, so HiGHS starts from the last basis)."""

    def __init__(self, cells: Cells, unknown: set[Key], target: Key) -> None:
        self.cells = cells
        self.cols, rels = _block(cells, unknown, target)
        self.at = {k: i for i, k in enumerate(self.cols)}
        n_eq = len(cells.equal)
        data: list[float] = []
        row_of: list[int] = []
        col_of: list[int] = []
        upper = np.zeros(len(rels))
        for row, i in enumerate(rels):
            for k, c in cells.every[i].items():
                j = self.at.get(k)
                if j is None:
                    upper[row] -= c * cells.value[k]
                else:
                    data.append(c)
                    row_of.append(row)
                    col_of.append(j)
        lower = np.where([i < n_eq for i in rels], upper, -highspy.kHighsInf) if rels else upper
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = len(self.cols), len(rels)
        lp.col_cost_ = np.zeros(len(self.cols))
        lp.col_lower_ = np.array([cells.lo[k] for k in self.cols])
        lp.col_upper_ = np.array([min(cells.hi[k], highspy.kHighsInf) for k in self.cols])
        lp.row_lower_, lp.row_upper_ = lower, upper
        lp.sense_ = highspy.ObjSense.kMaximize
        matrix = sparse.csc_matrix((data, (row_of, col_of)), shape=(len(rels), len(self.cols)))
        matrix.sum_duplicates()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = matrix.indptr, matrix.indices, matrix.data
        self.highs = highspy.Highs()
        self.highs.setOptionValue("output_flag", False)
        self.highs.setOptionValue("mip_max_nodes", MIP_NODES)
        self.highs.setOptionValue("threads", 1)
        self.highs.passModel(lp)

    def end(self, key: Key, sign: float) -> float:
        """The largest (`sign` 1) or smallest (-1) value of `key`, rounded inwards to a whole number."""
        j = self.at[key]
        self.highs.changeColCost(j, sign)
        self.highs.run()
        status = self.highs.getModelStatus()
        x = self.highs.getSolution().col_value[j] if status == highspy.HighsModelStatus.kOptimal else None
        self.highs.changeColCost(j, 0.0)
        if status == highspy.HighsModelStatus.kUnbounded:
            return math.inf * sign
        if x is None:  # no answer (numerical trouble): assume the reader knows the value
            return self.cells.value[key]
        tol = 1e-6 * max(1.0, abs(x))
        return math.floor(x + tol) if sign > 0 else math.ceil(x - tol)

    def disclosed(self, key: Key) -> bool:
        """Whether the reader can prove `key` a small count or pin a small group's measure (see the module
        docstring), reasoning over whole numbers: the value is safe only if a whole-number solution of
        every published relation shows it could be otherwise (0 or `min_cell` or more for a count; another
        value, and another share or mean, for a measure)."""
        cells = self.cells
        if not checked(cells, key):
            return False
        v = cells.value[key]
        if key in cells.counts:
            return not (self.witness({key: 1.0}, cells.min_cell, math.inf)
                        or self.witness({key: 1.0}, -math.inf, 0.0))
        if not (self.witness({key: 1.0}, v + 1, math.inf) or self.witness({key: 1.0}, -math.inf, v - 1)):
            return True
        count = cells.per[key]
        if count not in self.at:
            return False  # the count is shown: then `key` pinned is the ratio pinned, checked above
        # The share or mean `key / count` is pinned unless `key * n - v * count` (n the true count, 0 at
        # the true values, a whole number) can be 1 or more, or -1 or less.
        n = cells.value[count]
        return not (self.witness({key: n, count: -v}, 1.0, math.inf)
                    or self.witness({key: n, count: -v}, -math.inf, -1.0))

    def witness(self, terms: Terms, lower: float, upper: float) -> bool:
        """Whether some whole-number solution has `sum(coef * var)` between `lower` and `upper`.

        The linear programme answers first: no real solution means no whole one, and a whole-number vertex
        is a witness. Otherwise the same model, with every variable integral, goes to HiGHS's branch and
        bound, limited in nodes (deterministic, unlike a time limit); a search that ends without a solution
        counts as none, which can only hide more."""
        cells = self.cells
        # The true values never qualify, so only a solution that moves one of `terms`' variables can.
        near = sorted({i for k in terms for i in cells.moving.get(k, ())})
        for sol in (cells.solutions[i] for i in near):
            if all(k in self.at for k in sol):
                x = sum(c * sol.get(k, cells.value[k]) for k, c in terms.items())
                if lower - 1e-9 <= x <= upper + 1e-9:
                    return True
        h = self.highs
        idx = np.array([self.at[k] for k in terms], dtype=np.int32)
        h.addRow(lower, upper, len(idx), idx, np.array(list(terms.values()), dtype=np.float64))
        row = h.getNumRow() - 1
        try:
            h.run()
            status = h.getModelStatus()
            if status == highspy.HighsModelStatus.kInfeasible:
                return False
            if status == highspy.HighsModelStatus.kOptimal:
                x = np.asarray(h.getSolution().col_value)
                if np.all(np.abs(x - np.round(x)) <= 1e-7 * np.maximum(1.0, np.abs(x))):
                    return self._keep(x)
            n = len(self.cols)
            every = np.arange(n, dtype=np.int32)
            h.changeColsIntegrality(n, every, np.full(n, highspy.HighsVarType.kInteger.value, dtype=np.uint8))
            try:
                h.run()
                found = h.getInfo().primal_solution_status == 2  # a feasible whole-number solution
                if found:
                    self._keep(np.asarray(h.getSolution().col_value))
            finally:
                h.changeColsIntegrality(n, every, np.zeros(n, dtype=np.uint8))
            return bool(found)
        finally:
            h.deleteRows(1, np.array([row], dtype=np.int32))

    def _keep(self, x: np.ndarray) -> bool:
        """Remember a whole-number solution for later checks (see `Cells.solutions`)."""
        value = self.cells.value
        diff = {k: float(round(x[j])) for k, j in self.at.items() if round(x[j]) != value[k]}
        if diff:
            for k in diff:
                self.cells.moving.setdefault(k, []).append(len(self.cells.solutions))
            self.cells.solutions.append(diff)
        return True


def bounds(cells: Cells, unknown: set[Key], target: Key) -> tuple[float, float]:
    """The smallest and largest whole value of `target` that the reader cannot rule out, given that the
    `unknown` variables are hidden and every other one is known."""
    reader = Reader(cells, unknown, target)
    return reader.end(target, -1.0), reader.end(target, 1.0)


def disclosed(cells: Cells, unknown: set[Key], target: Key) -> bool:
    return Reader(cells, unknown, target).disclosed(target)


def checked(cells: Cells, key: Key) -> bool:
    """Whether `key`, when hidden, needs protecting: a count of 1 to `min_cell - 1`, or a measure (ruptured
    sessions, a rating sum) of such a count. Any other value's true value is 0 or `min_cell` or more, which
    keeps its range from lying inside 1 to `min_cell - 1`; and a large group's measure describes no small
    group. Values fixed by public bounds alone (an unlisted row's 0) have nothing to protect."""
    if cells.lo[key] == cells.hi[key]:
        return False
    count = key if key in cells.counts else cells.per.get(key)
    return count is not None and 1 <= cells.value[count] < cells.min_cell


def _order(cells: Cells, k: Key) -> tuple[bool, str]:
    return (k not in cells.counts, repr(k))


def _candidates(cells: Cells, hidden: set[Key], unknown: set[Key], target: Key) -> list[Key]:
    """Units whose hiding could widen `target`'s range: owners of known variables in the relations of its
    block, best first: nearest to `target` (relation hops through hidden values), `reluctant` units after
    the others as near, lower rank, then the smallest (secondary suppression hides the next smallest cells, so that as little as possible is lost;
    `_best` moves on to a larger one when a small one cannot undo the disclosure)."""
    hops: dict[int, int] = {}
    seen, layer, depth = {target}, [target], 0
    while layer:
        nxt = []
        for k in layer:
            for i in cells.touching.get(k, ()):
                if i not in hops:
                    hops[i] = depth
                    for other in cells.every[i]:
                        if other in unknown and other not in seen:
                            seen.add(other)
                            nxt.append(other)
        layer, depth = nxt, depth + 1
    near: dict[Key, int] = {}
    for i, d in hops.items():
        for k in cells.every[i]:
            u = cells.owner.get(k)
            if u is not None and k not in unknown and u not in hidden and u not in cells.fixed:
                near[u] = min(near.get(u, d), d)
    return sorted(near, key=lambda u: (near[u], u in cells.reluctant, cells.rank[u], cells.size[u], repr(u)))


def _best(cells: Cells, unknown: set[Key], target: Key, options: list[Key]) -> Key:
    """The first option that undoes `target`'s disclosure on its own, else the one that widens its range
    the most (in a table of two or more dimensions one complement rarely suffices)."""
    best, widest = options[0], -math.inf
    for u in options:
        reader = Reader(cells, unknown | hidden_vars(cells, close(cells, [u])), target)
        if not reader.disclosed(target):
            return u
        width = reader.end(target, 1.0) - reader.end(target, -1.0)
        if width > widest:
            best, widest = u, width
    return best


def violations(cells: Cells, hidden: set[Key]) -> list[Key]:
    """Every hidden variable the reader can pin or prove small, given `hidden` units (for tests and audits)."""
    unknown = hidden_vars(cells, hidden)
    keys = sorted((k for k in unknown - cells.latent if checked(cells, k)), key=lambda k: _order(cells, k))
    return [k for k in keys if disclosed(cells, unknown, k)]


def protect(cells: Cells) -> set[Key]:
    """Primary suppression plus complementary units, until no hidden variable is disclosed.

    A disclosed variable that no hiding can protect (its block holds nothing but fixed units, e.g. the
    header of a clinic with fewer than `min_cell` sessions in all) is left as it is: the header is
    published anyway.
    """
    cells.index()
    hidden = close(cells, cells.primary - cells.fixed)
    safe: set[Key] = set()
    stuck: set[Key] = set()
    while True:
        unknown = hidden_vars(cells, hidden)
        target = None
        todo = sorted((k for k in unknown - cells.latent - safe - stuck if checked(cells, k)),
                      key=lambda k: _order(cells, k))
        readers: dict[Key, Reader] = {}
        for k in todo:
            reader = readers.get(k)
            if reader is None:
                reader = Reader(cells, unknown, k)
                readers.update(dict.fromkeys(reader.cols, reader))
            if reader.disclosed(k):
                target = k
                break
            safe.add(k)
        if target is None:
            return hidden
        options = _candidates(cells, hidden, unknown, target)
        if not options:
            stuck.add(target)
            continue
        hidden |= close(cells, [_best(cells, unknown, target, options[:TRIES])])
