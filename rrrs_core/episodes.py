"""Rupture-to-resolution episodes: where in a session a rupture happened and whether a repair followed.

The 3RS codes ruptures and resolution strategies per segment and leaves the link between them to the
coder's global Overall resolution rating (manual, p. 7: resolutions need not follow directly, and one may
address several ruptures). For supervision we still want to point at "this rupture, at minute 25, got no
response", so rrrs uses this documented heuristic:

- A *rupture segment* has at least one withdrawal or confrontation marker marked `check` (the rule of
  `rupture_segments`); check-minus (unclear) markers alone do not open an episode.
- Consecutive rupture segments merge into one *episode*.
- Its *window* is its own segments plus the `EPISODE_WINDOW` segments after its last rupture segment
  (2 segments, i.e. ~10 minutes with 5-minute segments), cut at the end of the session.
- The episode is *addressed* when a resolution strategy marked `check` falls in its window. Otherwise it
  is *unaddressed*, unless its window was cut at the end of the session (a rupture in the last
  `EPISODE_WINDOW` segments): then it is *unaddressed in session*, because the session ended before a repair
  could be coded, and it counts neither as unaddressed nor towards a flag. Check-minus strategies in the
  window are listed as possible but do not count. A strategy may count for several episodes (one repair can
  address a series of ruptures).

"Addressed" means a repair was attempted, not that it worked; that is the Overall resolution rating.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import duckdb
import pandas as pd

from rrrs_core.codebook import RUPTURE_FAMILIES
from rrrs_core.queries import session as session_q
from rrrs_core.queries.dyad import PRIMARY_MARKS_CTE, require_dyad
from rrrs_core.scope import Scope

EPISODE_WINDOW = 2
"""Segments after an episode's last rupture segment in which a resolution strategy still counts."""

ADDRESSED, UNADDRESSED, IN_SESSION = "addressed", "unaddressed", "unaddressed in session"
"""An episode's status (see the module docstring): the words every table, page and PDF prints."""


class Mark(NamedTuple):
    segment: int
    code: str
    family: str
    clarity: str
    label: str = ""


def minutes(first: int, last: int, segment_minutes: int) -> str:
    """Minute range of segments first..last (1-based), the unit a supervisor finds on the video."""
    return f"{(first - 1) * segment_minutes}-{last * segment_minutes} min"


@dataclass(frozen=True)
class Episode:
    """Consecutive rupture segments and the resolution strategies in or just after them."""

    first_segment: int
    last_segment: int
    window_end: int
    segment_minutes: int
    ruptures: tuple[Mark, ...]
    strategies: tuple[Mark, ...]
    possible: tuple[Mark, ...]
    window_cut: bool = False
    """The window runs past the end of the session (a rupture in its last `EPISODE_WINDOW` segments)."""

    @property
    def addressed(self) -> bool:
        return bool(self.strategies)

    @property
    def unaddressed(self) -> bool:
        """No repair in a full window: what flags and counts use (not an episode the session cut short)."""
        return not self.strategies and not self.window_cut

    @property
    def status(self) -> str:
        return ADDRESSED if self.strategies else IN_SESSION if self.window_cut else UNADDRESSED

    @property
    def minutes(self) -> str:
        return minutes(self.first_segment, self.last_segment, self.segment_minutes)

    @property
    def window_minutes(self) -> str:
        return minutes(self.first_segment, self.window_end, self.segment_minutes)


def find_episodes(marks: Iterable[Mark], n_segments: int, segment_minutes: int = 5,
                  window: int = EPISODE_WINDOW) -> list[Episode]:
    """Episodes of one coding, in session order (pure: the unit tests' hand-computed cases run here)."""
    marks = sorted(marks, key=lambda m: (m.segment, m.family, m.code))
    rupture_segs = sorted({m.segment for m in marks if m.family in RUPTURE_FAMILIES and m.clarity == "check"})
    runs: list[list[int]] = []
    for seg in rupture_segs:
        if runs and seg == runs[-1][-1] + 1:
            runs[-1].append(seg)
        else:
            runs.append([seg])
    out = []
    for run in runs:
        first, last = run[0], run[-1]
        end = min(last + window, max(n_segments, last))
        in_window = [m for m in marks if m.family == "resolution" and first <= m.segment <= end]
        out.append(Episode(
            first, last, end, segment_minutes,
            ruptures=tuple(m for m in marks if m.family in RUPTURE_FAMILIES and first <= m.segment <= last),
            strategies=tuple(m for m in in_window if m.clarity == "check"),
            possible=tuple(m for m in in_window if m.clarity == "check_minus"),
            window_cut=last + window > n_segments,
        ))
    return out


def unlinked_strategies(marks: Iterable[Mark], episodes: Sequence[Episode]) -> list[Mark]:
    """Strategies (check) outside every window: a repair of an earlier or anticipated rupture, or a coding
    question worth raising in supervision."""
    return [m for m in marks if m.family == "resolution" and m.clarity == "check"
            and not any(e.first_segment <= m.segment <= e.window_end for e in episodes)]


def _names(marks: Sequence[Mark], with_minutes: int | None = None) -> str:
    seen: dict[str, list[int]] = {}
    for m in marks:
        seen.setdefault(m.label or m.code, []).append(m.segment)
    if with_minutes is None:
        return "; ".join(seen)
    return "; ".join(f"{name} ({', '.join(minutes(s, s, with_minutes) for s in segs)})"
                     for name, segs in seen.items())


def episodes_table(episodes: Sequence[Episode]) -> pd.DataFrame:
    """A display table: one row per episode, minute ranges first so the video can be found."""
    rows = [{
        "Episode": i,
        "Minutes": e.minutes,
        "Status": e.status,
        "Rupture markers": _names(e.ruptures),
        "Strategies within window": _names(e.strategies, e.segment_minutes) or "none",
        "Unclear strategies": _names(e.possible, e.segment_minutes),
        "Window": e.window_minutes,
    } for i, e in enumerate(episodes, start=1)]
    cols = ["Episode", "Minutes", "Status", "Rupture markers", "Strategies within window",
            "Unclear strategies", "Window"]
    return pd.DataFrame(rows, columns=cols)


def marks_from_frame(df: pd.DataFrame) -> list[Mark]:
    """Marks from a `queries.session.marks` frame."""
    return [Mark(int(r.segment), r.code, r.family, r.clarity, r.label) for r in df.itertuples()]


def session_episodes(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str, session_number: int,
                     coder_id: str, window: int = EPISODE_WINDOW) -> tuple[list[Episode], list[Mark]]:
    """Episodes of one coder's coding of a session, and the strategies outside every window."""
    header = session_q.session_header(con, scope, dyad_id, session_number)
    marks = marks_from_frame(session_q.marks(con, scope, dyad_id, session_number, coder_id))
    eps = find_episodes(marks, int(header["n_segments"]), int(header["segment_minutes"]), window)
    return eps, unlinked_strategies(marks, eps)


def dyad_episode_counts(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str,
                        window: int = EPISODE_WINDOW) -> pd.DataFrame:
    """Per coded session of a dyad: number of episodes, of unaddressed ones and of ones unaddressed in
    session (window cut at the session's end), by the same rules in SQL."""
    require_dyad(con, scope, dyad_id)
    return con.execute(
        f"""
        WITH {PRIMARY_MARKS_CTE},
        rs AS (
            SELECT DISTINCT session_number, segment FROM pm
            WHERE family IN ('withdrawal', 'confrontation') AND clarity = 'check'
        ),
        island AS (
            SELECT session_number, segment,
                segment - row_number() OVER (PARTITION BY session_number ORDER BY segment) AS grp
            FROM rs
        ),
        ep AS (
            SELECT i.session_number, i.grp, min(i.segment) AS first_seg, max(i.segment) AS last_seg,
                max(i.segment) + ? > any_value(s.n_segments) AS window_cut
            FROM island i JOIN session s ON s.dyad_id = ? AND s.session_number = i.session_number
            GROUP BY ALL
        ),
        res AS (
            SELECT DISTINCT session_number, segment FROM pm
            WHERE family = 'resolution' AND clarity = 'check'
        ),
        judged AS (
            SELECT ep.session_number, ep.grp, ep.window_cut, bool_or(res.segment IS NOT NULL) AS addressed
            FROM ep LEFT JOIN res ON res.session_number = ep.session_number
             AND res.segment BETWEEN ep.first_seg AND ep.last_seg + ?
            GROUP BY ALL
        )
        SELECT session_number, count(*)::INTEGER AS episodes,
            count(*) FILTER (WHERE NOT addressed AND NOT window_cut)::INTEGER AS unaddressed,
            count(*) FILTER (WHERE NOT addressed AND window_cut)::INTEGER AS unaddressed_in_session
        FROM judged GROUP BY ALL ORDER BY session_number
        """,
        [dyad_id, int(window), dyad_id, int(window)],
    ).df()
