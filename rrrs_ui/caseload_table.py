"""The caseload table as the browser gets it: only the columns it shows, built once per data version.

Measured at 100,000 sessions (5,000 dyads, tests/bench/browser.py): the page shipped all 33 columns of
`queries.caseload.caseload` plus its display columns, 1.75 MB over the websocket per visit, and rebuilt each
row's flag labels, "last session" text and link on every rerun (~170 ms of Python), then converted the frame
to Arrow (~70 ms). The shown frame is now built once per (store version, scope, threshold, toggles, carried
link parameters) and kept as an Arrow table, which `st.dataframe` sends without converting again.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import streamlit as st

from rrrs_core.queries import caseload, recency
from rrrs_core.scope import Scope
from rrrs_ui import cells, glue, links

SHOWN = ["dyad_link", "status", "concern_score", "last_seen", "flag_list", "relation_label", "therapist_id",
         "worst_severity", "rupture_trend", "latest_resolution", "latest_srs", "n_high_contribution", "n_sessions",
         "treatment"]


# Narrower Arrow types for the browser: values as shown (scores, counts, shares drawn as a sparkline),
# and the few distinct texts of status, relation, therapist and treatment sent once per table, not per row.
NARROW = {"concern_score": pa.int16(), "worst_severity": pa.int8(), "latest_resolution": pa.int8(),
          "n_high_contribution": pa.int32(), "n_sessions": pa.int32(),
          "rupture_trend": pa.list_(pa.float32())}
REPEATED = ("status", "relation_label", "therapist_id", "treatment")


def compact(table: pa.Table) -> pa.Table:
    """The same values in about half the bytes (12 MB -> 7.7 MB for the 50,000 dyads of 1M sessions)."""
    for i, field in enumerate(table.schema):
        column = table.column(i)
        if field.name in NARROW:
            column = column.cast(NARROW[field.name])
        elif field.name in REPEATED:
            column = pc.dictionary_encode(column)
        else:
            continue
        table = table.set_column(i, field.name, column)
    return table


@dataclass(frozen=True)
class Caseload:
    """What the caseload page shows: the table (None when no row is left), its headline counts and notes."""
    listed: int                   # dyads in scope before the toggles (audited)
    present: tuple[str, ...]      # relations present in scope ('own', 'trainee', 'staff')
    shown: int                    # rows after the toggles
    empty_scope: bool             # nothing coded or self-reported in scope at all
    counts: dict[str, int]
    n_ended_hidden: int
    as_of: object
    table: pa.Table | None


def _build(scope: Scope, threshold: int, inactive: bool, only_flagged: bool, relation: str | None) -> Caseload:
    everything = glue.query(caseload.caseload, scope, threshold)
    present = tuple(r for r in caseload.RELATIONS if r in set(everything.relation))
    shown = caseload.filter_rows(everything, include_inactive=inactive, only_flagged=only_flagged,
                                 relation=relation)
    n_ended_hidden = 0 if inactive else int((~everything.active.astype(bool)).sum())
    as_of = everything.as_of.iloc[0] if len(everything) else None
    table = None
    if not shown.empty:
        frame = pd.DataFrame({
            "dyad_link": links.dyad_urls(shown.dyad_id),
            "status": shown.status,
            "concern_score": shown.concern_score,
            "last_seen": [recency.describe(d, n) for d, n in zip(shown.last_date, shown.days_since_last,
                                                                 strict=True)],
            "flag_list": cells.flag_lists(shown),
            "relation_label": shown.relation.map(caseload.RELATIONS),
            **{c: shown[c] for c in SHOWN[6:]},
        })
        if len(present) <= 1:  # one relation only: the column would say the same on every row
            frame = frame.drop(columns="relation_label")
        table = compact(pa.Table.from_pandas(frame, preserve_index=False))
    return Caseload(listed=len(everything), present=present, shown=len(shown), empty_scope=everything.empty,
                    counts=caseload.headline(shown), n_ended_hidden=n_ended_hidden, as_of=as_of, table=table)


@st.cache_resource(show_spinner=False, max_entries=64)
def _cached(version: tuple[str, object], scope: Scope, threshold: int, inactive: bool, only_flagged: bool,
            relation: str | None, carried: tuple[tuple[str, str], ...]) -> Caseload:
    """Shared by the server's sessions and never mutated (a resource, so a hit costs no copy); keyed on the
    store's data version, so a write anywhere shows as in `glue.query`, and on the link parameters the rows
    carry."""
    del version, carried  # cache keys only: `glue.query` and `links` read them again
    return _build(scope, threshold, inactive, only_flagged, relation)


def rows(scope: Scope, threshold: int, *, inactive: bool, only_flagged: bool, relation: str | None) -> Caseload:
    """The caseload page's table and counts for these filters."""
    version = (glue.db_location(), glue.data_version())
    carried = tuple(sorted(links.carried_params().items()))
    return _cached(version, scope, threshold, inactive, only_flagged, relation, carried)
