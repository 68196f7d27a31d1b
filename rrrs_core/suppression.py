"""Complementary (secondary) suppression: which further cells to hide so that no hidden cell can be worked
out from the published ones.

A table's cells are tied by linear relations a reader can use (components sum to a total; a shown mean times
its count gives a weighted sum). `protect` starts from the primarily suppressed cells and hides more, the
cheapest first, until linear algebra (`derivable`) shows that no hidden value is fixed by those relations.
Generic over cell keys; `rrrs_core.queries.clinic` builds the cells and relations of the clinic tables.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

import numpy as np

Key = tuple[Hashable, ...]


@dataclass
class Cells:
    """Published count cells and the linear relations between them that a reader can exploit.

    Each relation maps cells to coefficients and holds as `sum(coef * value) == constant`, the constant
    being known to the reader (it is made of shown cells). A relation with a `carrier` cell is only
    published while that cell is shown (the weighted sum behind a shown mean). `need` is how many of a
    relation's cells must be hidden, if any are, for the cheap first pass of `protect`: 2 for a sum, 3
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
    touching: dict[Key, list[int]] = field(default_factory=dict)  # relation indexes by cell (for `protect`)

    def add(self, key: Key, value: int, rank: int, primary: bool) -> None:
        self.value[key] = int(value)
        self.rank[key] = rank
        if primary:
            self.primary.add(key)

    def relate(self, terms: dict[Key, float], carrier: Key | None = None, need: int = 2) -> None:
        terms = {k: c for k, c in terms.items() if c}
        if len(terms) > 1:
            self.relations.append((terms, carrier, need))


def close(cells: Cells, keys: Iterable[Key]) -> set[Key]:
    out: set[Key] = set()
    todo = list(keys)
    while todo:
        k = todo.pop()
        if k not in out:
            out.add(k)
            todo += cells.tied.get(k, [])
    return out


def derivable(cells: Cells, hidden: set[Key], focus: Key | None = None) -> list[set[Key]]:
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


def _knock_on(cells: Cells, hidden: set[Key], key: Key) -> int:
    """How many relations that are safe now (nothing hidden) hiding `key` would expose, each of which then
    needs a complement of its own: the cascade a choice sets off."""
    extra = close(cells, [key])
    count = 0
    for i in {i for k in extra for i in cells.touching.get(k, ())}:
        terms, carrier, need = cells.relations[i]
        if (carrier is None or carrier not in extra | hidden) and not any(k in hidden for k in terms):
            count += 0 < sum(k in extra for k in terms) < need
    return count


def _preferred(cells: Cells, keys: Iterable[Key], hidden: set[Key]) -> list[Key]:
    """Cells that could be hidden to protect others, best first: lower rank (components before totals),
    fewest knock-on complements, non-zero before zero, then the smallest value."""
    free = {k for k in keys if k not in hidden and k not in cells.fixed}
    return sorted(free, key=lambda k: (cells.rank[k], _knock_on(cells, hidden, k), cells.value[k] == 0,
                                       cells.value[k], repr(k)))


def _protects(cells: Cells, hidden: set[Key], cell: Key, target: Key) -> bool:
    """Whether hiding `cell` as well leaves `target` underivable."""
    return not any(target in found for found in derivable(cells, hidden | close(cells, [cell]), target))


def protect(cells: Cells) -> set[Key]:
    """Primary suppression plus complementary cells, until no hidden value is derivable (except one that
    equals a header total, which no hiding in the table can protect).

    First the plain rule, cheaply, to a fixed point: a published relation with exactly one hidden cell
    gives that cell away, so hide the best other cell of the relation too (a row with a shown mean needs
    three hidden counts, else the mean would pin down two). Then the exact check (`derivable`) catches
    what combinations of relations still give away (2-D tables, months against quarters): per block,
    hide the best cell next to a derivable one that makes it underivable, and repeat.
    """
    cells.touching = {}
    for i, (terms, carrier, _) in enumerate(cells.relations):
        for k in [*terms, *([carrier] if carrier else [])]:
            cells.touching.setdefault(k, []).append(i)
    hidden = close(cells, cells.primary - cells.fixed)
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
                    hidden |= close(cells, candidates[:1])
                    changed = True
                else:
                    stuck.add(inside[0])
        blocks = [sorted(found - stuck, key=repr) for found in derivable(cells, hidden)]
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
            hidden |= close(cells, [pick])
