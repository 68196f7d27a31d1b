"""The session page's transcript pane: which minutes to show (a segment or a rupture episode), the turns that
fall in them, and the coded marks of those segments beside them.

The turns come from `rrrs_core.transcripts.turns` (scoped and audited there); this module only cuts and
labels frames, so the page stays thin and the rules are testable without Streamlit. A span is a run of
whole segments: one segment, or an episode's rupture segments (first to last, as the page lists its
minutes). A turn belongs to a span when it overlaps it in time, so a turn that runs across a segment
boundary shows in both segments, as `transcripts.segment_turns` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import pandas as pd

from rrrs_core.codebook import RUPTURE_FAMILIES
from rrrs_core.episodes import Episode
from rrrs_core.errors import LineProblem, TranscriptError
from rrrs_core.queries.dyad import require_dyad
from rrrs_core.scope import Scope

PANE_COLUMNS = ["Segment", "Time", "Speaker", "Text"]


@dataclass(frozen=True)
class Span:
    """Segments `first`..`last` (1-based) of a session whose segments last `segment_minutes`."""

    key: str          # "s3" (segment 3) or "e1" (episode 1): the picker's value and the chart click's target
    first: int
    last: int
    segment_minutes: int
    label: str

    @property
    def start(self) -> float:
        """Seconds from the session's start (where the recording starts playing)."""
        return float((self.first - 1) * self.segment_minutes * 60)

    @property
    def end(self) -> float:
        return float(self.last * self.segment_minutes * 60)

    @property
    def segments(self) -> range:
        return range(self.first, self.last + 1)


def dyad_transcripts(con: duckdb.DuckDBPyConnection, scope: Scope, dyad_id: str) -> int:
    """How many of the dyad's sessions have a transcript (no words, so not audited): whether the dyad page
    offers a search. NotFoundError outside the scope."""
    require_dyad(con, scope, dyad_id)
    row = con.execute("SELECT count(*) FROM transcript WHERE dyad_id = ?", [dyad_id]).fetchone()
    return int(row[0]) if row else 0


def minutes(first: int, last: int, segment_minutes: int) -> str:
    return f"{(first - 1) * segment_minutes}-{last * segment_minutes} min"


def clock(seconds: float | None) -> str:
    """`m:ss` (or `h:mm:ss`) as a player shows it; empty when the transcript has no times."""
    if seconds is None or pd.isna(seconds):
        return ""
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def spans(marks: pd.DataFrame, episodes: Sequence[Episode], n_segments: int, segment_minutes: int) -> list[Span]:
    """The episodes first (what a supervisor opens), then every segment, each labelled with its minutes and,
    for a segment, the codes marked in it."""
    out = [Span(f"e{i}", e.first_segment, e.last_segment, segment_minutes,
                f"Episode {i}: {minutes(e.first_segment, e.last_segment, segment_minutes)} ({e.status})")
           for i, e in enumerate(episodes, start=1)]
    coded = marks.groupby("segment").label.apply(list).to_dict() if len(marks) else {}
    for s in range(1, n_segments + 1):
        codes = coded.get(s, [])
        what = f" - {', '.join(codes)}" if codes else ""
        out.append(Span(f"s{s}", s, s, segment_minutes, f"Segment {s}: {minutes(s, s, segment_minutes)}{what}"))
    return out


def default_key(marks: pd.DataFrame) -> str:
    """The first segment with a rupture marker, else segment 1: where a reviewer starts."""
    ruptures = marks[marks.family.isin(RUPTURE_FAMILIES)] if len(marks) else marks
    return f"s{int(ruptures.segment.min())}" if len(ruptures) else "s1"


def span_for(key: str | None, all_spans: Sequence[Span]) -> Span | None:
    return next((s for s in all_spans if s.key == key), None)


def key_of_click(first: int, last: int, all_spans: Sequence[Span]) -> str | None:
    """The span a timeline click names: an episode's (first, last) or a mark's segment (first == last)."""
    if first == last:
        return f"s{first}" if span_for(f"s{first}", all_spans) else None
    return next((s.key for s in all_spans if s.key.startswith("e") and (s.first, s.last) == (first, last)), None)


def is_timed(turns: pd.DataFrame) -> bool:
    return bool(len(turns)) and bool(turns.start.notna().all())


def span_turns(turns: pd.DataFrame, span: Span) -> pd.DataFrame:
    """The turns overlapping the span, in order, one row per turn and segment it overlaps (display form)."""
    rows = []
    for s in span.segments:
        lo, hi = (s - 1) * span.segment_minutes * 60, s * span.segment_minutes * 60
        end = turns.end.fillna(turns.start)
        inside = turns[(turns.start < hi) & ((end > lo) | ((end == turns.start) & (turns.start >= lo)))]
        rows += [{"Segment": minutes(s, s, span.segment_minutes), "Time": clock(t.start),
                  "Speaker": t.speaker, "Text": t.text, "turn": int(t.turn)} for t in inside.itertuples()]
    return pd.DataFrame(rows, columns=[*PANE_COLUMNS, "turn"])


def all_turns(turns: pd.DataFrame) -> pd.DataFrame:
    """Every turn in file order, without times: an untimed transcript cannot be cut into segments."""
    return pd.DataFrame({"Turn": turns.turn.astype(int), "Speaker": turns.speaker, "Text": turns.text})


def span_marks(marks: pd.DataFrame, span: Span) -> pd.DataFrame:
    """The coded marks of the span's segments (codebook order), as the pane lists them beside the turns."""
    if marks.empty:
        return pd.DataFrame(columns=["Segment", "Code", "Family", "Marked"])
    inside = marks[marks.segment.between(span.first, span.last)].sort_values(["segment", "position"])
    return pd.DataFrame({
        "Segment": [minutes(int(s), int(s), span.segment_minutes) for s in inside.segment],
        "Code": inside.label, "Family": inside.family,
        "Marked": ["check-minus (unclear)" if c == "check_minus" else "check" for c in inside.clarity],
    }).reset_index(drop=True)


SPEAKER_MAP_FIELD = "speaker names"


def speaker_map(text: str) -> dict[str, str]:
    """`Anna=therapist, Ben=patient` as typed on the session page; a bad entry names itself."""
    out: dict[str, str] = {}
    for item in (part.strip() for part in (text or "").split(",")):
        if not item:
            continue
        name, sep, role = item.partition("=")
        role = role.strip().lower()
        if not sep or not name.strip() or role not in ("therapist", "patient", "other"):
            raise TranscriptError([LineProblem("error", SPEAKER_MAP_FIELD, None, "speaker", item,
                                               "write NAME=therapist, NAME=patient or NAME=other, "
                                               "separated by commas")])
        out[name.strip()] = role
    return out
