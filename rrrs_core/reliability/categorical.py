"""Chance-corrected agreement on present/absent, computed by the libraries from per-segment counts.

Input is a `Patterns` value: for k coder slots, how many segments show each pattern of "marked check"
(bit i set = slot i marked it). That is all any of these statistics needs, and SQL can count it at clinic
scale (`extract.presence_patterns`).

- `agreement`: observed agreement, the share of coder pairs that agree (for two coders, the share of
  segments where both agree), `agreement.observed_agreement`.
- `kappa`: Cohen's kappa (statsmodels) when the same two coders coded every segment; Fleiss' kappa
  (statsmodels) otherwise, which is what Fleiss (1971) built it for: several coders, not necessarily the same
  ones for every unit. Routine double-coding (a varying second coder) therefore gets Fleiss' kappa.
- `ac1`: Gwet's AC1 (2008), `agreement.gwets_gamma` with identity weights. Kappa's chance term grows with
  the prevalence imbalance, so on a rare code two coders who agree on 98% of segments can get a kappa near 0
  (the kappa paradox); AC1's does not.
- `alpha`: Krippendorff's alpha, nominal (`krippendorff`).

`irrCAC` (Gwet's own package) pins scipy 1.12 and pandas < 3, which rrrs cannot take, hence `agreement`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NO_VARIANCE = "no variance"


@dataclass(frozen=True)
class Patterns:
    """Segment counts by pattern: `counts[p]` segments where exactly the slots in bitmask p marked check."""

    k: int
    counts: dict[int, int]
    same_coders: bool  # every segment coded by the same k coders (fully crossed), so Cohen's kappa applies

    @property
    def n_units(self) -> int:
        return sum(self.counts.values())

    def counts_matrix(self) -> np.ndarray:
        """One row per segment: [coders who left it absent, coders who marked it present]."""
        pats = sorted(self.counts)
        present = np.array([bin(p).count("1") for p in pats])
        reps = np.array([self.counts[p] for p in pats])
        col = np.repeat(present, reps)
        return np.column_stack([self.k - col, col]).astype(float)

    def two_by_two(self) -> np.ndarray:
        """Slot 1 (rows, bit 0) by slot 2 (columns, bit 1), absent first: the table Cohen's kappa reads."""
        t = np.zeros((2, 2))
        for p, n in self.counts.items():
            t[p & 1, p >> 1 & 1] += n
        return t


@dataclass(frozen=True)
class Stat:
    """One coefficient: a value, or None with the reason it is undefined; `method` names the estimator."""

    statistic: str
    value: float | None
    reason: str = ""
    method: str = ""


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def presence_stats(p: Patterns) -> list[Stat]:
    """agreement, kappa, ac1, alpha for one code or family. Needs k >= 2 and at least one segment."""
    import agreement
    import krippendorff
    from statsmodels.stats.inter_rater import cohens_kappa, fleiss_kappa

    matrix = p.counts_matrix()
    varies = 0 < matrix[:, 1].sum() < matrix.sum()  # someone marked it, and someone left it absent
    observed = _finite(agreement.observed_agreement(matrix))
    ac1 = _finite(agreement.gwets_gamma(matrix))
    out = [Stat("agreement", observed, method="observed agreement")]
    cohen = p.same_coders and p.k == 2
    method = "Cohen's kappa" if cohen else "Fleiss' kappa"
    if not varies:
        out.append(Stat("kappa", None, NO_VARIANCE, method))
        out.append(Stat("ac1", ac1, method="Gwet's AC1"))
        out.append(Stat("alpha", None, NO_VARIANCE, "Krippendorff's alpha (nominal)"))
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = cohens_kappa(p.two_by_two(), return_results=False) if cohen else fleiss_kappa(matrix)
        alpha = krippendorff.alpha(value_counts=matrix, level_of_measurement="nominal")
    out.append(_stat("kappa", kappa, method))
    out.append(Stat("ac1", ac1, method="Gwet's AC1"))
    out.append(_stat("alpha", alpha, "Krippendorff's alpha (nominal)"))
    return out


def _stat(name: str, value: float, method: str) -> Stat:
    v = _finite(value)
    return Stat(name, v, "" if v is not None else NO_VARIANCE, method)
