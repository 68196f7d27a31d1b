"""Which codings are compared: the two designs of a reliability study, as SQL over the store.

Only final, current codings count, and never a consensus coding: it is derived from the others, so it
would agree with them by construction.

- Fully crossed (`Design(coders=("C1", "C2"))`): the sessions that every listed coder coded; coder i fills
  slot i. Coders are then the same for every session, so every ICC form applies (rrrs leads with ICC2,
  absolute agreement of a single coder: coders are a sample, and one coder's numbers are used alone).
- Routine double-coding (`Design()`): the second coder varies from session to session, so coder effects
  cannot be separated from error and only the one-way forms apply (ICC1, ICC1k). Each session with two or
  more codings contributes its two earliest: the coders whose coding of it reached the database first
  (the first id of each coder's version history, as in the primary-coding rule of `views`), then coder id.
  `Design(coder="C3")` keeps only the routine sessions where C3 is one of those two: C3's own agreement, as
  the dyad and session pages show it beside the figures (`coder_line`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from rrrs_core.errors import RrrsError

COMPARED = "c.is_current AND c.status = 'final' AND NOT c.consensus"
_PERIOD = ("($since::DATE IS NULL OR s.session_date >= $since::DATE) AND "
           "($until::DATE IS NULL OR s.session_date <= $until::DATE)")


class ReliabilityInputError(RrrsError):
    """A request the data cannot answer (unknown coder, too few coders or sessions): the CLI exits 2."""


@dataclass(frozen=True)
class Design:
    """`coders` empty: routine double-coding over the clinic; otherwise those coders, fully crossed.
    `since`/`until` (session dates, inclusive) restrict the sessions either way."""

    coders: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    reference_for: str | None = None  # calibration: this coder against the sessions' reference codings
    coder: str | None = None  # routine design only: the sessions where this coder is one of the two compared

    @property
    def crossed(self) -> bool:
        """Same raters for every session: listed coders, or (calibration) the reference and one trainee."""
        return bool(self.coders) or self.reference_for is not None

    @property
    def k(self) -> int:
        """Codings compared per session."""
        return len(self.coders) if self.coders else 2

    @property
    def lead(self) -> str:
        """The ICC form rrrs shows first for this design."""
        return "ICC2" if self.crossed else "ICC1"

    def describe(self) -> str:
        if self.reference_for is not None:
            return f"calibration: {self.reference_for} against the reference codings"
        if self.crossed:
            return f"fully crossed: sessions coded by each of {', '.join(self.coders)}"
        if self.coder is not None:
            return f"routine double-coding: the sessions where {self.coder} is one of the two earliest final codings"
        return "routine double-coding: each session's two earliest final codings"


ROUTINE = Design()

# Calibration: slot 1 is each calibration session's reference coding (the marked coder's current, final
# coding; it may be a consensus), slot 2 the trainee's current, final coding of it. A session where the
# trainee made the reference is left out (they would agree with themselves). coder_id 'reference' keeps
# the reference apart from the trainee even when one master coder made every reference.
REFERENCE_SELECTION = """
    SELECT coding_id, dyad_id, session_number, coder_id, slot FROM (
        SELECT c.coding_id, c.dyad_id, c.session_number,
            CASE WHEN c.coder_id = $trainee THEN c.coder_id ELSE 'reference' END AS coder_id,
            CASE WHEN c.coder_id = $trainee THEN 2 ELSE 1 END AS slot,
            count(*) OVER (PARTITION BY c.dyad_id, c.session_number) AS n_codings
        FROM coding c
        JOIN reference_coding r USING (dyad_id, session_number)
        JOIN session s USING (dyad_id, session_number)
        WHERE c.is_current AND c.status = 'final' AND {period} AND r.coder_id <> $trainee
          AND (c.coder_id = r.coder_id OR (c.coder_id = $trainee AND {compared}))
    ) WHERE n_codings = 2"""


ROUTINE_SELECTION = """
    SELECT coding_id, dyad_id, session_number, coder_id, slot FROM (
        SELECT c.coding_id, c.dyad_id, c.session_number, c.coder_id,
            row_number() OVER (PARTITION BY c.dyad_id, c.session_number ORDER BY l.first_id, c.coder_id) AS slot,
            count(*) OVER (PARTITION BY c.dyad_id, c.session_number) AS n_codings
        FROM coding c {theirs}
        JOIN (SELECT dyad_id, session_number, coder_id, min(coding_id) AS first_id FROM coding {theirs} GROUP BY ALL) l
          USING (dyad_id, session_number, coder_id)
        JOIN session s USING (dyad_id, session_number)
        WHERE {compared} AND {period}
    ) WHERE n_codings >= 2 AND slot <= 2"""


def selection(design: Design) -> tuple[str, dict[str, object]]:
    """SQL for the compared codings (coding_id, dyad_id, session_number, coder_id, slot 1..k), and its
    parameters. Use it as a CTE: `WITH sel AS (<sql>) ...`."""
    params: dict[str, object] = {"since": design.since, "until": design.until}
    if design.reference_for is not None:
        params["trainee"] = design.reference_for
        return REFERENCE_SELECTION.format(period=_PERIOD, compared=COMPARED), params
    if design.crossed:
        params["coders"] = list(design.coders)
        sql = f"""
        SELECT coding_id, dyad_id, session_number, coder_id, slot FROM (
            SELECT c.coding_id, c.dyad_id, c.session_number, c.coder_id,
                list_position($coders::VARCHAR[], c.coder_id) AS slot,
                count(*) OVER (PARTITION BY c.dyad_id, c.session_number) AS n_coders
            FROM coding c JOIN session s USING (dyad_id, session_number)
            WHERE {COMPARED} AND list_contains($coders::VARCHAR[], c.coder_id) AND {_PERIOD}
        ) WHERE n_coders = len($coders::VARCHAR[])"""
        return sql, params
    if design.coder is None:
        return ROUTINE_SELECTION.format(compared=COMPARED, period=_PERIOD, theirs=""), params
    # One coder: read only the sessions they coded (not the clinic's), then keep those where they hold slot
    # 1 or 2.
    params["coder"] = design.coder
    theirs = f"SEMI JOIN (SELECT dyad_id, session_number FROM coding c WHERE {COMPARED} AND c.coder_id = $coder) t " \
             "USING (dyad_id, session_number)"
    sql = ROUTINE_SELECTION.format(compared=COMPARED, period=_PERIOD, theirs=theirs)
    return f"""
    SELECT coding_id, dyad_id, session_number, coder_id, slot FROM (
        SELECT *, bool_or(coder_id = $coder) OVER (PARTITION BY dyad_id, session_number) AS theirs FROM ({sql})
    ) WHERE theirs""", params


def coders(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Coders with at least one final, current, non-consensus coding (the ones a design may name)."""
    return [r[0] for r in con.execute(
        f"SELECT DISTINCT c.coder_id FROM coding c WHERE {COMPARED} ORDER BY 1").fetchall()]


def check(con: duckdb.DuckDBPyConnection, design: Design) -> None:
    """Refuse a crossed design naming fewer than two coders, a coder twice, or an unknown coder."""
    if design.reference_for is not None:
        if design.reference_for not in coders(con):
            raise ReliabilityInputError(f"Unknown coder {design.reference_for}: no final coding by that coder.")
        return
    if not design.crossed:
        return
    if len(design.coders) < 2:
        raise ReliabilityInputError("A fully crossed comparison needs at least 2 coders (--coders A,B).")
    if len(set(design.coders)) < len(design.coders):
        raise ReliabilityInputError(f"A coder is listed twice in {', '.join(design.coders)}.")
    known = set(coders(con))
    unknown = [c for c in design.coders if c not in known]
    if unknown:
        shown = ", ".join(sorted(known)[:20]) or "none"
        raise ReliabilityInputError(
            f"Unknown coder{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: no final coding by "
            f"{'them' if len(unknown) > 1 else 'that coder'}, consensus codings aside (coders with final "
            f"codings: {shown}).")
