"""The six Shrout & Fleiss (1979) intraclass correlations with their 95% confidence intervals.

Why not call `pingouin.intraclass_corr` directly: its two-way ANOVA groups in Python and takes about 20 s
for 20,000 sessions, once per item; the clinic has ~20,000 double-coded sessions and ~56 items. The mean
squares of a complete n x k table are a few vectorised sums, so they are computed here, and the ICCs and
intervals follow pingouin 0.6.1's code line for line (Shrout & Fleiss 1979; McGraw & Wong 1996 for the
ICC(A,1) interval). tests/test_reliability_icc.py checks every form and bound against pingouin itself and
against Shrout & Fleiss's published Table 2.

Names follow pingouin's older labels, which the issue uses: ICC1 = ICC(1,1) one-way random; ICC2 = ICC(A,1)
two-way random, absolute agreement; ICC3 = ICC(C,1) two-way mixed, consistency; the `k` forms are the
reliability of the mean of k coders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import f

FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
ONE_WAY = ("ICC1", "ICC1k")  # the forms that hold when the coders differ from session to session


@dataclass(frozen=True)
class Icc:
    """One form's estimate and 95% CI; any of them None when undefined (never NaN)."""

    form: str
    value: float | None
    ci_low: float | None
    ci_high: float | None


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def mean_squares(table: np.ndarray) -> tuple[float, float, float, float]:
    """MSB (sessions), MSW (within sessions), MSJ (coders), MSE (residual) of a complete n x k table."""
    n, k = table.shape
    grand = table.mean()
    rows, cols = table.mean(axis=1), table.mean(axis=0)
    ss_rows = k * float(((rows - grand) ** 2).sum())
    ss_cols = n * float(((cols - grand) ** 2).sum())
    ss_total = float(((table - grand) ** 2).sum())
    ss_err = max(ss_total - ss_rows - ss_cols, 0.0)  # rounding can leave -1e-15
    msb = ss_rows / (n - 1)
    msj = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    msw = (ss_cols + ss_err) / (n * (k - 1))
    return msb, msw, msj, mse


def icc_forms(table: np.ndarray, alpha: float = 0.05) -> list[Icc]:
    """All six forms for an n sessions x k coders table with no missing cell (n >= 2, k >= 2).

    Undefined values (a zero denominator, an infinite F) come back as None; callers give the reason.
    """
    table = np.asarray(table, dtype=float)
    n, k = table.shape
    msb, msw, msj, mse = mean_squares(table)
    with np.errstate(divide="ignore", invalid="ignore"):
        icc1 = np.divide(msb - msw, msb + (k - 1) * msw)
        icc2 = np.divide(msb - mse, msb + (k - 1) * mse + k * (msj - mse) / n)
        icc3 = np.divide(msb - mse, msb + (k - 1) * mse)
        icc1k = np.divide(msb - msw, msb)
        icc2k = np.divide(msb - mse, msb + (msj - mse) / n)
        icc3k = np.divide(msb - mse, msb)

        f1k = np.divide(msb, msw)
        df1, df1kd, df2kd = n - 1, n * (k - 1), (n - 1) * (k - 1)
        f3k = np.divide(msb, mse)
        f1l = f1k / f.ppf(1 - alpha / 2, df1, df1kd)
        f1u = f1k * f.ppf(1 - alpha / 2, df1kd, df1)
        l1, u1 = (f1l - 1) / (f1l + (k - 1)), (f1u - 1) / (f1u + (k - 1))
        f3l = f3k / f.ppf(1 - alpha / 2, df1, df2kd)
        f3u = f3k * f.ppf(1 - alpha / 2, df2kd, df1)
        l3, u3 = (f3l - 1) / (f3l + (k - 1)), (f3u - 1) / (f3u + (k - 1))
        # ICC(A,1): Satterthwaite's degrees of freedom (McGraw & Wong 1996, Table 7).
        fj = np.divide(msj, mse)
        vn = df2kd * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        vd = df1 * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v = np.divide(vn, vd)
        f2u = f.ppf(1 - alpha / 2, n - 1, v)
        f2l = f.ppf(1 - alpha / 2, v, n - 1)
        l2 = n * (msb - f2u * mse) / (f2u * (k * msj + (k * n - k - n) * mse) + n * msb)
        u2 = n * (f2l * msb - mse) / (k * msj + (k * n - k - n) * mse + n * f2l * msb)
        bounds = [
            (l1, u1), (l2, u2), (l3, u3),
            (1 - 1 / f1l, 1 - 1 / f1u),
            (l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))),
            (1 - 1 / f3l, 1 - 1 / f3u),
        ]
    out = []
    for form, value, (low, high) in zip(FORMS, (icc1, icc2, icc3, icc1k, icc2k, icc3k), bounds, strict=True):
        value, low, high = _finite(float(value)), _finite(float(low)), _finite(float(high))
        if value is None or low is None or high is None:
            low = high = None
        out.append(Icc(form, value, low, high))
    return out
