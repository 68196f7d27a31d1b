"""Which coded sessions a supervisor should review, and in what order: one rule for every page and PDF.

The coder's global judgment leads (3RS manual: Overall resolution and Therapist contribution are the coder's
view of the whole session); the segment heuristic of `rrrs_core.episodes` only supports it:

- A session is *flagged* when its therapist contribution is at or above the threshold (default 4), or it has
  a rupture segment and an overall resolution of at most `RESOLUTION_FLAG_MAX` (1: "major ruptures were not
  resolved", manual p. 9), or, while its global ratings are still pending, it has an unaddressed episode.
- Its *severity* orders flagged sessions everywhere: (therapist contribution - 1) + (5 - overall resolution
  when the session has a rupture segment), 0-8; a missing rating adds nothing. Ties go newest first.

Both are computed in SQL where sessions are aggregated (`severity_sql`, `flagged_sql`) and in Python for rows
already fetched (`severity`, `flagged`); the unit tests hold the two to the same answers.
"""

from __future__ import annotations

RESOLUTION_FLAG_MAX = 1
"""Overall resolution at or below this, in a session with a rupture, flags the session on its own."""


def severity(therapist_contribution: int | None, overall_resolution: int | None,
             rupture_segments: int | None) -> int:
    """Severity 0-8 of one session's primary coding (see the module docstring)."""
    tc = 0 if therapist_contribution is None else therapist_contribution - 1
    unresolved = 0 if overall_resolution is None or not rupture_segments else 5 - overall_resolution
    return tc + unresolved


def unresolved(overall_resolution: int | None, rupture_segments: int | None) -> bool:
    """A rupture the coder rated as not resolved: the second part of the flag rule."""
    return bool(rupture_segments) and overall_resolution is not None and overall_resolution <= RESOLUTION_FLAG_MAX


def flagged(therapist_contribution: int | None, overall_resolution: int | None, rupture_segments: int | None,
            threshold: int, ratings_pending: bool = False, unaddressed_episodes: int = 0) -> bool:
    """Whether a session is flagged for review (see the module docstring)."""
    if therapist_contribution is not None and therapist_contribution >= threshold:
        return True
    if unresolved(overall_resolution, rupture_segments):
        return True
    return bool(ratings_pending and unaddressed_episodes)


def severity_sql(alias: str = "") -> str:
    """SQL for `severity` over a row of `v_session_metrics` (or anything with the same columns)."""
    p = f"{alias}." if alias else ""
    return (f"(coalesce({p}therapist_contribution - 1, 0) + CASE WHEN {p}rupture_segments > 0 "
            f"THEN coalesce(5 - {p}overall_resolution, 0) ELSE 0 END)")


def flagged_sql(threshold: str = "?", alias: str = "") -> str:
    """SQL for `flagged` by the global ratings alone (the pending-ratings heuristic needs the episodes, which
    only the session-level views compute); `threshold` is a placeholder or a column."""
    p = f"{alias}." if alias else ""
    return (f"coalesce({p}therapist_contribution >= {threshold}, false) OR coalesce({p}rupture_segments > 0 "
            f"AND {p}overall_resolution <= {RESOLUTION_FLAG_MAX}, false)")


RULE = ("A session is flagged when therapist contribution is at or above {threshold}, or it has a rupture and "
        f"overall resolution {RESOLUTION_FLAG_MAX}, or (ratings still pending) an unaddressed rupture episode. "
        "Severity = (contribution - 1) + (5 - resolution, when there is a rupture), 0-8; worst first, then newest.")
"""The rule in one sentence, for captions and PDFs (format with `threshold`)."""
