"""The dyad chooser: a search box and a select box of the dyads that match, never every dyad in scope.

At 100,000 sessions a scope holds 5,000 dyads (50,000 at 1,000,000): listing them all sent 272 KB of options
to the browser on every visit (2.4 MB at 1M) for a list nobody scrolls. The select box holds at most `LIMIT`
matches, plus the dyad from the URL (`dyad`), which is kept even outside the scope so that it fails loudly
on the page (`queries.dyad.require_dyad`), as a shared link to a dyad one may not see must.
"""

from __future__ import annotations

import streamlit as st

from rrrs_core.queries import dyad as q
from rrrs_core.scope import Scope
from rrrs_ui import widgets as w
from rrrs_ui.glue import query

LIMIT = 50  # matches offered at once; more than one reads in a drop-down


def label(dyad_id: str, therapist_id: str, n_coded: int, n_sessions: int) -> str:
    return f"{dyad_id} - therapist {therapist_id}, {n_coded} of {n_sessions} sessions coded"


def choose_dyad(scope: Scope) -> str | None:
    """The dyad from the URL, or the one picked here (written to the URL)."""
    current = w.param("dyad")
    find, pick = st.columns([1, 2], vertical_alignment="bottom")
    search = find.text_input("Find a dyad", key="dyad_search", placeholder="Dyad or therapist id",
                             help="Part of a dyad or therapist id, any case; the list beside it shows the "
                                  f"first {LIMIT} dyads in scope that match.")
    found = query(q.dyad_choices, scope, search, current, LIMIT)
    ids = list(found.dyad_id)
    labels = {r.dyad_id: label(r.dyad_id, r.therapist_id, r.n_coded, r.n_sessions) for r in found.itertuples()}
    choice = pick.selectbox("Dyad", ids, index=ids.index(current) if current in ids else None,
                            format_func=lambda d: labels.get(d, d), placeholder="Choose a dyad")
    matches, shown = (int(found.n_matches.iloc[0]), int(found.hit.sum())) if len(found) else (0, 0)
    if matches > shown and search.strip():
        st.caption(f"{shown} of {matches:,} matching dyads listed: type more of the id to narrow the list.")
    elif matches > shown:
        st.caption(f"{shown} of {matches:,} dyads in scope listed: type part of a dyad or therapist id to find "
                   "the others.")
    elif search.strip() and not matches:
        st.caption("No dyad in scope matches the search.")
    if choice is not None and choice != current:
        w.set_param("dyad", choice)
        return choice
    return current
