"""How to read a reliability figure: two published conventions, as data, so the page, the PDF and the CSV
all say the same thing.

- ICC: Koo & Li (2016), J Chiropr Med 15:155-163. They ask that the band be judged on the 95% confidence
  interval, not the point estimate: an ICC of .80 with CI .62-.90 is "moderate to good", not "good".
- Chance-corrected agreement on categories (kappa, Gwet's AC1, Krippendorff's alpha): Landis & Koch (1977),
  Biometrics 33:159-174, on the point estimate (they give no rule for intervals).
"""

from __future__ import annotations

import math

# (upper bound, label): a value belongs to the first band whose bound it does not exceed (`strict` bands
# exclude their bound). Koo & Li: poor < .5, moderate .5-.75, good .75-.9, excellent > .9.
KOO_LI: tuple[tuple[float, str, bool], ...] = (
    (0.5, "poor", True),
    (0.75, "moderate", True),
    (0.9, "good", False),
    (math.inf, "excellent", False),
)

# Landis & Koch: < 0 poor, 0-.20 slight, .21-.40 fair, .41-.60 moderate, .61-.80 substantial, .81-1 almost perfect.
LANDIS_KOCH: tuple[tuple[float, str, bool], ...] = (
    (0.0, "poor", True),
    (0.2, "slight", False),
    (0.4, "fair", False),
    (0.6, "moderate", False),
    (0.8, "substantial", False),
    (math.inf, "almost perfect", False),
)

ICC_STATISTICS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
CHANCE_CORRECTED = ("kappa", "ac1", "alpha")


def _band(value: float | None, bands: tuple[tuple[float, str, bool], ...]) -> str | None:
    if value is None or not math.isfinite(value):
        return None
    for bound, label, strict in bands:
        if value < bound or (value == bound and not strict):
            return label
    return bands[-1][1]


def koo_li(value: float | None) -> str | None:
    """Koo & Li band of one number (a point estimate or one end of an interval)."""
    return _band(value, KOO_LI)


def koo_li_interval(ci_low: float | None, ci_high: float | None) -> str | None:
    """Koo & Li band judged on the 95% CI: "good", or "moderate to excellent" when the ends differ."""
    low, high = koo_li(ci_low), koo_li(ci_high)
    if low is None or high is None:
        return None
    return low if low == high else f"{low} to {high}"


def landis_koch(value: float | None) -> str | None:
    """Landis & Koch band of a kappa-type coefficient."""
    return _band(value, LANDIS_KOCH)


def band(statistic: str, value: float | None, ci_low: float | None = None,
         ci_high: float | None = None) -> str | None:
    """The band of any row of the reliability table: ICCs on their CI, chance-corrected coefficients on the
    value, percent agreement none (it has no chance correction, so no convention applies)."""
    if statistic in ICC_STATISTICS:
        if ci_low is None and ci_high is None:  # no interval (coders never disagree): the point decides
            return koo_li(value)
        return koo_li_interval(ci_low, ci_high)
    if statistic in CHANCE_CORRECTED:
        return landis_koch(value)
    return None
