"""The Clinic page's self-report table (issue 18) against a reader who solves it, as issue 14's attacker
does for the coded tables (tests/security/test_qi_suppression.py).

Written independently of `rrrs_core.suppression`: the attacker reads only what the table publishes in both
period views (sessions with a patient SRS per period and treatment, the share below the cutoff), writes every
relation between the figures down (treatments add up to 'All treatments', months to their quarter, below-cutoff
sessions = share x sessions, a listed row has at least one session, a part never exceeds its whole) and solves
the integer programme (SciPy's `milp`) for each hidden value's smallest and largest possible value.

Disclosed, the criterion asserted: a hidden count whose every possible value lies in 1..4, or a hidden group of
1..4 sessions whose below-cutoff sessions (or their share) have one possible value.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from rrrs_core.queries import selfreport_clinic as q
from rrrs_core.queries.clinic import SUPPRESSED as H
from rrrs_core.queries.clinic_model import ALL_TREATMENTS, MIN_CELL, PERIODS
from tests.builders import add_dyad, add_selfreport, add_therapist, srs


class Attacker:
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.known: dict[tuple, float] = {}
        self.lo: dict[tuple, float] = {}
        self.equal: list[dict[tuple, float]] = []
        self.below: list[dict[tuple, float]] = []
        rows: dict[str, set[tuple]] = {}
        for kind in PERIODS:
            table = q.below_cutoff(con, kind)
            rows[kind] = set()
            for r in table.itertuples():
                row = (kind, pd.Timestamp(r.period_start), r.treatment)
                rows[kind].add(row)
                n, b = ("n", *row), ("b", *row)
                if r.sessions == H:
                    self.lo[n], self.lo[b] = 1, 0
                else:
                    self.known[n] = float(r.sessions)
                    if pd.isna(r.below_share):
                        self.lo[b] = 0
                    else:
                        self.known[b] = round(float(r.below_share) * self.known[n])
                self.below.append({b: 1.0, n: -1.0})
            for p in {x[1] for x in rows[kind]}:
                parts = [x for x in rows[kind] if x[1] == p and x[2] != ALL_TREATMENTS]
                for m in ("n", "b"):
                    self.equal.append({**{(m, *x): 1.0 for x in parts}, (m, kind, p, ALL_TREATMENTS): -1.0})
        for qrow in rows["quarter"]:
            months = [x for x in rows["month"] if x[2] == qrow[2]
                      and x[1].to_period("Q").start_time == qrow[1]]
            for m in ("n", "b"):
                self.equal.append({**{(m, *x): 1.0 for x in months}, (m, *qrow): -1.0})
        self.unknown = sorted(self.lo, key=repr)

    def extent(self, objective: dict[tuple, float]) -> tuple[float, float]:
        at = {k: i for i, k in enumerate(self.unknown)}
        data, ri, ci, lower, upper = [], [], [], [], []
        for rels, eq in ((self.equal, True), (self.below, False)):
            for rel in rels:
                const = sum(c * self.known[k] for k, c in rel.items() if k not in at)
                terms = {at[k]: c for k, c in rel.items() if k in at}
                if not terms:
                    continue
                for j, c in terms.items():
                    data.append(c)
                    ri.append(len(upper))
                    ci.append(j)
                upper.append(-const)
                lower.append(-const if eq else -np.inf)
        cons = [LinearConstraint(sparse.csr_array((data, (ri, ci)), shape=(len(upper), len(at))), lower, upper)]
        bounds = Bounds([self.lo[k] for k in self.unknown], [np.inf] * len(self.unknown))
        cost = np.zeros(len(at))
        for k, c in objective.items():
            cost[at[k]] = c
        ends = []
        for sign in (1.0, -1.0):
            res = milp(sign * cost, constraints=cons, integrality=np.ones(len(at)), bounds=bounds)
            assert res.status in (0, 3), res.message
            ends.append(sign * -math.inf if res.status == 3 else round(float(cost @ res.x), 6))
        return ends[0], ends[1]


def truth(con: duckdb.DuckDBPyConnection) -> dict[tuple, float]:
    out = {}
    for kind in PERIODS:
        for r in q._raw(con, kind).itertuples():
            row = (kind, pd.Timestamp(r.period_start), r.treatment)
            out[("n", *row)], out[("b", *row)] = r.n, r.n_below
    return out


def disclosed(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    attacker, true = Attacker(con), truth(con)
    found = []
    for name in attacker.unknown:
        count = ("n", *name[1:])
        if not 1 <= true[count] < MIN_CELL:
            continue
        if name[0] == "n":
            lo, hi = attacker.extent({name: 1.0})
            if lo >= 1 and hi < MIN_CELL:
                found.append((name, lo, hi))
            continue
        lo, hi = attacker.extent({name: 1.0})
        ratio = true[name] / true[count]
        if lo == hi or (count in attacker.lo and attacker.extent({name: 1.0, count: -ratio}) == (0, 0)):
            found.append((name, lo, hi))
    return found


def forms(con: duckdb.DuckDBPyConnection, dyad: str, treatment: str, days: list[dt.date], below: int = 0) -> None:
    add_therapist(con, f"T-{dyad}")
    add_dyad(con, dyad, f"T-{dyad}", f"PAT-{dyad}", treatment)
    for i, day in enumerate(days):
        add_selfreport(con, dyad, i + 1, "srs", srs(30 if i < below else 38), completed_on=day)


def march(n: int) -> list[dt.date]:
    return [dt.date(2026, 3, 1 + i % 28) for i in range(n)]


def month_differencing(con: duckdb.DuckDBPyConnection) -> None:
    """CBT 20, DBT 1, EMDR 1: the total 22 gives DBT + EMDR = 2."""
    forms(con, "D1", "CBT", march(20), below=18)
    forms(con, "D2", "DBT", march(1))
    forms(con, "D3", "EMDR", march(1))


def share_differencing(con: duckdb.DuckDBPyConnection) -> None:
    """CBT 20 with 18 below the cutoff; DBT 3 and EMDR 6 with none: the total's share gives the hidden 0%."""
    forms(con, "D1", "CBT", march(20), below=18)
    forms(con, "D2", "DBT", march(3))
    forms(con, "D3", "EMDR", march(6))


def month_against_quarter(con: duckdb.DuckDBPyConnection) -> None:
    """Q1: X has 6, 2, 6 forms all below the cutoff; Y 6, 7, 6 none: quarter shares 100% and 0%."""
    for month in (1, 2, 3):
        x, y = (2, 7) if month == 2 else (6, 6)
        forms(con, f"X{month}", "X", [dt.date(2026, month, 1 + d) for d in range(x)], below=x)
        forms(con, f"Y{month}", "Y", [dt.date(2026, month, 1 + d) for d in range(y)])


ATTACKS = {"month table: CBT=20, DBT=*, EMDR=*, All=22": month_differencing,
           "shares: the total's share gives the hidden rows' 0%": share_differencing,
           "month against quarter: 100% / 0% quarter shares": month_against_quarter}


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_attacker_pins_no_hidden_cell_below_5(con: duckdb.DuckDBPyConnection, attack: str) -> None:
    ATTACKS[attack](con)
    assert (q.below_cutoff(con, "month").sessions == H).any(), "nothing to attack"
    assert disclosed(con) == []


def test_the_attacker_finds_the_leak_without_protection(con: duckdb.DuckDBPyConnection,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Primary suppression only: the same attacker pins DBT and EMDR at one form each (the check can fail)."""
    from rrrs_core import suppression

    month_differencing(con)
    monkeypatch.setattr(suppression, "protect", lambda cells: suppression.close(cells, cells.primary))
    found = {name: (lo, hi) for name, lo, hi in disclosed(con)}
    march_ = pd.Timestamp("2026-03-01")
    assert found[("n", "month", march_, "DBT")] == (1, 1) and found[("n", "month", march_, "EMDR")] == (1, 1)


def test_the_whole_clinic_row_stays(con: duckdb.DuckDBPyConnection) -> None:
    month_differencing(con)
    rows = q.below_cutoff(con, "month").set_index("treatment")
    assert (rows.loc["DBT", "sessions"], rows.loc["EMDR", "sessions"], rows.loc["CBT", "sessions"]) == (H, H, H)
    assert rows.loc[ALL_TREATMENTS, "sessions"] == "22"
    assert rows.loc[ALL_TREATMENTS, "below_share"] == pytest.approx(18 / 22)
    assert pd.isna(rows.loc["CBT", "below_share"])
