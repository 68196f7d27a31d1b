"""The reliability table: one row per item and statistic, each value with its CI, n and, when it cannot
be computed, an empty value and the reason (never NaN, never an exception).

Too-few-data rules, checked in this order:
- fewer than 2 coders: no agreement to measure;
- fewer than 5 sessions (after dropping sessions whose ratings are pending, for a rating): an interval from
  4 sessions spans most of -1..1, so no value is shown;
- no variance: every coder gave every session (or segment) the same value, so the share of variance
  between sessions, and kappa's and alpha's chance correction, are 0/0. Percent agreement and AC1 stay
  defined there (both 1: the coders agree).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import duckdb
import numpy as np
import pandas as pd

from rrrs_core import codebook as cb
from rrrs_core.reliability import bands, extract
from rrrs_core.reliability.categorical import NO_VARIANCE, presence_stats
from rrrs_core.reliability.design import ROUTINE, Design, ReliabilityInputError, check
from rrrs_core.reliability.icc import FORMS, ONE_WAY, icc_forms

MIN_CODERS = 2
MIN_SESSIONS = 5
FEW_CODERS = f"fewer than {MIN_CODERS} coders"
FEW_SESSIONS = f"fewer than {MIN_SESSIONS} sessions"
NO_CI = "confidence interval undefined: the coders never disagree"
COLUMNS = ["item", "statistic", "value", "ci_low", "ci_high", "n_units", "n_coders", "reason", "band", "unit",
           "method", "lead"]


@dataclass(frozen=True)
class Row:
    item: str
    statistic: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n_units: int
    n_coders: int
    reason: str
    band: str | None
    unit: str  # "sessions" (ICC) or "segments" (presence)
    method: str
    lead: bool  # the statistic rrrs shows first for this item (ICC2 crossed, ICC1 routine; AC1 on presence)


def icc_rows(item: str, table: np.ndarray, n_coders: int, design: Design) -> list[Row]:
    """The design's ICC forms for one per-session item."""
    forms = FORMS if design.crossed else ONE_WAY
    n = table.shape[0]
    reason = ""
    if n_coders < MIN_CODERS:
        reason = FEW_CODERS
    elif n < MIN_SESSIONS:
        reason = FEW_SESSIONS
    elif np.ptp(table) == 0:
        reason = NO_VARIANCE
    method = "two-way" if design.crossed else "one-way (coders vary by session)"
    if reason:
        return [Row(item, f, None, None, None, n, n_coders, reason, None, "sessions", method, f == design.lead)
                for f in forms]
    rows = []
    for icc in icc_forms(table):
        if icc.form not in forms:
            continue
        why = NO_VARIANCE if icc.value is None else (NO_CI if icc.ci_low is None else "")
        rows.append(Row(item, icc.form, icc.value, icc.ci_low, icc.ci_high, n, n_coders, why,
                        bands.band(icc.form, icc.value, icc.ci_low, icc.ci_high), "sessions", method,
                        icc.form == design.lead))
    return rows


def presence_rows(item: str, patterns, n_sessions: int, n_coders: int) -> list[Row]:
    """agreement, kappa, AC1 and alpha for one code's or family's presence per segment."""
    n = patterns.n_units
    reason = FEW_CODERS if n_coders < MIN_CODERS else (FEW_SESSIONS if n_sessions < MIN_SESSIONS else "")
    if reason:
        return [Row(item, s, None, None, None, n, n_coders, reason, None, "segments", "", s == "ac1")
                for s in ("agreement", "kappa", "ac1", "alpha")]
    return [Row(item, s.statistic, s.value, None, None, n, n_coders, s.reason, bands.band(s.statistic, s.value),
                "segments", s.method, s.statistic == "ac1") for s in presence_stats(patterns)]


def reliability(con: duckdb.DuckDBPyConnection, design: Design = ROUTINE,
                book: cb.Codebook = cb.DEFAULT) -> pd.DataFrame:
    """Every per-session item's ICCs, then every code's and family's presence statistics (`COLUMNS`)."""
    check(con, design)
    values = extract.session_values(con, design, book)
    tables = extract.Wide(values, design.k)
    rows: list[Row] = []
    for item in extract.session_items(book):
        table, n_coders = tables.table(item)
        rows.extend(icc_rows(item, table, n_coders, design))
    patterns, n_sessions, n_coders = extract.presence_patterns(con, design, book)
    for item in extract.presence_items(book):
        rows.extend(presence_rows(item, patterns[item], n_sessions, n_coders))
    return pd.DataFrame([asdict(r) for r in rows], columns=COLUMNS)


def require_data(con: duckdb.DuckDBPyConnection, design: Design) -> tuple[int, int]:
    """Sessions and coders the design compares; refuse (ReliabilityInputError) when nothing can be computed."""
    check(con, design)
    n_sessions, n_coders, _ = extract.design_size(con, design)
    noun = "session" if n_sessions == 1 else "sessions"
    what = f"calibration {noun} coded by {design.reference_for} and with a reference coding" \
        if design.reference_for is not None else \
        f"{noun} coded by each of {', '.join(design.coders)}" if design.crossed else \
        f"double-coded {noun} (two final codings by different coders)"
    if n_sessions < MIN_SESSIONS:
        raise ReliabilityInputError(f"Too few data for reliability: {n_sessions} {what}; at least "
                                    f"{MIN_SESSIONS} are needed.")
    if n_coders < MIN_CODERS:
        raise ReliabilityInputError(f"Too few data for reliability: {FEW_CODERS} in the {n_sessions} {what}.")
    return n_sessions, n_coders
