"""What a supervisor reviews in one session: flags, episodes, minute ranges, strategies, reflection prompts.

Which sessions are *flagged* and how *severe* they are is the shared rule of `rrrs_core.queries.severity`
(the coder's global ratings lead; the episodes of `rrrs_core.episodes` support them with the minutes to
find on the video). Pure functions over already queried rows, shared by the dyad and the therapist report
and unit-tested without a database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from rrrs_core import codebook as cb
from rrrs_core.episodes import EPISODE_WINDOW, IN_SESSION, Episode, Mark, find_episodes, minutes
from rrrs_core.queries import severity as sev
from rrrs_core.reports.blocks import is_missing


@dataclass(frozen=True)
class SessionReview:
    """One coded session (its primary coding) with the episodes found in it."""

    dyad_id: str
    session_number: int
    session_date: date | None
    n_segments: int
    segment_minutes: int
    coder_id: str
    therapist_contribution: int | None
    overall_resolution: int | None
    ratings_pending: bool
    threshold: int
    marks: tuple[Mark, ...] = ()
    episodes: tuple[Episode, ...] = field(default=())

    @property
    def high_contribution(self) -> bool:
        return self.therapist_contribution is not None and self.therapist_contribution >= self.threshold

    @property
    def rupture_segments(self) -> int:
        """Segments with a withdrawal or confrontation marker marked check (as in `v_session_metrics`)."""
        return len({m.segment for m in self.marks if m.family in cb.RUPTURE_FAMILIES and m.clarity == "check"})

    @property
    def unresolved(self) -> bool:
        """A rupture the coder rated as not resolved (overall resolution at or below the rule's maximum)."""
        return sev.unresolved(self.overall_resolution, self.rupture_segments)

    @property
    def unaddressed(self) -> tuple[Episode, ...]:
        """Episodes with no strategy in a full window (not those the session's end cut short)."""
        return tuple(e for e in self.episodes if e.unaddressed)

    @property
    def in_session(self) -> tuple[Episode, ...]:
        """Episodes unaddressed in session: the session ended within their window."""
        return tuple(e for e in self.episodes if e.status == IN_SESSION)

    @property
    def severity(self) -> int:
        return sev.severity(self.therapist_contribution, self.overall_resolution, self.rupture_segments)

    @property
    def flagged(self) -> bool:
        return sev.flagged(self.therapist_contribution, self.overall_resolution, self.rupture_segments,
                           self.threshold, self.ratings_pending, len(self.unaddressed))

    def reasons(self) -> list[str]:
        """The parts of the rule that fired, in words (empty when the session is not flagged)."""
        out = []
        if self.high_contribution:
            out.append(f"therapist contribution {self.therapist_contribution} (at or above {self.threshold})")
        if self.unresolved:
            out.append(f"overall resolution {self.overall_resolution} with ruptures")
        if self.ratings_pending and self.unaddressed:
            where = ", ".join(e.minutes.removesuffix(" min") for e in self.unaddressed)
            plural = "s" if len(self.unaddressed) != 1 else ""
            out.append(f"ratings pending; unaddressed episode{plural} at {where} min")
        return out


def _int(value: Any) -> int | None:
    return None if is_missing(value) else int(value)


def _date(value: Any) -> date | None:
    return None if is_missing(value) else pd.Timestamp(value).date()


def marks_by_session(marks: pd.DataFrame, keys: Sequence[str]) -> dict[tuple, list[Mark]]:
    """Group a marks frame into episode `Mark`s by the given key columns."""
    out: dict[tuple, list[Mark]] = {}
    for row in marks.itertuples(index=False):
        key = tuple(getattr(row, k) for k in keys)
        out.setdefault(key, []).append(Mark(int(row.segment), row.code, row.family, row.clarity, row.label))
    return out


def build_reviews(sessions: pd.DataFrame, marks: pd.DataFrame, threshold: int,
                  dyad_id: str | None = None) -> list[SessionReview]:
    """A review per session row; `sessions` needs dyad_id (or the `dyad_id` argument), session_number,
    session_date, n_segments, segment_minutes, coder_id, the global ratings and ratings_pending."""
    with_dyad = "dyad_id" in marks.columns
    grouped = marks_by_session(marks, ["dyad_id", "session_number"] if with_dyad else ["session_number"])
    out = []
    for row in sessions.itertuples(index=False):
        d = getattr(row, "dyad_id", None) or dyad_id
        n = int(row.session_number)
        ms = grouped.get((d, n) if with_dyad else (n,), [])
        seg_min = int(row.segment_minutes)
        out.append(SessionReview(
            dyad_id=str(d), session_number=n, session_date=_date(row.session_date),
            n_segments=int(row.n_segments), segment_minutes=seg_min, coder_id=str(row.coder_id),
            therapist_contribution=_int(row.therapist_contribution),
            overall_resolution=_int(row.overall_resolution), ratings_pending=bool(row.ratings_pending),
            threshold=threshold, marks=tuple(ms),
            episodes=tuple(find_episodes(ms, int(row.n_segments), seg_min)),
        ))
    return out


def review_ranges(review: SessionReview, unaddressed_only: bool = False) -> list[str]:
    """Minute ranges to find on the video, unaddressed episodes first, each with why (with
    `unaddressed_only`, only those when there are any)."""
    ranges = []
    episodes = review.unaddressed if unaddressed_only and review.unaddressed else review.episodes
    order = {"unaddressed": 0, IN_SESSION: 1}
    for e in sorted(episodes, key=lambda e: (order.get(e.status, 2), e.first_segment)):
        ranges.append(f"{e.window_minutes} ({e.status}: rupture at {e.minutes})")
    if not ranges:
        unclear = sorted({m.segment for m in review.marks if m.family in cb.RUPTURE_FAMILIES})
        if unclear:
            ranges = [f"{minutes(s, s, review.segment_minutes)} (unclear rupture marker)" for s in unclear]
        else:
            ranges = [f"the whole session (0-{review.n_segments * review.segment_minutes} min): "
                      "no rupture marker was coded"]
    return ranges


def compact_ranges(review: SessionReview) -> str:
    """One line for a table: the unaddressed ruptures' minutes, else every episode's by status, else why."""
    if review.unaddressed:
        return ", ".join(e.minutes.removesuffix(" min") for e in review.unaddressed) + " min (unaddressed)"
    if review.episodes:
        by_status: dict[str, list[str]] = {}
        for e in review.episodes:
            by_status.setdefault(e.status, []).append(e.minutes.removesuffix(" min"))
        return "; ".join(f"{', '.join(spans)} min ({status})" for status, spans in by_status.items())
    return review_ranges(review)[0]


@dataclass(frozen=True)
class StrategyUse:
    """Resolution strategies of one coding, split into metacommunicative and other ones."""

    used: dict[str, list[str]]       # kind -> "Label (minutes)" marked check
    unclear: dict[str, list[str]]    # kind -> marked only check-minus
    unused: dict[str, list[str]]     # kind -> labels not marked at all


META, OTHER = "Metacommunicative", "Other strategies"


def strategy_use(marks: Sequence[Mark], segment_minutes: int, book: cb.Codebook = cb.DEFAULT) -> StrategyUse:
    used: dict[str, list[str]] = {META: [], OTHER: []}
    unclear: dict[str, list[str]] = {META: [], OTHER: []}
    unused: dict[str, list[str]] = {META: [], OTHER: []}
    for code in book.family("resolution"):
        kind = META if code.metacommunicative else OTHER
        checks = sorted(m.segment for m in marks if m.code == code.key and m.clarity == "check")
        minus = sorted(m.segment for m in marks if m.code == code.key and m.clarity == "check_minus")
        if checks:
            used[kind].append(f"{code.label} ({', '.join(minutes(s, s, segment_minutes) for s in checks)})")
        if minus:
            unclear[kind].append(f"{code.label} ({', '.join(minutes(s, s, segment_minutes) for s in minus)})")
        if not checks and not minus:
            unused[kind].append(code.label)
    return StrategyUse(used, unclear, unused)


def _labels(marks: Sequence[Mark], family: str) -> str:
    names = list(dict.fromkeys(m.label.lower() or m.code for m in marks if m.family == family))
    return ", ".join(names)


def _first_minutes(episode: Episode, family: str) -> str:
    """Minutes of the episode's first segment with a `family` marker: "0-5" for segment 1, not "minute 0"."""
    seg = min(m.segment for m in episode.ruptures if m.family == family)
    return minutes(seg, seg, episode.segment_minutes).removesuffix(" min")


def reflection_prompts(review: SessionReview, book: cb.Codebook = cb.DEFAULT,
                       window: int = EPISODE_WINDOW) -> list[str]:
    """Short questions in the spirit of alliance-focused supervision, tied to the flagged minutes."""
    prompts: list[str] = []
    open_ = review.unaddressed or review.in_session
    focus = open_[0] if open_ else (
        max(review.episodes, key=lambda e: (e.last_segment - e.first_segment, -e.first_segment))
        if review.episodes else None)
    if focus is not None:
        span = focus.minutes.removesuffix(" min")
        prompts.append(f"What was happening between you and the patient at minutes {span}?")
        withdrew = _labels(focus.ruptures, "withdrawal")
        confronted = _labels(focus.ruptures, "confrontation")
        if withdrew:
            prompts.append(f"What did you feel just before the patient withdrew ({withdrew}) at minutes "
                           f"{_first_minutes(focus, 'withdrawal')}?")
        if confronted:
            prompts.append(f"When the patient confronted you ({confronted}) at minutes "
                           f"{_first_minutes(focus, 'confrontation')}, what did you feel, and what did "
                           "you want to do?")
        if focus.unaddressed:
            prompts.append(f"No resolution strategy was coded within {window * focus.segment_minutes} minutes "
                           f"of the rupture at minutes {span}. What made it hard to stay with it, and what "
                           "could you say if it happened again?")
        elif not focus.addressed:
            prompts.append(f"The session ended soon after the rupture at minutes {span}, before a repair was "
                           "coded. How could you come back to it at the start of the next session?")
    if review.high_contribution:
        anchor = book.global_item("therapist_contribution").scale.anchor(review.therapist_contribution)
        prompts.append(f"Coders rated your contribution {review.therapist_contribution} of 5 "
                       f"(\u201c{anchor}\u201d). What was your part in it?")
    elif focus is not None:
        prompts.append("What was your part in it?")
    meta_used = [m for m in review.marks if m.family == "resolution" and m.clarity == "check"
                 and book.has_code(m.code) and book.code(m.code).metacommunicative]
    if review.episodes and not meta_used:
        prompts.append("No metacommunicative strategy was coded. How could you have invited the patient to "
                       "talk about what was happening between you, or shared your own experience of it?")
    elif meta_used:
        first = min(meta_used, key=lambda m: m.segment)
        when = minutes(first.segment, first.segment, review.segment_minutes).removesuffix(" min")
        if review.episodes:
            prompts.append(f"You used \u201c{first.label.lower()}\u201d at minutes {when}. How did the patient "
                           "respond, and how did it feel to you?")
        else:
            prompts.append(f"You used \u201c{first.label.lower()}\u201d at minutes {when}, with no rupture "
                           "coded around it. What did you notice that led you to it, and how did the patient "
                           "respond?")
    return prompts


def recurring_ruptures(reviews: Sequence[SessionReview], min_sessions: int = 3) -> list[tuple[str, list[int]]]:
    """Rupture codes (marked check) that recur in at least `min_sessions` flagged sessions."""
    seen: dict[str, list[int]] = {}
    for r in reviews:
        if not r.flagged:
            continue
        for label in dict.fromkeys(m.label for m in r.marks
                                   if m.family in cb.RUPTURE_FAMILIES and m.clarity == "check"):
            seen.setdefault(label, []).append(r.session_number)
    return [(label, sessions) for label, sessions in seen.items() if len(sessions) >= min_sessions]


def review_priority(review: SessionReview) -> tuple:
    """Sort key of flagged sessions everywhere: severity, highest first; then newest (date, then session
    number); the dyad id only keeps the order stable."""
    newest = -(review.session_date.toordinal() if review.session_date else 0)
    return (-review.severity, newest, -review.session_number, review.dyad_id)


def flagged_in_order(reviews: Sequence[SessionReview]) -> list[SessionReview]:
    """The flagged sessions, worst first (`review_priority`)."""
    return sorted((r for r in reviews if r.flagged), key=review_priority)


def flag_rules(threshold: int, window: int = EPISODE_WINDOW) -> list[str]:
    """The flag rule and the episode heuristic in words (ReportLab markup), for "How the flags are computed"."""
    return [
        "A <b>rupture episode</b> is a run of consecutive segments with a withdrawal or confrontation marker "
        "marked check; check-minus (unclear) markers alone do not open one.",
        f"An episode is <b>addressed</b> when a resolution strategy marked check falls in its segments or the "
        f"{window} segments after it, otherwise <b>unaddressed</b>, or <b>unaddressed in session</b> when the "
        "session ended within that window (there was no time left to code a repair; it counts neither as "
        "unaddressed nor towards a flag). Addressed means a repair was attempted, not that it worked: that is "
        "the Overall resolution rating.",
        "The coder's global ratings lead, the episodes support them with the minutes to review: a session is "
        f"<b>flagged</b> when its therapist contribution is at or above {threshold}, or it has a rupture and "
        f"overall resolution {sev.RESOLUTION_FLAG_MAX} (major ruptures not resolved), or its ratings are pending "
        "and it has an unaddressed episode.",
        "<b>Severity</b> (0-8) orders flagged sessions: (therapist contribution - 1) + (5 - overall resolution, "
        "when the session has a rupture); a missing rating adds nothing. Ties: newest first. Counts and ratings "
        "come from each session's primary coding (a consensus coding first, otherwise the first coder).",
    ]


def in_session_note(n: int) -> str:
    return f" (+{n} unaddressed in session: it ended within the window)" if n else ""


def episodes_cell(episodes: int, unaddressed: int, in_session: int) -> str:
    """"3 (1)": 3 episodes, 1 unaddressed; "3 (1 +1 e)": and 1 unaddressed in session (cut by the end)."""
    return f"{int(episodes)} ({int(unaddressed)}{f' +{int(in_session)} e' if in_session else ''})"
