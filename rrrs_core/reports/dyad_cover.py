"""The dyad report's first page: who and when, the caseload flags, coder reliability, key figures and the
flagged sessions to look at first (the rest of the report is `rrrs_core.reports.dyad`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from reportlab.platypus import Flowable

from rrrs_core import codebook as cb
from rrrs_core import palette
from rrrs_core.queries import caseload as cq
from rrrs_core.queries import dyad as dq
from rrrs_core.queries import recency
from rrrs_core.queries import severity as sev
from rrrs_core.reliability import coder_line as cl
from rrrs_core.reports import blocks as b
from rrrs_core.reports import review as rv
from rrrs_core.scope import Scope

COVER_FLAGGED = 12    # flagged sessions listed on the cover


def _period(traj: pd.DataFrame) -> str:
    dates = pd.to_datetime(traj.session_date).dropna()
    if dates.empty:
        return "no session dates recorded"
    return f"{b.fmt_date(dates.min())} to {b.fmt_date(dates.max())} (first to last coded session)"


def _coders(codings: pd.DataFrame) -> str:
    if codings.empty:
        return "none yet"
    parts = []
    for coder, rows in codings.groupby("coder_id", sort=True):
        primary = sorted(int(s) for s in rows.loc[rows.is_primary, "session_number"])
        other = sorted(int(s) for s in rows.loc[~rows.is_primary, "session_number"])
        bits = []
        if primary:
            bits.append(f"primary coding of {len(primary)} session{'s' if len(primary) != 1 else ''}")
        if other:
            bits.append(f"second coding of session{'s' if len(other) != 1 else ''} {b.fmt_list(other)}")
        parts.append(f"{b.esc(coder)} ({'; '.join(bits)})")
    return "; ".join(parts)


def _reliability(lines: Sequence[cl.CoderLine]) -> str:
    """The line beside the figures for each coder of the sessions shown (most sessions first); what is not to
    be trusted yet in bold orange."""
    if not lines:
        return "no coded sessions yet"

    def warn(text: str) -> str:
        return f'<font color="{palette.CAUTION}"><b>{text}</b></font>'

    return "<br/>".join(line.text(esc=b.esc, warn=warn) for line in lines)


def _codebooks(codings: pd.DataFrame) -> str:
    pairs = sorted({(r.codebook_id, r.codebook_version) for r in codings.itertuples()})
    if not pairs:
        return b.esc(f"{cb.DEFAULT.id} {cb.DEFAULT.version} - {cb.DEFAULT.title}")
    out = []
    for cid, version in pairs:
        book = cb.CODEBOOKS.get((cid, version))
        out.append(f"{cid} version {version}" + (f" - {book.title}" if book else ""))
    return b.esc("; ".join(out))


def cover(dyad: dict, traj: pd.DataFrame, reviews: list[rv.SessionReview], codings: pd.DataFrame,
           scope: Scope, threshold: int, last: recency.LastSession, flags: list[cq.Flag],
           reliability: Sequence[cl.CoderLine] = (), self_reports: str = "none") -> list[Flowable]:
    """The first page; `self_reports` sums up the patient's forms (`reports.selfreport.cover_line`)."""
    role = "trainee" if dyad.get("trainee") else "staff therapist"
    story: list[Flowable] = [
        b.para(f"Supervision report: dyad {b.esc(dyad['dyad_id'])}", "title"),
        b.para("Rupture Resolution Rating System (3RS) - for supervision and the therapist's own reflection",
               "subtitle"),
        b.facts([
            ("Dyad (pseudonym)", b.esc(dyad["dyad_id"])),
            ("Therapist", f"{b.esc(dyad['therapist_id'])} ({role})"),
            ("Supervisor", b.esc(dyad.get("supervisor_id") or "none recorded")),
            ("Treatment", b.esc(dyad.get("treatment") or "not recorded")),
            ("Period", b.esc(_period(traj)) if len(traj) else "no coded sessions yet"),
            ("Sessions", f"{len(traj)} coded of {int(dyad['n_sessions'])} recorded"),
            ("Self-reports", b.esc(self_reports)),
            ("Last session", b.esc(recency.describe(last.date, last.days_ago)
                                   + (f", counted to {last.as_of.isoformat()}, the latest session date in the data"
                                      if last.as_of and last.date else ""))),
            ("Caseload flags", b.esc(", ".join(f"{f.label} (weight {f.weight})" for f in flags) or "none")
             + (" - definitions on the caseload page" if flags else "")),
            ("Codebook", _codebooks(codings)),
            ("Coders", _coders(codings)),
            ("Coder reliability", _reliability(reliability)),
            ("Highlighted", f"therapist contribution at or above {threshold} (of 5)"),
            ("Scope", b.esc(scope.label)),
        ]),
        b.gap(10),
    ]
    if not len(traj):
        story.append(b.para("This dyad has no coded sessions yet, so there is nothing to chart or review"
                            + ("." if self_reports == "none" else ": the patient's self-reports follow."), "body"))
        return story
    figs = dq.key_figures(traj)
    flagged = rv.flagged_in_order(reviews)
    latest = figs["latest_resolution"]
    items = [
        (str(figs["sessions_coded"]), "sessions coded", False),
        (b.fmt_share(figs["mean_rupture_share"]), "mean share of segments with a rupture marker", False),
        (f"{b.fmt_share(figs['mean_shares']['withdrawal'])} / {b.fmt_share(figs['mean_shares']['confrontation'])}",
         "withdrawal / confrontation share", False),
        ("pending" if latest is None else str(latest),
         "latest overall resolution" + ("" if latest is None else f" (session {figs['latest_resolution_session']})"),
         False),
        (str(len(figs["high_contribution_sessions"])), f"sessions with therapist contribution >= {threshold}",
         bool(figs["high_contribution_sessions"])),
        (str(figs["unaddressed_episodes"]), "unaddressed rupture episodes"
         + rv.in_session_note(int(traj.unaddressed_in_session.sum())), False),
        (str(len(flagged)), "sessions flagged for review", False),
        (str(len(figs["pending_sessions"])), "sessions with ratings pending", False),
    ]
    story += [b.para("Key figures", "h2"), b.key_figures(items), b.gap(8)]
    if flagged:
        links = [f'<a href="#s{r.session_number}" color="#0B5394">Session {r.session_number}</a>'
                 f" ({b.fmt_date(r.session_date)}), severity {r.severity}: {b.esc('; '.join(r.reasons()))}"
                 for r in flagged[:COVER_FLAGGED]]
        if len(flagged) > COVER_FLAGGED:
            links.append(f"... and {len(flagged) - COVER_FLAGGED} more, under \u201cFlagged sessions in "
                         "detail\u201d")
        story += [b.para("To look at first", "h2"),
                  b.para("Flagged sessions, most severe first (severity 0-8: see \u201cHow the flags are "
                         "computed\u201d below).", "small"), *b.bullets(links)]
    else:
        story.append(b.para(f"No session is flagged: no therapist contribution at or above {threshold}, no "
                            f"rupture rated overall resolution {sev.RESOLUTION_FLAG_MAX}, and no unaddressed "
                            "episode in a session whose ratings are pending.", "body"))
    if figs["pending_sessions"]:
        story.append(b.para(f"Ratings pending for session(s) {b.fmt_list(figs['pending_sessions'])}: their "
                            "global ratings show as \u201cpending\u201d.", "body"))
    return story
