"""The reliability statistics against published and hand-computed examples (issue #16)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin
import pytest

from rrrs_core.reliability import bands
from rrrs_core.reliability.categorical import NO_VARIANCE, Patterns, presence_stats
from rrrs_core.reliability.design import Design
from rrrs_core.reliability.icc import FORMS, icc_forms
from rrrs_core.reliability.table import FEW_CODERS, FEW_SESSIONS, NO_CI, icc_rows, presence_rows

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning",
                                        "ignore:The inplace keyword")

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
# Their published estimates (Table 4): ICC(1,1), ICC(2,1), ICC(3,1), ICC(1,4), ICC(2,4), ICC(3,4).
PUBLISHED = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}
# The 95% intervals pingouin 0.6.1 and R's psych::ICC print for this table (two decimals).
PUBLISHED_CI = {"ICC1": (-0.13, 0.72), "ICC2": (0.02, 0.76), "ICC3": (0.34, 0.95),
                "ICC1k": (-0.88, 0.91), "ICC2k": (0.07, 0.93), "ICC3k": (0.68, 0.99)}
PINGOUIN_NAMES = dict(zip(["ICC(1,1)", "ICC(A,1)", "ICC(C,1)", "ICC(1,k)", "ICC(A,k)", "ICC(C,k)"], FORMS,
                          strict=True))


def by_form(table) -> dict:
    return {i.form: i for i in icc_forms(table)}


def pingouin_iccs(table: np.ndarray) -> dict[str, tuple[float, float, float]]:
    n, k = table.shape
    long = pd.DataFrame([(t, j, table[t, j]) for t in range(n) for j in range(k)], columns=["t", "j", "v"])
    out = pingouin.intraclass_corr(long, targets="t", raters="j", ratings="v")
    return {PINGOUIN_NAMES[r.Type]: (r.ICC, r.CI95[0], r.CI95[1]) for r in out.itertuples()}


def test_shrout_fleiss_table_2_published_values_and_intervals():
    got = by_form(SHROUT_FLEISS)
    for form, value in PUBLISHED.items():
        assert round(got[form].value, 2) == value, form
        assert (round(got[form].ci_low, 2), round(got[form].ci_high, 2)) == PUBLISHED_CI[form], form


def test_pingouin_documented_wine_example():
    """pingouin's docstring: 8 wines x 4 judges, ICC(1,1) .728 [.43, .93] ... ICC(C,k) .915 [.75, .98]."""
    data = pingouin.read_dataset("icc").pivot(index="Wine", columns="Judge", values="Scores").to_numpy()
    got = by_form(data)
    documented = {"ICC1": (0.728, 0.43, 0.93), "ICC2": (0.728, 0.43, 0.93), "ICC3": (0.729, 0.43, 0.93),
                  "ICC1k": (0.914, 0.75, 0.98), "ICC2k": (0.914, 0.75, 0.98), "ICC3k": (0.915, 0.75, 0.98)}
    for form, (value, low, high) in documented.items():
        assert (round(got[form].value, 3), round(got[form].ci_low, 2), round(got[form].ci_high, 2)) == \
            (value, low, high), form


@pytest.mark.parametrize("seed", range(6))
def test_every_form_and_bound_matches_pingouin(seed, monkeypatch):
    monkeypatch.setitem(pingouin.options, "round.column.CI95", None)  # pingouin prints CIs to 2 decimals
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(5, 40)), int(rng.integers(2, 5))
    truth = rng.integers(0, 6, n)[:, None]
    table = (truth + rng.integers(-1, 2, (n, k)) + rng.integers(0, 2, k)[None, :]).astype(float)
    ours, ref = by_form(table), pingouin_iccs(table)
    for form in FORMS:
        assert ours[form].value == pytest.approx(ref[form][0], abs=1e-10), form
        assert ours[form].ci_low == pytest.approx(ref[form][1], abs=1e-10), form
        assert ours[form].ci_high == pytest.approx(ref[form][2], abs=1e-10), form


def test_perfect_agreement_keeps_the_value_and_drops_an_undefined_interval():
    table = np.array([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]], float)
    got = by_form(table)
    assert got["ICC1"].value == pytest.approx(1.0)
    assert got["ICC1"].ci_low is None and got["ICC1"].ci_high is None  # F is infinite: no NaN leaks out
    rows = icc_rows("x", table, 2, Design())
    assert [r.statistic for r in rows] == ["ICC1", "ICC1k"]  # routine design: one-way forms only
    assert rows[0].reason == NO_CI and rows[0].band == "excellent"


def test_too_few_data_gives_empty_values_with_reasons():
    table = np.array([[1, 2], [2, 2], [3, 4], [4, 4], [5, 3]], float)
    crossed = Design(coders=("A", "B"))
    assert {r.reason for r in icc_rows("x", table[:4], 2, crossed)} == {FEW_SESSIONS}
    assert {r.reason for r in icc_rows("x", table, 1, crossed)} == {FEW_CODERS}
    flat = icc_rows("x", np.full((6, 2), 3.0), 2, crossed)
    assert {r.reason for r in flat} == {NO_VARIANCE} and all(r.value is None for r in flat)
    assert [r.statistic for r in flat] == list(FORMS)
    assert [r.statistic for r in flat if r.lead] == ["ICC2"]
    few = presence_rows("denial", Patterns(2, {0: 30, 3: 10}, True), n_sessions=4, n_coders=2)
    assert {r.reason for r in few} == {FEW_SESSIONS} and all(r.value is None for r in few)


def stats(p: Patterns) -> dict:
    return {s.statistic: s for s in presence_stats(p)}


def test_cohens_kappa_ac1_and_alpha_by_hand():
    # 50 segments: both marked 20, only coder 1 marked 5, only coder 2 marked 10, neither 15.
    got = stats(Patterns(2, {3: 20, 1: 5, 2: 10, 0: 15}, same_coders=True))
    assert got["agreement"].value == pytest.approx(0.70)
    # po .70; pe = .5 * .6 + .5 * .4 = .50; kappa = .20 / .50
    assert got["kappa"].value == pytest.approx(0.40) and got["kappa"].method == "Cohen's kappa"
    # AC1: mean prevalence .55, pe = 2 * .55 * .45 = .495; (.70 - .495) / .505
    assert got["ac1"].value == pytest.approx(0.205 / 0.505)
    # alpha: coincidences present-absent 15 + 15 of 100 values; 1 - 99 * 30 / (2 * 55 * 45)
    assert got["alpha"].value == pytest.approx(0.40)


def test_routine_double_coding_uses_fleiss_kappa():
    got = stats(Patterns(2, {3: 20, 1: 5, 2: 10, 0: 15}, same_coders=False))
    # Scott's pi (Fleiss for two codings): pooled prevalence .55, pe = .55^2 + .45^2 = .505
    assert got["kappa"].value == pytest.approx((0.70 - 0.505) / 0.495)
    assert got["kappa"].method == "Fleiss' kappa"


def test_fleiss_kappa_three_coders_by_hand():
    # 4 segments marked by 3, 0, 2 and 1 of 3 coders.
    got = stats(Patterns(3, {0b111: 1, 0: 1, 0b011: 1, 0b100: 1}, same_coders=True))
    assert got["agreement"].value == pytest.approx(2 / 3)  # pairs agreeing: 1, 1, 1/3, 1/3
    assert got["kappa"].value == pytest.approx(1 / 3) and got["kappa"].method == "Fleiss' kappa"
    assert got["ac1"].value == pytest.approx(1 / 3)  # prevalence .5: AC1's pe is .5 like kappa's
    assert got["alpha"].value == pytest.approx(1 - 11 * 4 / 72)  # coincidences o_ap = o_pa = 2 of 12 values


def ac1_by_hand(counts: np.ndarray) -> float:
    """Gwet (2008) for two categories, from a segments x [absent, present] count matrix."""
    r = counts.sum(axis=1)
    po = ((counts * (counts - 1)).sum(axis=1) / (r * (r - 1))).mean()
    pi = (counts / r[:, None]).mean(axis=0)
    pe = (pi * (1 - pi)).sum()  # / (q - 1), q = 2
    return (po - pe) / (1 - pe)


def test_kappa_paradox_rare_code():
    """98 of 100 segments agree (nobody marked them), each coder marked one other segment alone: kappa is
    about 0, AC1 about .98."""
    p = Patterns(2, {0: 98, 1: 1, 2: 1}, same_coders=True)
    got = stats(p)
    assert got["agreement"].value == pytest.approx(0.98)
    assert got["kappa"].value == pytest.approx((0.98 - 0.9802) / (1 - 0.9802))  # -0.0101
    assert got["ac1"].value == pytest.approx((0.98 - 0.0198) / (1 - 0.0198))  # 0.9796
    assert got["ac1"].value == pytest.approx(ac1_by_hand(p.counts_matrix()))
    assert bands.landis_koch(got["kappa"].value) == "poor"
    assert bands.landis_koch(got["ac1"].value) == "almost perfect"


def test_no_variance_presence():
    got = stats(Patterns(2, {0: 40}, same_coders=True))
    assert got["kappa"].value is None and got["kappa"].reason == NO_VARIANCE
    assert got["alpha"].value is None and got["alpha"].reason == NO_VARIANCE
    assert got["agreement"].value == 1.0 and got["ac1"].value == 1.0
    assert all(s.value is None or math.isfinite(s.value) for s in got.values())


def test_koo_li_bands_on_the_interval():
    assert [bands.koo_li(v) for v in (0.49, 0.5, 0.74, 0.75, 0.9, 0.91)] == \
        ["poor", "moderate", "moderate", "good", "good", "excellent"]
    assert bands.koo_li_interval(0.62, 0.90) == "moderate to good"
    assert bands.koo_li_interval(0.80, 0.88) == "good"
    assert bands.band("ICC2", 0.80, 0.62, 0.90) == "moderate to good"  # not "good", the point's band
    assert bands.band("agreement", 0.95) is None


def test_landis_koch_bands():
    assert [bands.landis_koch(v) for v in (-0.1, 0.0, 0.2, 0.21, 0.4, 0.6, 0.8, 0.81)] == \
        ["poor", "slight", "slight", "fair", "fair", "moderate", "substantial", "almost perfect"]
    assert bands.band("kappa", None) is None
