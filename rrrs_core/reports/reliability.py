"""The reliability report: the table a methods section needs (items, ICC with 95% CI and n, kappa/AC1).

It carries what the Reliability page shows for one design (`view.page_tables`), in the order a paper
reports it: family frequencies and global ratings first, then each code, then presence per segment, with
the design, the rules (check-minus counts as absent, which ICC form leads and why) and the bands used.
De-identified: coders appear by their coder ids only, no dyad or patient.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
from reportlab.platypus import Flowable

from rrrs_core.queries import directory
from rrrs_core.reliability import view
from rrrs_core.reliability.design import ROUTINE, Design
from rrrs_core.reliability.table import MIN_SESSIONS
from rrrs_core.reports import blocks as b
from rrrs_core.reports import layout as lay

LEAD_WHY = {
    True: "ICC(2,1), two-way random, absolute agreement, single coder: the coders are a sample of those who "
          "could have coded, and one coder's numbers are used alone.",
    False: "ICC(1,1), one-way random, single coder: the second coder varies from session to session, so coder "
           "effects cannot be separated from error and only the one-way forms apply (Shrout & Fleiss 1979).",
}


def _ci(row: pd.Series) -> str:
    if pd.isna(row.ci_low):
        return ""
    return f"[{view.fmt(row.ci_low)}, {view.fmt(row.ci_high)}]"


def _icc_rows(icc: pd.DataFrame) -> list[list[str]]:
    return [[r.label, view.fmt(r.value), _ci(r), str(r.n_units), r.band or "", r.reason or ""]
            for r in icc.itertuples()]


def _presence_rows(presence: pd.DataFrame) -> list[list[str]]:
    return [[r.label, view.fmt(r.ac1), view.fmt(r.kappa), view.fmt(r.alpha),
             "" if pd.isna(r.agreement) else f"{r.agreement:.1%}", str(r.n_units), r.band or "", r.reason or ""]
            for r in presence.itertuples()]


def reliability_report(con: duckdb.DuckDBPyConnection, design: Design = ROUTINE, *, generated_by: str,
                       now: datetime | None = None) -> bytes:
    """PDF bytes of the reliability table for `design` (routine double-coding by default)."""
    icc, presence, _, (n_sessions, n_coders) = view.page_tables(con, design)
    meta = lay.Meta("Coder reliability - 3RS", generated_by, lay.resolve_now(now), directory.is_synthetic(con))
    period = "all sessions" if not (design.since or design.until) else \
        f"sessions dated {design.since or 'first'} to {design.until or 'last'}"
    story: list[Flowable] = [
        b.para("Coder reliability", "title"),
        b.para("Rupture Resolution Rating System (3RS) - inter-rater agreement for a methods section", "subtitle"),
        b.facts([("Design", b.esc(design.describe())), ("Sessions compared", f"{n_sessions} ({period})"),
                 ("Coders", str(n_coders)), ("Leading ICC form", b.esc(LEAD_WHY[design.crossed]))]),
        b.gap(4),
        b.para("Only final, current codings are compared; a consensus coding is never a coder. Per-session "
               "values are those of the summary export (segments marked check per code and family, the "
               "global and significance ratings). For presence, a segment counts as present for a code when "
               "the code is marked <b>check</b>; <b>check-minus counts as absent</b>.", "body"),
        b.para(f"An empty cell gives its reason: fewer than 2 coders, fewer than {MIN_SESSIONS} sessions, or "
               "no variance (every coder gave every unit the same value). ICC bands: Koo &amp; Li (2016), judged "
               "on the 95% CI (poor &lt; .50, moderate .50-.75, good .75-.90, excellent &gt; .90). AC1 bands: "
               "Landis &amp; Koch (1977).", "small"),
    ]
    for title, kinds in (("Family frequencies and global ratings (per session)",
                          (view.GROUPS["family"], view.GROUPS["global"])),
                         ("Code frequencies (per session)", (view.GROUPS["seg"],)),
                         ("Significance ratings (per session)", (view.GROUPS["sig"],))):
        part = icc[icc.group.isin(kinds)]
        form = "ICC(2,1)" if design.crossed else "ICC(1,1)"
        story += [b.para(title, "h2"),
                  b.table(["Item", form, "95% CI", "n sessions", "Band (on the CI)", "Why empty"],
                          _icc_rows(part), [0.34, 0.08, 0.14, 0.09, 0.17, 0.18], right=(1, 2, 3))]
    story += [b.para("Presence per segment (check-minus counts as absent)", "h2"),
              b.table(["Code or family", "AC1", "Kappa", "Alpha", "Agreement", "n segments", "AC1 band",
                       "Why empty"], _presence_rows(presence), [0.28, 0.07, 0.07, 0.07, 0.1, 0.1, 0.14, 0.17],
                      right=(1, 2, 3, 4, 5)),
              b.para("Kappa is Cohen's for a fixed pair of coders and Fleiss' otherwise; AC1 is Gwet's (2008), "
                     "which does not collapse on rare codes as kappa does (the kappa paradox); alpha is "
                     "Krippendorff's, nominal.", "small")]
    return lay.build(story, meta)
