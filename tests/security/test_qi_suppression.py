"""Issue 14, "QI suppression can be undone": an attacker solves the Clinic page's published tables.

The attacker here is written independently of `rrrs_core.suppression`: it reads only what the Clinic page
and its PDF publish (both period views of the trends and contribution tables, the therapist table and the
header figures), turns every shown figure and every relation between figures into an integer programme
(SciPy's `milp`), and for each hidden value asks for its smallest and largest possible value.

Relations it uses: each period's treatments sum to 'All treatments' and a quarter's months to the quarter
(sessions, rated sessions, sessions with ruptures = share x sessions, resolution sum = mean x rated,
contribution-rated sessions, contribution sum = mean x rated, and sessions rated 4-5 = share 4-5 x rated);
the period totals sum to the header's dated sessions and the therapists to its coded sessions; the
therapists' ruptured sessions, rated sessions, rating sums and sessions rated 4-5 (the last three never
shown) sum to the months' (plus the undated sessions'); a listed row has at least one session (the
contribution table lists every row, 0 rated included); a part never exceeds its whole; ratings run 1-5, so
h of c rated sessions rated 4-5 leave their sum between c + 3h and 3c + 2h.

"Pinned below 5", the criterion asserted:
- a hidden count (sessions, rated sessions, contribution-rated sessions, sessions rated 4-5) whose whole
  feasible range lies in 1..4: the attacker knows a small group exists and its size up to 4 (this includes
  knowing it exactly);
- a hidden measure (sessions with ruptures, resolution sum, contribution sum) of a group that truly has
  1..4 sessions, when the attacker pins either the measure or its share / mean (the measure minus
  ratio x count is 0 in every solution: "the hidden rows have 0% ruptures", a quarter's 100%).
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from rrrs_core import pseudonym
from rrrs_core.queries import clinic as q
from tests.builders import add_dyad, add_session, add_therapist, globals_

H = q.SUPPRESSED
MIN = q.MIN_CELL
MEASURES = ("n", "ruptured", "rated", "res_sum", "tc", "tc_sum", "tc_high")
PER = {"ruptured": "n", "res_sum": "rated", "tc_sum": "tc"}


class Attacker:
    """The reader's integer programme over one clinic's published tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.known: dict[tuple, float] = {}
        self.lo: dict[tuple, float] = {}
        self.hi: dict[tuple, float] = {}
        self.equal: list[dict[tuple, float]] = []
        self.below: list[dict[tuple, float]] = []
        head = q.overview(con)
        periods: dict[str, list] = {}
        present: set[tuple] = set()
        for kind in q.PERIODS:
            tr, ct = q.trends(con, period=kind), q.contribution_table(con, period=kind)
            assert not {c for c in ct.columns if c.startswith("rating_")}, "the model below publishes no rating counts"
            periods[kind] = sorted(tr.period_start.unique())
            rated = {(r.period_start, r.treatment): r for r in ct.itertuples()}
            for r in tr.itertuples():
                row = (kind, r.period_start, r.treatment)
                present.add(row)
                c = rated.get((r.period_start, r.treatment))
                self._row(row, r, c)
        for kind in q.PERIODS:
            for p in periods[kind]:
                rows = [x for x in present if x[:2] == (kind, p)]
                total = (kind, p, q.ALL_TREATMENTS)
                for m in MEASURES:
                    self.equal.append({**{(m, *x): 1.0 for x in rows if x != total}, (m, *total): -1.0})
            self.equal.append({**{("n", kind, p, q.ALL_TREATMENTS): 1.0 for p in periods[kind]},
                               ("dated",): -1.0})
        for qp in periods["quarter"]:
            months = [p for p in periods["month"] if pd.Timestamp(p).to_period("Q").start_time == qp]
            for t in {x[2] for x in present if x[:2] == ("quarter", qp)}:
                for m in MEASURES:
                    self.equal.append({**{(m, "month", p, t): 1.0 for p in months if ("month", p, t) in present},
                                       (m, "quarter", qp, t): -1.0})
        self.known[("dated",)] = head["n_sessions"] - head["n_undated"]
        self.known[("all",)] = head["n_sessions"]
        ther = q.therapist_table(con)
        for i, r in enumerate(ther.itertuples()):
            n, rup = ("tn", i), ("truptured", i)
            self._count(n, r.sessions, lo=1)
            self._product(rup, r.rupture_share, n)
            self.below.append({rup: 1.0, n: -1.0})
        self.equal.append({**{("tn", i): 1.0 for i in range(len(ther))}, ("all",): -1.0})
        self._free(("undated ruptured",), 0, head["n_undated"])
        self.equal.append({**{("truptured", i): 1.0 for i in range(len(ther))},
                           **{("ruptured", "month", p, q.ALL_TREATMENTS): -1.0 for p in periods["month"]},
                           ("undated ruptured",): -1.0})
        for mean, count, total in (("mean_resolution", "rated", "res_sum"), ("mean_contribution", "tc", "tc_sum")):
            self._therapist_means(ther, mean, count, total, periods["month"], head["n_undated"])
        for i in range(len(ther)):  # each therapist's sessions rated 4-5, bounded by their rated sessions and sum
            self._free(("ttc_high", i), 0)
            self._high_bounds(("ttc", i), ("ttc_sum", i), ("ttc_high", i))
        self._free(("undated tc_high",), 0, head["n_undated"])
        self._high_bounds(("undated tc",), ("undated tc_sum",), ("undated tc_high",))
        self.equal.append({**{("ttc_high", i): 1.0 for i in range(len(ther))}, ("undated tc_high",): -1.0,
                           **{("tc_high", "month", p, q.ALL_TREATMENTS): -1.0 for p in periods["month"]}})
        self.unknown = sorted(self.lo, key=repr)
        self.solutions: list[np.ndarray] = []

    def _therapist_means(self, ther: pd.DataFrame, mean: str, count: str, total: str, months: list,
                         n_undated: int) -> None:
        """The therapist table's means, shown without their counts: a shown mean is of 5 or more sessions
        and a fraction p / q (q at most the therapist's sessions), so q x rating sum = p x rated; a blank
        mean beside shown sessions is of 0-4 rated sessions. The therapists' rated sessions and rating sums
        add up to the months' totals plus the undated sessions'."""
        for i, r in enumerate(ther.itertuples()):
            n, m = self.known.get(("tn", i)), getattr(r, mean)
            cnt, tot = (f"t{count}", i), (f"t{total}", i)
            self._free(cnt, 0, n if n is not None else math.inf)
            self._free(tot, 0)
            self.below += [{cnt: 1.0, tot: -1.0}, {tot: 1.0, cnt: -5.0}, {cnt: 1.0, ("tn", i): -1.0}]
            if m is not None and not pd.isna(m):
                frac = Fraction(float(m)).limit_denominator(int(n))
                self.lo[cnt] = MIN
                self.equal.append({tot: float(frac.denominator), cnt: -float(frac.numerator)})
            elif n is not None:
                self.hi[cnt] = MIN - 1
        extra_n, extra_sum = (f"undated {count}",), (f"undated {total}",)
        self._free(extra_n, 0, n_undated)
        self._free(extra_sum, 0, 5 * n_undated)
        for part, whole, extra in ((f"t{count}", count, extra_n), (f"t{total}", total, extra_sum)):
            self.equal.append({**{(part, i): 1.0 for i in range(len(ther))}, extra: -1.0,
                               **{(whole, "month", p, q.ALL_TREATMENTS): -1.0 for p in months}})

    def _high_bounds(self, count: tuple, total: tuple, high: tuple) -> None:
        """h of c rated sessions are rated 4-5 (4 or 5 each), the others 1-3: c + 3h <= sum <= 3c + 2h."""
        self.below += [{high: 1.0, count: -1.0}, {count: 1.0, high: 3.0, total: -1.0},
                       {total: 1.0, count: -3.0, high: -2.0}]

    def _free(self, name: tuple, lo: float, hi: float = math.inf) -> None:
        self.lo[name], self.hi[name] = lo, hi

    def _count(self, name: tuple, shown: object, lo: float = 0) -> None:
        if isinstance(shown, str) and shown == H or shown is None or pd.isna(shown):
            self._free(name, lo)
        else:
            self.known[name] = float(shown)

    def _product(self, name: tuple, rate: object, count: tuple) -> None:
        """name = rate x count, known when both are shown; a share or mean is only shown with its count."""
        if rate is None or pd.isna(rate):
            self._free(name, 0)
        else:
            self.known[name] = round(float(rate) * self.known[count])

    def _row(self, row: tuple, r: object, c: object | None) -> None:
        v = {m: (m, *row) for m in MEASURES}
        self._count(v["n"], r.sessions, lo=1)  # type: ignore[attr-defined]
        self._count(v["rated"], r.rated_sessions)  # type: ignore[attr-defined]
        self._product(v["ruptured"], r.rupture_share, v["n"])  # type: ignore[attr-defined]
        if v["rated"] in self.known and self.known[v["rated"]] == 0:
            self.known[v["res_sum"]] = 0
        else:
            self._product(v["res_sum"], r.mean_resolution, v["rated"])  # type: ignore[attr-defined]
        if c is None:  # not listed in the contribution table: no contribution ratings
            for m in ("tc", "tc_sum", "tc_high"):
                self.known[v[m]] = 0
        else:
            self._count(v["tc"], c.rated_sessions)  # type: ignore[attr-defined]  # rows with 0 ratings are listed
            if self.known.get(v["tc"]) == 0:
                self.known[v["tc_sum"]] = self.known[v["tc_high"]] = 0
            else:
                self._product(v["tc_sum"], c.mean_contribution, v["tc"])  # type: ignore[attr-defined]
                self._product(v["tc_high"], c.high_share, v["tc"])  # type: ignore[attr-defined]
        for part in ("ruptured", "rated", "tc"):
            self.below.append({v[part]: 1.0, v["n"]: -1.0})
        for count, total in (("rated", "res_sum"), ("tc", "tc_sum")):
            self.below += [{v[count]: 1.0, v[total]: -1.0}, {v[total]: 1.0, v[count]: -5.0}]
        self._high_bounds(v["tc"], v["tc_sum"], v["tc_high"])

    def range(self, name: tuple) -> tuple[float, float]:
        """Smallest and largest integer value of a hidden `name` consistent with everything published."""
        lo, hi = self.extent({name: 1.0})
        return lo, hi

    def seen(self, objective: dict[tuple, float], outside: tuple[float, float]) -> bool:
        """Whether an integer solution found so far puts the function outside `outside` (a shortcut: any
        solution of the programme is one the reader cannot rule out)."""
        at = self._model()[2]
        return any(not outside[0] - 1e-6 <= sum(c * x[at[k]] for k, c in objective.items()) <= outside[1] + 1e-6
                   for x in self.solutions)

    def _model(self) -> tuple[list[LinearConstraint], Bounds, dict[tuple, int]]:
        """Every relation with the shown values moved to the right-hand side (built once per attacker)."""
        if getattr(self, "_built", None) is None:
            at = {k: i for i, k in enumerate(self.unknown)}
            data, row_of, col_of, lower, upper = [], [], [], [], []
            for rels, is_eq in ((self.equal, True), (self.below, False)):
                for rel in rels:
                    const, terms = 0.0, {}
                    for k, coef in rel.items():
                        if k in at:
                            terms[at[k]] = terms.get(at[k], 0.0) + coef
                        else:
                            const += coef * self.known[k]
                    terms = {j: c for j, c in terms.items() if c}
                    if terms:
                        for j, c in terms.items():
                            data.append(c)
                            row_of.append(len(upper))
                            col_of.append(j)
                        upper.append(-const)
                        lower.append(-const if is_eq else -np.inf)
            matrix = sparse.csr_array((data, (row_of, col_of)), shape=(len(upper), len(at)))
            bounds = Bounds([self.lo[k] for k in self.unknown], [self.hi[k] for k in self.unknown])
            self._built = ([LinearConstraint(matrix, lower, upper)], bounds, at)
        return self._built

    def extent(self, objective: dict[tuple, float]) -> tuple[float, float]:
        """Smallest and largest value of a linear function of hidden values, over all integer solutions."""
        cons, bounds, at = self._model()
        cost = np.zeros(len(at))
        for k, coef in objective.items():
            cost[at[k]] = coef
        ends = []
        for sign in (1.0, -1.0):
            res = milp(sign * cost, constraints=cons, integrality=np.ones(len(at)), bounds=bounds)
            assert res.status in (0, 3), res.message  # 3: unbounded
            if res.status == 0:
                self.solutions.append(np.round(res.x))
            ends.append(sign * -math.inf if res.status == 3 else round(float(cost @ res.x), 6))
        return ends[0], ends[1]


def true_values(con: duckdb.DuckDBPyConnection) -> dict[tuple, float]:
    """Each row's and therapist's true counts and measures, from the sessions rather than the tables."""
    out: dict[tuple, float] = {}
    for kind in q.PERIODS:
        rows = con.execute(
            f"""SELECT date_trunc('{kind}', session_date)::TIMESTAMP AS p, coalesce(treatment, ?) AS t,
                count(*), count(*) FILTER (WHERE rupture_segments > 0), count(overall_resolution),
                coalesce(sum(overall_resolution), 0), count(therapist_contribution),
                coalesce(sum(therapist_contribution), 0), count(*) FILTER (WHERE therapist_contribution >= 4)
            FROM v_session_metrics WHERE session_date IS NOT NULL
            GROUP BY GROUPING SETS ((p, t), (p))""", [q.UNSPECIFIED]).fetchall()
        for p, t, *values in rows:
            row = (kind, pd.Timestamp(p), t if t is not None else q.ALL_TREATMENTS)
            out |= {(m, *row): v for m, v in zip(MEASURES, values, strict=True)}
    ther = con.execute(  # the table's order (by pseudonym), with the true counts behind it
        f"""WITH {pseudonym.KEY_CTE}
        SELECT {pseudonym.sql('therapist_id')} AS name, count(*), count(*) FILTER (WHERE rupture_segments > 0)
        FROM v_session_metrics CROSS JOIN pseudonym_key GROUP BY ALL ORDER BY name""",
        pseudonym.params(con)).fetchall()
    for i, (_, n, ruptured) in enumerate(ther):
        out[("tn", i)], out[("truptured", i)] = n, ruptured
    return out


def pinned_below_5(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Every hidden value the attacker pins below 5 (see the module docstring), with its range."""
    attacker, truth = Attacker(con), true_values(con)
    found = []
    for name in attacker.unknown:
        kind = name[0]
        if kind.startswith("undated") or kind in ("trated", "tres_sum", "ttc", "ttc_sum", "ttc_high"):
            continue
        count = (PER[kind], *name[1:]) if kind in PER else ("tn", name[1]) if kind == "truptured" else name
        if not 1 <= truth[count] < MIN:
            continue  # the truth is a solution: a range holding 0 or 5+ is not inside 1..4
        if count != name:
            ratio = truth[name] / truth[count]
            if not attacker.seen({name: 1.0}, (truth[name], truth[name])):
                lo, hi = attacker.range(name)
                if lo == hi:
                    found.append((name, lo, hi))
                    continue
            # the share or mean of a hidden small group, its size unknown
            if (count in attacker.lo and not attacker.seen({name: 1.0, count: -ratio}, (0, 0))
                    and attacker.extent({name: 1.0, count: -ratio}) == (0, 0)):
                found.append((name, "ratio", ratio))
            continue
        if attacker.seen({name: 1.0}, (1, MIN - 1)):
            continue
        lo, hi = attacker.range(name)
        if lo >= 1 and hi < MIN:
            found.append((name, lo, hi))
    return found


# --- fixtures: the issue's attacks, each in its smallest form --------------------------------------------


def dyad_sessions(con: duckdb.DuckDBPyConnection, dyad: str, therapist: str, treatment: str,
                  dates: list[dt.date], ruptured: int = 0, tc: int = 1) -> None:
    add_therapist(con, therapist)
    add_dyad(con, dyad, therapist, f"PAT-{dyad}", treatment)
    for i, day in enumerate(dates):
        marks = [(1, "denial", "check")] if i < ruptured else []
        add_session(con, dyad, i + 1, marks, globals_(r=3, tc=tc), session_date=day)


def march(n: int, start: int = 1) -> list[dt.date]:
    return [dt.date(2026, 3, start + i % 28) for i in range(n)]


def month_differencing(con: duckdb.DuckDBPyConnection) -> None:
    """The issue's month table: CBT=20, DBT=*, EMDR=*, All=22 (one session each in DBT and EMDR)."""
    dyad_sessions(con, "D1", "A", "CBT", march(20), ruptured=18)
    dyad_sessions(con, "D2", "B", "DBT", march(1))
    dyad_sessions(con, "D3", "C", "EMDR", march(1))


def therapist_differencing(con: duckdb.DuckDBPyConnection) -> None:
    """The therapist table against the header's coded sessions: 20 + 1 + 1 = 22, all in one treatment,
    over two months, so the period tables hold nothing small."""
    dyad_sessions(con, "D1", "A", "CBT", march(20), ruptured=10)
    dyad_sessions(con, "D2", "B", "CBT", [dt.date(2026, 3, 3)])
    dyad_sessions(con, "D3", "C", "CBT", [dt.date(2026, 4, 3)])
    dyad_sessions(con, "D4", "A", "CBT", [dt.date(2026, 4, d) for d in range(4, 14)])


def share_differencing(con: duckdb.DuckDBPyConnection) -> None:
    """Shares: CBT 20 sessions with 18 ruptures; DBT 3 and EMDR 6 without any. The total's share
    (18 / 29) shows the hidden rows have 0% ruptures even when their sizes stay unknown."""
    dyad_sessions(con, "D1", "A", "CBT", march(20), ruptured=18)
    dyad_sessions(con, "D2", "B", "DBT", march(3))
    dyad_sessions(con, "D3", "C", "EMDR", march(6))


def month_against_quarter(con: duckdb.DuckDBPyConnection) -> None:
    """Q1: X has 6, 2, 6 sessions (all with ruptures: quarter share 100%), Y 6, 7, 6 (none: 0%). February's
    total share then gives February's X count."""
    for month in (1, 2, 3):
        x, y = (2, 7) if month == 2 else (6, 6)
        dyad_sessions(con, f"X{month}", "A", "X", [dt.date(2026, month, 1 + d) for d in range(x)], ruptured=x)
        dyad_sessions(con, f"Y{month}", "B", "Y", [dt.date(2026, month, 1 + d) for d in range(y)])


def quarter_share_100(con: duckdb.DuckDBPyConnection) -> None:
    """Q1: X has 6, 2, 6 sessions, all with ruptures; Y 6, 7, 6 with 3 ruptures a month; Z 10 a month. If Q1's X row
    (100%) stays shown while February's X is hidden, February's X share is 100% whatever its size."""
    for month in (1, 2, 3):
        x, y = (2, 7) if month == 2 else (6, 6)
        dyad_sessions(con, f"X{month}", "A", "X", [dt.date(2026, month, 1 + d) for d in range(x)], ruptured=x)
        dyad_sessions(con, f"Y{month}", "B", "Y", [dt.date(2026, month, 1 + d) for d in range(y)], ruptured=3)
        dyad_sessions(con, f"Z{month}", "C", "Z", [dt.date(2026, month, 1 + d) for d in range(10)], ruptured=5)


ATTACKS = {
    "month table: CBT=20, DBT=*, EMDR=*, All=22": month_differencing,
    "therapist table against the header's coded sessions": therapist_differencing,
    "shares: the total's rupture share gives the hidden rows' 0%": share_differencing,
    "month against quarter: 100% / 0% quarter shares and the month totals": month_against_quarter,
    "month against quarter: a quarter's 100% share pins a hidden month's share": quarter_share_100,
}


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    q._MEMO.clear()


@pytest.mark.parametrize("attack", list(ATTACKS), ids=list(ATTACKS))
def test_attacker_pins_no_hidden_cell_below_5(con: duckdb.DuckDBPyConnection, attack: str) -> None:
    """Each of the issue's reconstructions, solved by the attacker over both period views, both tables,
    the therapist table and the header together, pins nothing."""
    ATTACKS[attack](con)
    trends = q.trends(con, period="month")
    assert (trends.sessions == H).any() or (q.therapist_table(con).sessions == H).any(), "nothing to attack"
    assert pinned_below_5(con) == []


def test_the_issue_example_is_reconciled_by_hiding_more(con: duckdb.DuckDBPyConnection) -> None:
    """CBT=20, DBT=1, EMDR=1: DBT and EMDR stay hidden, and so does CBT (the complement); the total stays."""
    month_differencing(con)
    rows = q.trends(con, period="month").set_index("treatment")
    assert (rows.loc["DBT", "sessions"], rows.loc["EMDR", "sessions"]) == (H, H)
    assert rows.loc["CBT", "sessions"] == H
    assert rows.loc[q.ALL_TREATMENTS, "sessions"] == "22"
    assert q.overview(con)["n_sessions"] == 22  # the header's clinic total is never hidden


def test_the_attacker_finds_the_leak_without_protection(con: duckdb.DuckDBPyConnection,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """With primary suppression only, the same attacker pins DBT and EMDR at exactly 1 session: the check
    can fail."""
    from rrrs_core import suppression

    month_differencing(con)
    monkeypatch.setattr(suppression, "protect", lambda cells: suppression.close(cells, cells.primary))
    found = {name: (lo, hi) for name, lo, hi in pinned_below_5(con)}
    feb = pd.Timestamp("2026-03-01")
    assert found[("n", "month", feb, "DBT")] == (1, 1)
    assert found[("n", "month", feb, "EMDR")] == (1, 1)


def test_demo_clinic_pins_nothing(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """The synthetic demo clinic (`rrrs demo`): several treatments over two years, small months at the ends."""
    from rrrs_core import demo
    from rrrs_core.importing import import_path

    demo.write(tmp_path / "demo", n_dyads=12, seed=3)
    import_path(con, tmp_path / "demo")
    trends = q.trends(con, period="month")
    assert (trends.sessions == H).any() and (trends.sessions != H).any()
    assert pinned_below_5(con) == []


def test_page_and_pdf_publish_the_same_cells(con: duckdb.DuckDBPyConnection) -> None:
    """The PDF prints the query module's cells: a hidden count never appears in it as a number."""
    import io

    from pypdf import PdfReader

    from rrrs_core import reports

    month_differencing(con)
    for period in q.PERIODS:
        pdf = reports.clinic_report(con, generated_by="qi", period=period)
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
        label = "Mar 2026" if period == "month" else "Q1 2026"
        for treatment in ("CBT", "DBT", "EMDR"):  # all-'*' rows are left out of the PDF (issue 15), and said so
            assert f"{label}\n{treatment}\n" not in text, (period, treatment)
        assert "3 treatment row(s) with every cell suppressed are left out" in " ".join(text.split())
        assert f"{label}\n{q.ALL_TREATMENTS}\n22\n" in text
        assert "\n20\n" not in text  # CBT's 20 sessions
        assert "suppressed (fewer than 5 sessions, or hidden to protect another cell)" in " ".join(text.split())


def test_a_pinned_share_of_a_hidden_small_group_counts_as_disclosed() -> None:
    """The protection's own reader sees a 100% share through sizes it cannot pin: A (3 sessions) and B (7)
    are hidden, their total of 10 is shown with 10 ruptures. Neither size is pinned or provably small,
    but A's share is 100% in every solution."""
    from rrrs_core import suppression as s

    cells = s.Cells(min_cell=MIN)
    for name, n in (("A", 3), ("B", 7)):
        count = cells.var(("n", name), n, lo=1, count=True)
        ruptured = cells.var(("ruptured", name), n, per=count)
        cells.unit((name,), [count, ruptured], 0, n < MIN, size=n)
        cells.relate({ruptured: 1.0, count: -1.0}, below=True)
    total = cells.var(("n", "total"), 10)
    total_ruptured = cells.var(("ruptured", "total"), 10)
    cells.unit(("total",), [total, total_ruptured], 9, False, size=10)
    cells.fixed.add(("total",))
    cells.relate({("n", "A"): 1.0, ("n", "B"): 1.0, total: -1.0})
    cells.relate({("ruptured", "A"): 1.0, ("ruptured", "B"): 1.0, total_ruptured: -1.0})
    hidden = {("A",), ("B",)}
    unknown = s.hidden_vars(cells, hidden)
    assert s.bounds(cells, unknown, ("n", "A")) == (1, 9)  # the size is safe ...
    assert s.bounds(cells, unknown, ("ruptured", "A")) == (1, 9)  # ... and so is the rupture count ...
    assert s.violations(cells, hidden) == [("ruptured", "A")]  # ... but the share is 100%


def test_the_protections_reader_reasons_over_whole_numbers() -> None:
    """The sweep's case (issue 14 re-run, H04): rated 5, mean 2.0, ratings 2 and 5 shown as 0, ratings 1, 3
    and 4 hidden. Over real numbers ratings 3 and 4 could each be 0; over whole numbers
    r1 + r3 + r4 = 5 and r1 + 3 r3 + 4 r4 = 10 leave only r1 = 3, r3 = 1, r4 = 1."""
    from rrrs_core import suppression as s

    cells = s.Cells(min_cell=MIN)
    counts = {k: cells.var(("c", k), v, count=True) for k, v in ((1, 3), (3, 1), (4, 1))}
    for k, c in counts.items():
        cells.unit((k,), [c], 0, True, size=cells.value[c])
    rated, rating_sum = cells.var(("tc",), 5), cells.var(("tc_sum",), 10)
    cells.unit(("shown",), [rated, rating_sum], 9, False, size=5)
    cells.fixed.add(("shown",))
    cells.relate({**dict.fromkeys(counts.values(), 1.0), rated: -1.0})
    cells.relate({**{c: float(k) for k, c in counts.items()}, rating_sum: -1.0})
    hidden = {(1,), (3,), (4,)}
    unknown = s.hidden_vars(cells, hidden)
    assert s.bounds(cells, unknown, ("c", 3)) == (0, 2)  # the real-valued range: 0 .. 2.5
    assert s.violations(cells, hidden) == [("c", 1), ("c", 3), ("c", 4)]


def _demo(root: Path, n_dyads: int, seed: int) -> duckdb.DuckDBPyConnection:
    from rrrs_core import demo, store
    from rrrs_core.importing import import_path

    demo.write(root / "demo", n_dyads=n_dyads, seed=seed)
    con = store.connect(root / "demo.duckdb")
    import_path(con, root / "demo")
    return con


@pytest.fixture(scope="module")
def demo40(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """`rrrs demo --dyads 40` (seed 7, the default): the clinic the sweep attacked."""
    con = _demo(tmp_path_factory.mktemp("demo40"), 40, 7)
    yield con
    con.close()


def test_demo_clinic_40_dyads_pins_nothing(demo40: duckdb.DuckDBPyConnection) -> None:
    """The sweep's clinic: the attacker, with mean x rated, share 4-5 x rated and whole numbers, over month
    and quarter views, both tables, the therapist table and the header together, pins nothing."""
    table = q.contribution_table(demo40, period="quarter")
    assert table.high_share.isna().any() and table.mean_contribution.notna().any()
    assert pinned_below_5(demo40) == []


def test_demo_clinic_another_seed_pins_nothing(tmp_path: Path) -> None:
    """Another demo clinic of the same size (seed 11)."""
    con = _demo(tmp_path, 40, 11)
    assert (q.trends(con, period="month").sessions == H).any()
    assert pinned_below_5(con) == []
    con.close()


@pytest.mark.parametrize("period", q.PERIODS)
def test_H04_mean_contribution_beside_a_hidden_share_pins_no_count(demo40: duckdb.DuckDBPyConnection,
                                                                   period: str) -> None:
    """Sweep H04, for the published set of issue 15: a row's rated sessions c and mean contribution m, shown
    beside its hidden share rated 4-5, bound that share's count h by whole numbers (h sessions rated 4-5 and
    c - h rated 1-3 give c + 3h <= m x c <= 3c + 2h, and 0 <= h <= c). No such range may lie in 1..4."""
    found, checked_rows = [], 0
    table = q.contribution_table(demo40, period=period)
    for r in table.itertuples():
        if r.rated_sessions == H or pd.isna(r.mean_contribution) or not pd.isna(r.high_share):
            continue
        checked_rows += 1
        c, total = int(r.rated_sessions), round(r.mean_contribution * int(r.rated_sessions))
        values = [h for h in range(c + 1) if c + 3 * h <= total <= 3 * c + 2 * h]
        if values and min(values) >= 1 and max(values) < MIN:
            found.append((str(r.period_start)[:10], r.treatment, values))
    assert found == [], found[:10]
    assert checked_rows > 0, "nothing to attack: no mean shown beside a hidden share"


def test_demo_whole_clinic_rows_of_5_or_more_are_shown(demo40: duckdb.DuckDBPyConnection) -> None:
    """Issue 15: the whole-clinic row of a period is shown when it has 5 or more sessions; secondary
    suppression hides treatment rows instead. Before, the monthly view blanked Nov 2023 (34 sessions) and 11
    other months, and the quarterly view Q4 2023 and Q1 2024. The exceptions: a month of fewer than 5 sessions
    would be its quarter's total minus the other months', so other months of its quarter are hidden with it;
    and a month with so few sessions per treatment that each treatment would be provably small."""
    truth = true_values(demo40)
    quarter = {kind: {} for kind in q.PERIODS}
    for kind in q.PERIODS:
        totals = q.trends(demo40, period=kind).query("is_total").set_index("period_start")
        hidden = {p for p, r in totals.iterrows() if r.sessions == H and truth[("n", kind, p, q.ALL_TREATMENTS)] >= MIN}
        small = {p for p in totals.index if truth[("n", kind, p, q.ALL_TREATMENTS)] < MIN}
        quarter[kind] = (hidden, small)
    assert quarter["quarter"] == (set(), set())
    hidden, small = quarter["month"]
    assert {str(p)[:7] for p in small} == {"2025-06"}
    # Jun 2025 (1 session) and Feb 2023 (6 sessions in three treatments: each would be provably 1-4 once
    # hidden, so the total goes with them) take other months of their quarters along, and nothing else.
    assert {str(p)[:7] for p in hidden} <= {"2023-02", "2023-03", "2025-04", "2025-05"}, hidden
    months = q.trends(demo40, period="month").query("is_total").set_index("period_start")
    assert months.loc[pd.Timestamp("2023-11-01"), "sessions"] == "34"
    assert months.loc[pd.Timestamp("2023-12-01"), "sessions"] == "33"
    assert (months.sessions != H).sum() >= len(months) - 5


def test_demo_whole_clinic_contribution_is_shown(demo40: duckdb.DuckDBPyConnection) -> None:
    """Issue 15: the contribution table was almost all '*' (272 of 315 quarter cells, the whole clinic's mean
    shown for 1 of 10 quarters) because each rating 1-5 was a count, small in nearly every cell. Publishing
    the share rated 4-5 and the mean instead, the whole clinic's mean contribution is shown for every quarter
    with 5 or more rated sessions, and most of the table is readable."""
    quarters = q.contribution_table(demo40, period="quarter")
    totals = quarters[quarters.is_total]
    rated = totals.rated_sessions.astype(int)
    assert (rated >= MIN).all() and totals.mean_contribution.notna().all(), totals
    assert totals.high_share.notna().sum() >= 8
    cells = quarters[["rated_sessions", "high_share", "mean_contribution"]]
    hidden = (cells.rated_sessions == H).sum() + cells.high_share.isna().sum() + cells.mean_contribution.isna().sum()
    assert hidden <= cells.size // 3, hidden  # 33 of 135 on the demo
    months = q.contribution_table(demo40, period="month").query("is_total")
    shown = months[months.rated_sessions != H]
    assert shown.mean_contribution.isna().sum() <= 1, shown  # Jul 2024's mean protects a small month cell


def test_demo_period_comparison_shows_mean_contribution(demo40: duckdb.DuckDBPyConnection) -> None:
    """The summary's mean contribution was '*' for both quarters; now it is shown, with the share 4-5."""
    from rrrs_core.queries import clinic_compare

    rows = clinic_compare.comparison(demo40, period="quarter").rows.set_index("measure")
    assert rows.loc["Mean contribution"].tolist() == ["1.17", "1.31", "-0.14"]
    assert rows.loc["Contribution rated 4-5"].tolist() == ["0%", "4%", "-4 pts"]


def test_the_attacker_finds_a_4_5_leak_without_its_protection(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """If hidden 4-5 counts were not checked as counts, the shown shares 4-5 (months against quarters,
    totals against parts) would prove small ISTDP cells of the 12-dyad demo to hold 1-3 sessions rated 4-5:
    the attacker's check of the new published set can fail."""
    from rrrs_core import suppression

    var = suppression.Cells.var

    def unchecked(self, key, value, lo=0.0, hi=math.inf, count=False, per=None):  # type: ignore[no-untyped-def]
        return var(self, key, value, lo, hi, count and key[0] != "tc_high", per)

    monkeypatch.setattr(suppression.Cells, "var", unchecked)
    con = _demo(tmp_path, 12, 3)
    found = [name for name, *_ in pinned_below_5(con)]
    assert found and all(name[0] == "tc_high" for name in found), found
    con.close()
