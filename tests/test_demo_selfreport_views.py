"""The README's figures for the self-reports beside the coding, on the 40-dyad demo clinic (`rrrs demo`, seed
7): the caseload's self-report flags, the discordant sessions, the Clinic page's association and suppression."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from rrrs_core import demo, store
from rrrs_core.importing import import_path
from rrrs_core.queries import caseload as cq
from rrrs_core.queries import dyad as dq
from rrrs_core.queries import selfreport as q
from rrrs_core.queries import selfreport_clinic as sc
from rrrs_core.queries.clinic import SUPPRESSED
from rrrs_core.scope import CLINIC


@pytest.fixture(scope="module")
def demo_con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    root = tmp_path_factory.mktemp("demo40sr")
    demo.write(root / "csv", n_dyads=40, seed=7)
    con = store.connect(root / "demo.duckdb")
    import_path(con, root / "csv")
    yield con
    con.close()


def test_caseload_self_report_flags(demo_con: duckdb.DuckDBPyConnection) -> None:
    cases = cq.caseload(demo_con)
    assert [int(cases[k].sum()) for k in ("alliance_below_cutoff", "srs_dropped", "patient_rupture_unresolved")] \
        == [8, 7, 3]
    assert (cases.dyad_id.iloc[0], int(cases.concern_score.iloc[0])) == ("D0030", 14)


def test_discordance_both_ways_mostly_withdrawal(demo_con: duckdb.DuckDBPyConnection) -> None:
    double = unseen = unreported = withdrawal_only = 0
    for d in cq.caseload(demo_con).dyad_id:
        both = q.beside(q.dyad_axis(demo_con, CLINIC, d), dq.trajectory(demo_con, CLINIC, d))
        found = q.discordance(both)
        double += int((both.coded & both.reported_rupture.notna()).sum())
        unseen += int((found.kind == q.UNSEEN).sum())
        unreported += int((found.kind == q.UNREPORTED).sum())
        withdrawal_only += int(found.withdrawal_only.sum())
    assert (double, unseen, unreported) == (258, 8, 96)
    assert withdrawal_only > unreported / 2  # withdrawal is what goes unreported


def test_clinic_association_and_suppression(demo_con: duckdb.DuckDBPyConnection) -> None:
    rupture, confrontation, withdrawal = sc.association(demo_con)
    assert (rupture.n, rupture.n_yes) == (258, 41)
    assert (round(rupture.r, 2), round(rupture.low, 2), round(rupture.high, 2)) == (0.45, 0.34, 0.54)
    assert (round(confrontation.r, 2), round(confrontation.low, 2), round(confrontation.high, 2)) == (0.56, 0.47, 0.64)
    assert (round(withdrawal.r, 2), round(withdrawal.low, 2), round(withdrawal.high, 2)) == (0.24, 0.12, 0.35)
    quarter, month = sc.below_cutoff(demo_con, "quarter"), sc.below_cutoff(demo_con, "month")
    assert ((quarter.sessions == SUPPRESSED).sum(), len(quarter)) == (7, 44)
    assert ((month.sessions == SUPPRESSED).sum(), len(month)) == (64, 124)
    totals = quarter[quarter.is_total]
    assert round(totals.below_share.min(), 2) == 0.05 and round(totals.below_share.max(), 2) == 0.34
