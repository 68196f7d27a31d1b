"""One coder's current reliability in one line, shown beside the figures that coder's codings produced (the
dyad page, the session page, the dyad PDF), e.g. "C3: ICC .82 [.74-.88] on rupture frequency, 24
double-coded sessions; calibration: meets criterion".

The rule:
- Agreement: the coder's routine double-coded sessions (`Design(coder=...)`: final, current, non-consensus
  codings; the sessions where this coder's coding is one of the two earliest). ICC(1,1), one-way, because
  the second coder varies from session to session, on `rupture_segments` (rupture frequency: segments with a
  withdrawal or confrontation marker, check), with its 95% CI and n. Fewer than 5 such sessions: no number.
- Calibration: `calibration.status` with the default criterion against the reference codings, when the
  coder coded calibration sessions; a coder who made the references is the reference coder. A coder without
  calibration sessions has not met the criterion.
- A consensus coding is derived from the coders' codings, so its "coder" has no agreement of its own.

Only coder ids and agreement statistics appear, never other dyads' data, so every role that sees the page
may see the line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from rrrs_core.reliability import calibration, extract
from rrrs_core.reliability.design import COMPARED, Design, selection
from rrrs_core.reliability.table import FEW_SESSIONS, MIN_SESSIONS, icc_rows
from rrrs_core.reliability.view import fmt
from rrrs_core.store import scalar

ITEM = "rupture_segments"
ITEM_LABEL = "rupture frequency"
REFERENCE = "reference coder"
NO_CALIBRATION = "no calibration sessions"
RULE = (f"Agreement: ICC(1,1) with its 95% CI on {ITEM_LABEL} (segments with a withdrawal or confrontation "
        "marker, check) over the coder's routine double-coded sessions (final codings, consensus aside, where "
        f"the coder's is one of the session's two earliest codings); no number below {MIN_SESSIONS} sessions. "
        f"Calibration: against the reference codings, {calibration.DEFAULT.describe()}.")


@dataclass(frozen=True)
class CoderLine:
    """What the line says about one coder; `text` words it."""

    coder_id: str
    sessions: int  # routine double-coded sessions
    icc: float | None
    ci_low: float | None
    ci_high: float | None
    reason: str  # why `icc` is empty ("" when it is not)
    calibration: str | None  # MEETS, NOT_YET, REFERENCE, or None (no calibration sessions)
    short_of: tuple[str, ...] = ()
    consensus_only: bool = False

    @property
    def calibrated(self) -> bool:
        return self.calibration in (calibration.MEETS, REFERENCE)

    def text(self, esc: Callable[[str], str] = str, warn: Callable[[str], str] = str) -> str:
        """The line; `esc` makes plain text safe for the medium (Markdown, ReportLab markup), `warn` marks
        (already escaped) what a reader should not trust yet: no or too few double-coded sessions, an
        undefined ICC, the calibration criterion not met."""
        def caution(text: str) -> str:
            return warn(esc(text))

        head = f"{esc(self.coder_id)}: "
        if self.consensus_only:
            return head + esc("consensus coding (derived from the coders' codings: no agreement of its own)")
        noun = "session" if self.sessions == 1 else "sessions"
        if self.sessions == 0:
            agreement = caution("no double-coded sessions")
        elif self.reason == FEW_SESSIONS:
            agreement = caution(f"only {self.sessions} double-coded {noun} (fewer than {MIN_SESSIONS}: no ICC yet)")
        elif self.icc is None:
            agreement = caution(f"ICC undefined ({self.reason})") + ", " + esc(f"{self.sessions} double-coded {noun}")
        else:
            ci = f" [{fmt(self.ci_low)}-{fmt(self.ci_high)}]" if self.ci_low is not None else ""
            agreement = esc(f"ICC {fmt(self.icc)}{ci} on {ITEM_LABEL}, {self.sessions} double-coded {noun}")
        if self.calibration == REFERENCE:
            cal = esc("calibration: reference coder")
        elif self.calibration == calibration.MEETS:
            cal = esc("calibration: meets criterion")
        elif self.calibration is None:
            cal = caution(f"not yet calibrated ({NO_CALIBRATION})")
        else:
            cal = caution("not yet calibrated (criterion not met)")
        return f"{head}{agreement}; {cal}"


def _agreement(con: duckdb.DuckDBPyConnection, coder_id: str) -> tuple[int, float | None, float | None,
                                                                         float | None, str]:
    """Sessions, ICC(1,1), CI and reason on the coder's routine double-coded sessions (SQL, then numpy)."""
    design = Design(coder=coder_id)
    sel, params = selection(design)
    values = con.execute(f"""
        WITH sel AS MATERIALIZED ({sel})
        SELECT sel.dyad_id, sel.session_number, sel.slot, sel.coder_id, m.{ITEM}::DOUBLE AS {ITEM}
        FROM sel JOIN v_coding_metrics m USING (coding_id)
        ORDER BY sel.dyad_id, sel.session_number, sel.slot""", params).df()
    if values.empty:
        return 0, None, None, None, ""
    table, n_coders = extract.Wide(values, design.k).table(ITEM)
    row = next(r for r in icc_rows(ITEM, table, n_coders, design) if r.statistic == "ICC1")
    return len(values) // design.k, row.value, row.ci_low, row.ci_high, row.reason


def _calibration(con: duckdb.DuckDBPyConnection, coder_id: str) -> tuple[str | None, tuple[str, ...]]:
    if scalar(con, "SELECT count(*) FROM reference_coding WHERE coder_id = ?", [coder_id]):
        return REFERENCE, ()
    n = scalar(con, f"""SELECT count(*) FROM reference_coding r JOIN coding c USING (dyad_id, session_number)
                        WHERE c.coder_id = ? AND {COMPARED}""", [coder_id])
    if not n:
        return None, ()
    verdict, short = calibration.status(calibration.trainee_table(con, coder_id))
    return verdict, tuple(short)


def coder_line(con: duckdb.DuckDBPyConnection, coder_id: str) -> CoderLine:
    """The coder's current reliability (see the module's rule)."""
    if not scalar(con, f"SELECT count(*) FROM coding c WHERE c.coder_id = ? AND {COMPARED}", [coder_id]):
        consensus = scalar(con, "SELECT count(*) FROM coding WHERE coder_id = ? AND is_current AND consensus",
                           [coder_id])
        if consensus:
            return CoderLine(coder_id, 0, None, None, None, "", None, consensus_only=True)
    sessions, icc, low, high, reason = _agreement(con, coder_id)
    verdict, short = _calibration(con, coder_id)
    return CoderLine(coder_id, sessions, icc, low, high, reason, verdict, short)


def coder_lines(con: duckdb.DuckDBPyConnection, coder_ids: tuple[str, ...]) -> list[CoderLine]:
    """One line per coder, in the order given (pages cache this per tuple of coders shown)."""
    return [coder_line(con, c) for c in dict.fromkeys(coder_ids)]
