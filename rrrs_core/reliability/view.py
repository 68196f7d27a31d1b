"""The reliability table as the page and the PDF show it: one row per item, the lead statistic first.

`table.reliability` gives one row per item and statistic (the CSV); a reader wants one row per item with
its lead value, CI, band and n, and the reason when the cell is empty. Presence rows carry AC1 (the lead),
kappa, alpha and percent agreement side by side, so the kappa paradox is visible where it happens.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from rrrs_core import codebook as cb
from rrrs_core.reliability import extract
from rrrs_core.reliability.design import Design

GROUPS = {"family": "Family frequency", "global": "Global rating", "seg": "Code frequency",
          "sig": "Significance rating", "presence_family": "Family presence", "presence_code": "Code presence"}
ICC_COLUMNS = ["group", "item", "label", "statistic", "value", "ci_low", "ci_high", "band", "n_units", "n_coders",
               "reason"]
PRESENCE_COLUMNS = ["group", "item", "label", "ac1", "kappa", "alpha", "agreement", "band", "kappa_band",
                    "n_units", "n_coders", "kappa_method", "reason"]


def label(item: str, book: cb.Codebook = cb.DEFAULT) -> str:
    """A reader's name for an item: 'Denial: segments marked', 'Rupture (withdrawal or confrontation)'."""
    if item.startswith(("seg_", "sig_")) and book.has_code(item[4:]):
        return f"{book.code(item[4:]).label}: " + ("segments marked" if item.startswith("seg_") else "significance")
    if item in book.global_keys:
        return book.global_item(item).label
    if item.endswith("_segments"):
        return f"{item.removesuffix('_segments').capitalize()} segments"
    if item == "rupture":
        return "Rupture (withdrawal or confrontation)"
    if item in extract.PRESENCE_FAMILIES:
        return item.capitalize()
    return book.code(item).label if book.has_code(item) else item


def group(item: str, book: cb.Codebook = cb.DEFAULT) -> str:
    if item in extract.FAMILY_ITEMS:
        return GROUPS["family"]
    if item in book.global_keys:
        return GROUPS["global"]
    if item.startswith("seg_"):
        return GROUPS["seg"]
    if item.startswith("sig_"):
        return GROUPS["sig"]
    return GROUPS["presence_family"] if item in extract.PRESENCE_FAMILIES else GROUPS["presence_code"]


def icc_table(frame: pd.DataFrame, book: cb.Codebook = cb.DEFAULT) -> pd.DataFrame:
    """Per-session items with their lead ICC form (ICC2 crossed, ICC1 routine), CI, band and n."""
    lead = frame[(frame.unit == "sessions") & frame.lead]
    out = lead.assign(group=[group(i, book) for i in lead.item], label=[label(i, book) for i in lead.item])
    return out[ICC_COLUMNS].reset_index(drop=True)


def presence_table(frame: pd.DataFrame, book: cb.Codebook = cb.DEFAULT) -> pd.DataFrame:
    """Per-segment presence items: AC1 (lead, banded), kappa (banded), alpha and percent agreement."""
    seg = frame[frame.unit == "segments"]
    if seg.empty:
        return pd.DataFrame(columns=PRESENCE_COLUMNS)
    wide = seg.pivot(index="item", columns="statistic", values="value").reindex(columns=[
        "ac1", "kappa", "alpha", "agreement"])
    ac1 = seg[seg.statistic == "ac1"].set_index("item")
    kappa = seg[seg.statistic == "kappa"].set_index("item")
    items = list(dict.fromkeys(seg.item))
    out = pd.DataFrame({
        "group": [group(i, book) for i in items], "item": items, "label": [label(i, book) for i in items],
        **{s: wide.loc[items, s].astype(float).to_numpy() for s in ("ac1", "kappa", "alpha", "agreement")},
        "band": ac1.loc[items, "band"].to_numpy(), "kappa_band": kappa.loc[items, "band"].to_numpy(),
        "n_units": ac1.loc[items, "n_units"].to_numpy(), "n_coders": ac1.loc[items, "n_coders"].to_numpy(),
        "kappa_method": kappa.loc[items, "method"].to_numpy(),
        "reason": [_reason(ac1.loc[i, "reason"], kappa.loc[i, "reason"]) for i in items],
    })
    return out[PRESENCE_COLUMNS]


def _reason(ac1: str, kappa: str) -> str:
    if ac1:
        return ac1
    return f"kappa and alpha: {kappa}" if kappa else ""


def fmt(value: float | None, digits: int = 2) -> str:
    """'.87', '-.05', '' for an empty cell: the APA style a methods section uses for coefficients."""
    if value is None or pd.isna(value):
        return ""
    text = f"{value:.{digits}f}"
    return text.replace("0.", ".", 1) if abs(value) < 1 else text


def page_tables(con: duckdb.DuckDBPyConnection, design: Design
                ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, tuple[int, int]]:
    """What the Reliability page shows for a design, in one cached call: the ICC and presence tables, the
    long table (for the CSV) and the design's size (sessions, coders)."""
    from rrrs_core.reliability.table import reliability

    n_sessions, n_coders, _ = extract.design_size(con, design)
    frame = reliability(con, design)
    return icc_table(frame), presence_table(frame), frame, (n_sessions, n_coders)
