"""The therapist report, for a trainee's supervision: caseload, contribution over time, sessions to review.

The caseload and its concern flags are `queries.caseload` (the caseload page's rules, printed verbatim);
the sessions to review are every flagged session of the therapist's dyads (the shared rule of
`queries.severity`), most severe first, with the minutes to find on video.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
from reportlab.platypus import CondPageBreak, Flowable

from rrrs_core import codebook as cb
from rrrs_core.charts.therapist import contribution_chart
from rrrs_core.queries import caseload as caseload_q
from rrrs_core.queries import directory, recency
from rrrs_core.queries import selfreport as srq
from rrrs_core.queries import severity as sev
from rrrs_core.reports import blocks as b
from rrrs_core.reports import data, images
from rrrs_core.reports import layout as lay
from rrrs_core.reports import review as rv
from rrrs_core.reports import selfreport as srr
from rrrs_core.scope import CLINIC, Scope

REVIEW_ROWS = 15   # sessions listed under "to review first"; the rest are counted


def therapist_report(con: duckdb.DuckDBPyConnection, therapist_id: str, *, generated_by: str,
                     scope: Scope = CLINIC, threshold: int = 4, now: datetime | None = None) -> bytes:
    """PDF bytes of the therapist report; NotFoundError for an unknown therapist or one outside `scope`."""
    return build_therapist_report(con, therapist_id, generated_by=generated_by, scope=scope,
                                  threshold=threshold, now=now)


def build_therapist_report(con: duckdb.DuckDBPyConnection, therapist_id: str, *, generated_by: str,
                           scope: Scope = CLINIC, threshold: int = 4, now: datetime | None = None,
                           clinic_caseload: pd.DataFrame | None = None) -> bytes:
    """`therapist_report`, optionally reusing `caseload(con, CLINIC, threshold)` computed once for a batch:
    the caseload query aggregates the whole clinic whatever the scope, and its rows do not depend on it."""
    who = data.require_therapist(con, scope, therapist_id)
    if clinic_caseload is None:
        cases = caseload_q.caseload(con, Scope.therapists([therapist_id], f"Therapist {therapist_id}"), threshold)
    else:
        cases = clinic_caseload[clinic_caseload.therapist_id == therapist_id].reset_index(drop=True)
    sessions = data.therapist_sessions(con, therapist_id)
    reviews = rv.build_reviews(sessions, data.therapist_marks(con, therapist_id), threshold)
    meta = lay.Meta(f"Therapist {therapist_id} - 3RS supervision report", generated_by,
                    lay.resolve_now(now), directory.is_synthetic(con))

    alerts = srq.therapist_alerts(con, therapist_id)
    story = _cover(who, sessions, reviews, scope, threshold, alerts)
    story += _caseload(cases, threshold)
    story += srr.therapist_section(alerts)
    story += _contribution(sessions, threshold)
    story += _to_review(reviews, threshold)
    return lay.build(story, meta)


def _cover(who: dict, sessions: pd.DataFrame, reviews: list[rv.SessionReview], scope: Scope,
           threshold: int, alerts: pd.DataFrame) -> list[Flowable]:
    dates = pd.to_datetime(sessions.session_date).dropna()
    period = (f"{b.fmt_date(dates.min())} to {b.fmt_date(dates.max())} (first to last coded session)"
              if len(dates) else "no coded sessions yet")
    rated = sessions.therapist_contribution.dropna()
    flagged = rv.flagged_in_order(reviews)
    high = [r for r in reviews if r.high_contribution]
    story: list[Flowable] = [
        b.para(f"Supervision report: therapist {b.esc(who['therapist_id'])}", "title"),
        b.para("Rupture Resolution Rating System (3RS) - caseload and sessions to review in supervision",
               "subtitle"),
        b.facts([
            ("Therapist", b.esc(who["therapist_id"])),
            ("Role", "trainee" if who["trainee"] else "staff therapist"),
            ("Supervisor", b.esc(who["supervisor_id"] or "none recorded")),
            ("Dyads", str(int(who["n_dyads"]))),
            ("Period", b.esc(period)),
            ("Codebook", b.esc(f"{cb.DEFAULT.id} version {cb.DEFAULT.version} - {cb.DEFAULT.title}")),
            ("Highlighted", f"therapist contribution at or above {threshold} (of 5)"),
            ("Scope", b.esc(scope.label)),
        ]),
        b.gap(10),
        b.para("Key figures", "h2"),
        b.key_figures([
            (str(int(who["n_dyads"])), "dyads", False),
            (str(len(sessions)), "coded sessions", False),
            (str(len(rated)), "sessions with a contribution rating", False),
            (b.fmt_mean(rated.mean() if len(rated) else None), "mean therapist contribution (1-5)", False),
            (str(len(high)), f"sessions with contribution >= {threshold}", bool(high)),
            (str(sum(1 for r in reviews if r.unaddressed)), "sessions with unaddressed ruptures", False),
            (str(len(flagged)), "sessions flagged for review", False),
            (str(int(sessions.ratings_pending.sum())), "sessions with ratings pending", False),
            (str(int(alerts.n_reported.sum())) if len(alerts) else "0", "sessions with the patient's self-report",
             False),
            (str(int(alerts[[f"n_{r}" for r in srq.ALERT_RULES]].sum().sum())) if len(alerts) else "0",
             "self-report alerts (see 'Patients' self-reports')", False),
        ]),
        b.gap(6),
    ]
    return story


def _caseload(cases: pd.DataFrame, threshold: int) -> list[Flowable]:
    story: list[Flowable] = [b.para("Caseload", "h1")]
    if cases.empty:
        return [*story, b.para("No dyads are assigned to this therapist.", "body")]
    rows, high = [], []
    for i, c in enumerate(cases.itertuples()):
        rows.append([c.dyad_id, c.treatment or "-", int(c.n_sessions),
                     f"{recency.describe(c.last_date, c.days_since_last)}\n{c.status}",
                     b.fmt_int(c.latest_resolution, "pending"), int(c.n_high_contribution), int(c.n_pending),
                     c.flags or "none"])
        if c.n_high_contribution:
            high.append(i)
    story += [
        b.para(f"One row per dyad. {caseload_q.ORDER_RULE} Rows shaded purple have at least one session "
               f"with therapist contribution at or above {threshold}. Last session: {recency.as_of_note(cases.as_of.iloc[0])} "
               "Status: " + " ".join(f"{k}: {v}" for k, v in caseload_q.STATUSES.items()), "small"),
        b.table(["Dyad", "Treatment", "Coded sessions", "Last session, status", "Latest resolution",
                 f"Sessions TC >= {threshold}", "Ratings pending", "Concern flags"],
                rows, [0.07, 0.09, 0.085, 0.215, 0.08, 0.08, 0.08, 0.3], highlight=high,
                right=[2, 4, 5, 6]),
        b.gap(4),
        b.para("How the concern flags are defined", "h3"),
        *b.bullets(f"<b>{b.esc(f.label)}</b>: {b.esc(f.definition)}" for f in caseload_q.FLAGS),
    ]
    return story


def _contribution(sessions: pd.DataFrame, threshold: int) -> list[Flowable]:
    story: list[Flowable] = [CondPageBreak(300), b.para("Therapist contribution over time", "h1")]
    rated = sessions.therapist_contribution.notna() & sessions.session_date.notna()
    if not rated.any():
        return [*story, b.para("No session has a therapist-contribution rating yet.", "body")]
    return [*story,
            b.para(f"Every rated session of every dyad (1 usual - 5 clearly caused). Ringed in purple: at or "
                   f"above {threshold}; the dashed line marks the threshold.", "small"),
            images.chart(contribution_chart(sessions, threshold))]


def _to_review(reviews: list[rv.SessionReview], threshold: int) -> list[Flowable]:
    flagged = rv.flagged_in_order(reviews)
    story: list[Flowable] = [CondPageBreak(200), b.para("Sessions to review first", "h1")]
    if not flagged:
        return [*story, b.para(f"No session is flagged: no therapist contribution at or above {threshold}, no "
                               f"rupture rated overall resolution {sev.RESOLUTION_FLAG_MAX}, and no unaddressed "
                               "episode in a session whose ratings are pending.", "body")]
    shown = flagged[:REVIEW_ROWS]
    rows, high = [], []
    for i, r in enumerate(shown):
        ruptures = "; ".join(dict.fromkeys(m.label for e in (r.unaddressed or r.episodes) for m in e.ruptures))
        rows.append([r.dyad_id, r.session_number, b.fmt_date(r.session_date), r.severity,
                     b.fmt_rating(r.therapist_contribution, r.ratings_pending),
                     b.fmt_rating(r.overall_resolution, r.ratings_pending), len(r.unaddressed),
                     rv.compact_ranges(r), ruptures or "-"])
        if r.high_contribution:
            high.append(i)
    story += [
        b.para(f"Flagged sessions of {len({r.dyad_id for r in flagged})} dyad(s), most severe first, newest first "
               f"on ties. {b.esc(sev.RULE.format(threshold=threshold))} Rows shaded purple: contribution at or "
               "above the threshold. Minutes refer to the session recording.", "small"),
        b.table(["Dyad", "Session", "Date", "Severity", "Therapist contrib.", "Overall resolution",
                 "Unaddressed episodes", "Minutes to review", "Rupture markers"], rows,
                [0.07, 0.06, 0.1, 0.065, 0.075, 0.075, 0.09, 0.2, 0.265], highlight=high, right=(1, 3, 4, 5, 6)),
    ]
    if len(flagged) > len(shown):
        story.append(b.para(f"{len(flagged) - len(shown)} more flagged session(s) are not listed; the dyad "
                            "reports show every one.", "small"))
    return story
