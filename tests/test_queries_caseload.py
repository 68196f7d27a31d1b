"""Caseload query: values and flags checked by hand against tests/builders.py small_clinic."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from rrrs_core.queries import caseload as q
from rrrs_core.queries import directory
from tests.builders import add_dyad, add_session, add_therapist, globals_, small_clinic


def rows(df) -> dict[str, dict]:
    return {r["dyad_id"]: r for r in df.to_dict("records")}


def test_clinic_scope_lists_every_dyad_most_concerning_first(clinic_con: duckdb.DuckDBPyConnection) -> None:
    df = q.caseload(clinic_con)
    assert df.active.all()  # the last sessions are at most 21 days before the clinic's latest
    # D1: unresolved (3) + confrontation rising (2) = 5; D3: ratings pending (1); D2, D4: 0, newer first.
    assert df.dyad_id.tolist() == ["D1", "D3", "D2", "D4"]
    assert df.concern_score.tolist() == [5, 1, 0, 0]


def test_d1_values_and_flags(clinic_con: duckdb.DuckDBPyConnection) -> None:
    d1 = rows(q.caseload(clinic_con))["D1"]
    assert (d1["therapist_id"], d1["n_sessions"], d1["last_session"]) == ("T1", 4, 4)
    assert d1["last_date"].date() == dt.date(2026, 1, 26)
    # Rupture segments / 10 segments per session; session 3 uses the first coder (C1), not C2.
    assert list(d1["rupture_trend"]) == pytest.approx([0.1, 0.2, 0.5, 0.2])
    assert d1["latest_resolution"] == 2
    assert d1["n_high_contribution"] == 1  # only session 3 (5) is >= 4
    assert d1["unresolved_ruptures"] and d1["confrontation_rising"]
    assert not d1["sessions_dropped"] and not d1["ratings_pending"]
    assert d1["flags"] == "Unresolved ruptures, Confrontation rising"


def test_other_dyads(clinic_con: duckdb.DuckDBPyConnection) -> None:
    by = rows(q.caseload(clinic_con))
    assert not any(by["D2"][f.key] for f in q.FLAGS)  # resolution 3,4,5; no confrontation
    assert by["D2"]["latest_resolution"] == 5 and by["D2"]["flags"] == ""
    assert by["D3"]["ratings_pending"] and by["D3"]["n_pending"] == 1
    assert by["D3"]["latest_resolution"] == 3  # latest *rated* session (1); session 2 is pending
    assert by["D3"]["flags"] == "Ratings pending"
    assert list(by["D4"]["rupture_trend"]) == [0.0] and by["D4"]["n_sessions"] == 1


def test_threshold_changes_high_contribution_count(clinic_con: duckdb.DuckDBPyConnection) -> None:
    by = rows(q.caseload(clinic_con, threshold=2))
    assert by["D1"]["n_high_contribution"] == 4  # 2, 3, 5, 2
    assert by["D2"]["n_high_contribution"] == 0
    assert rows(q.caseload(clinic_con, threshold=5))["D1"]["n_high_contribution"] == 1


def test_scope_filters_dyads(clinic_con: duckdb.DuckDBPyConnection) -> None:
    assert q.caseload(clinic_con, directory.supervisor_scope(clinic_con, "S2")).dyad_id.tolist() == ["D2", "D4"]
    assert sorted(q.caseload(clinic_con, directory.supervisor_scope(clinic_con, "S1")).dyad_id) == ["D1", "D3"]
    assert q.caseload(clinic_con, directory.therapist_scope("T1")).dyad_id.tolist() == ["D1"]


def test_empty_database(con: duckdb.DuckDBPyConnection) -> None:
    df = q.caseload(con)
    assert df.empty and "concern_score" in df.columns


def _conf(n: int) -> list[tuple[int, str, str]]:
    """Confrontation (complaint about the therapist) in the first n of 10 segments."""
    return [(s, "complaint_therapist", "check") for s in range(1, n + 1)]


@pytest.fixture
def dyad_con(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    add_therapist(con, "T")
    return con


def _dyad(con: duckdb.DuckDBPyConnection, dyad: str, sessions: list[tuple[int, dict | None, dt.date]]) -> None:
    """sessions: (confrontation segments, ratings, date)."""
    add_dyad(con, dyad, "T")
    for i, (n, ratings, date) in enumerate(sessions, start=1):
        add_session(con, dyad, i, _conf(n), ratings, session_date=date)


def _weekly(start: dt.date, n: int) -> list[dt.date]:
    return [start + dt.timedelta(weeks=i) for i in range(n)]


def test_unresolved_needs_three_rated_sessions_with_ruptures(dyad_con: duckdb.DuckDBPyConnection) -> None:
    d = _weekly(dt.date(2026, 3, 2), 4)
    bad = globals_(r=2)
    _dyad(dyad_con, "TWO", [(1, bad, d[0]), (1, bad, d[1])])                     # only two sessions
    _dyad(dyad_con, "MID3", [(1, bad, d[0]), (1, globals_(r=3), d[1]), (1, bad, d[2])])
    _dyad(dyad_con, "QUIET", [(1, bad, d[0]), (0, bad, d[1]), (1, bad, d[2])])    # no rupture in one
    _dyad(dyad_con, "PEND", [(1, bad, d[0]), (1, bad, d[1]), (1, bad, d[2]), (1, None, d[3])])
    by = rows(q.caseload(dyad_con))
    assert not by["TWO"]["unresolved_ruptures"]
    assert not by["MID3"]["unresolved_ruptures"]
    assert not by["QUIET"]["unresolved_ruptures"]
    # A pending latest session does not hide three unresolved rated sessions before it.
    assert by["PEND"]["unresolved_ruptures"] and by["PEND"]["ratings_pending"]
    assert by["PEND"]["concern_score"] == 4


def test_confrontation_rising_uses_the_last_four_sessions(dyad_con: duckdb.DuckDBPyConnection) -> None:
    d = _weekly(dt.date(2026, 3, 2), 6)
    g = globals_(r=3)
    _dyad(dyad_con, "UP", [(1, g, d[0]), (2, g, d[1]), (3, g, d[2])])
    _dyad(dyad_con, "DOWN", [(3, g, d[0]), (2, g, d[1]), (1, g, d[2])])
    _dyad(dyad_con, "SHORT", [(1, g, d[0]), (4, g, d[1])])                       # fewer than 3 sessions
    # Falling overall, rising over the last four: 9, 8 then 0, 1, 1, 2.
    _dyad(dyad_con, "RECENT", [(9, g, d[0]), (8, g, d[1]), (0, g, d[2]), (1, g, d[3]), (1, g, d[4]),
                               (2, g, d[5])])
    # A positive slope (2, 1, 9, 2 -> 0.04 per session) but the last is back to the first.
    _dyad(dyad_con, "PEAK", [(2, g, d[0]), (1, g, d[1]), (9, g, d[2]), (2, g, d[3])])
    by = rows(q.caseload(dyad_con))
    slope = dyad_con.execute("SELECT regr_slope(y, x) FROM (VALUES (1, .2), (2, .1), (3, .9), (4, .2)) t(x, y)")
    assert slope.fetchone()[0] > 0
    assert by["UP"]["confrontation_rising"] and by["RECENT"]["confrontation_rising"]
    assert not by["DOWN"]["confrontation_rising"]
    assert not by["SHORT"]["confrontation_rising"]
    assert not by["PEAK"]["confrontation_rising"]


def test_sessions_dropped(dyad_con: duckdb.DuckDBPyConnection) -> None:
    g = globals_(r=3)
    latest = dt.date(2026, 6, 29)
    # Weekly, then a five-week gap ending on the clinic's latest date: 35 > 3 x 7 and >= 14.
    widened = [*_weekly(dt.date(2026, 4, 20), 3), dt.date(2026, 5, 25) + dt.timedelta(weeks=5)]
    assert widened[-1] == latest
    _dyad(dyad_con, "WIDE", [(0, g, x) for x in widened])
    # Weekly, in step until the clinic's latest date.
    _dyad(dyad_con, "STEADY", [(0, g, x) for x in _weekly(latest - dt.timedelta(weeks=3), 4)])
    # Weekly, last session 30 days before the clinic's latest: 30 > max(28, 21).
    _dyad(dyad_con, "GONE", [(0, g, x) for x in _weekly(latest - dt.timedelta(days=30 + 14), 3)])
    # Monthly, last session 40 days ago: 40 <= max(28, 3 x 28) -> still in its rhythm.
    monthly = [latest - dt.timedelta(days=40 + 28 * i) for i in (2, 1, 0)]
    _dyad(dyad_con, "MONTHLY", [(0, g, x) for x in monthly])
    # One session 29 days before the latest: no rhythm yet, so the 28-day floor applies.
    _dyad(dyad_con, "ONCE", [(0, g, latest - dt.timedelta(days=29))])
    # Weekly, last session 120 days ago: inactive (ended or long gone), not a fresh drop.
    _dyad(dyad_con, "ENDED", [(0, g, x) for x in _weekly(latest - dt.timedelta(days=120 + 14), 3)])
    df = q.caseload(dyad_con)
    by = rows(df)
    assert by["WIDE"]["sessions_dropped"] and by["WIDE"]["days_since_last"] == 0
    assert by["GONE"]["sessions_dropped"] and by["GONE"]["days_since_last"] == 30
    assert by["ONCE"]["sessions_dropped"]
    assert not by["STEADY"]["sessions_dropped"]
    assert not by["MONTHLY"]["sessions_dropped"]
    assert not by["ENDED"]["sessions_dropped"] and not by["ENDED"]["active"]
    assert all(by[d]["active"] for d in ("WIDE", "GONE", "ONCE", "STEADY", "MONTHLY"))
    # Status: quiet past the dyad's rhythm but within ACTIVE_DAYS; ended beyond; a widened gap that ended
    # on the latest date is active again.
    assert {d: by[d]["status"] for d in by} == {"WIDE": "Active", "STEADY": "Active", "MONTHLY": "Active",
                                                 "GONE": "Quiet", "ONCE": "Quiet", "ENDED": "Ended"}
    assert by["ENDED"]["days_since_last"] == 120 and by["ENDED"]["as_of"].date() == latest


def test_a_flagged_ended_dyad_ranks_above_an_unflagged_active_one(dyad_con: duckdb.DuckDBPyConnection) -> None:
    d = _weekly(dt.date(2025, 1, 6), 3)
    bad = globals_(r=1)
    _dyad(dyad_con, "OLD", [(2, bad, x) for x in d])  # ended with unresolved ruptures a year earlier
    _dyad(dyad_con, "NOW", [(0, globals_(r=3), dt.date(2026, 1, 5))])
    df = q.caseload(dyad_con)
    assert df.dyad_id.tolist() == ["OLD", "NOW"]  # the order is the concern, not "active first"
    old = rows(df)["OLD"]
    assert not old["active"] and old["status"] == "Ended"
    assert old["unresolved_ruptures"] and old["ended_after_rupture"]
    assert old["concern_score"] == 3 + 4


def test_equal_concern_orders_by_worst_session_severity_then_newest(
        dyad_con: duckdb.DuckDBPyConnection) -> None:
    d = _weekly(dt.date(2026, 1, 5), 3)
    _dyad(dyad_con, "MILD", [(1, globals_(r=3, tc=2), d[2])])       # severity 1 + 2 = 3, newest
    _dyad(dyad_con, "HARSH", [(1, globals_(r=3, tc=3), d[0])])      # severity 2 + 2 = 4
    _dyad(dyad_con, "CALM", [(0, globals_(r=3, tc=2), d[1])])       # no rupture: severity 1
    _dyad(dyad_con, "CALM2", [(0, globals_(r=3, tc=2), d[2])])      # the same, newer
    df = q.caseload(dyad_con)
    assert (df.concern_score == 0).all()
    assert df.dyad_id.tolist() == ["HARSH", "MILD", "CALM2", "CALM"]
    assert rows(df)["HARSH"]["worst_severity"] == 4


def _stopped(con: duckdb.DuckDBPyConnection, dyad: str, last_two: list[dict], days_quiet: int,
             latest: dt.date, before: dict | None = None) -> None:
    """Weekly sessions (four calm, then `last_two`, each with a rupture segment) ending `days_quiet` days
    before `latest`."""
    calm = before or globals_(r=4)
    ratings = [calm] * 4 + last_two
    dates = _weekly(latest - dt.timedelta(days=days_quiet + 7 * (len(ratings) - 1)), len(ratings))
    _dyad(con, dyad, [(1, r, x) for r, x in zip(ratings, dates, strict=True)])


def test_ended_after_rupture(dyad_con: duckdb.DuckDBPyConnection) -> None:
    latest = dt.date(2026, 6, 29)
    _dyad(dyad_con, "CLOCK", [(0, globals_(r=3), latest)])  # sets the data's today
    hard = globals_(r=1, tc=4)
    # D0030 of the demo: two sessions with contribution 4 and resolution 1, then 107 days without a session.
    _stopped(dyad_con, "D30", [hard, hard], 107, latest)
    _stopped(dyad_con, "RESOLVED", [globals_(r=4, tc=2), globals_(r=5, tc=1)], 107, latest)
    _stopped(dyad_con, "ACTIVE", [hard, hard], 7, latest)                       # still coming
    _stopped(dyad_con, "QUIET", [globals_(r=2), globals_(r=4)], 35, latest)     # 35 > max(28, 21)
    _stopped(dyad_con, "EARLIER", [globals_(r=4), globals_(r=4)], 107, latest, before=hard)  # 3rd-to-last
    _stopped(dyad_con, "TC_ONLY", [globals_(r=4), globals_(r=4, tc=4)], 200, latest)
    by = rows(q.caseload(dyad_con))
    assert by["D30"]["ended_after_rupture"] and by["D30"]["status"] == "Ended"
    assert by["D30"]["days_since_last"] == 107 and not by["D30"]["sessions_dropped"]
    assert by["D30"]["flags"].startswith("Ended after rupture")
    assert not by["RESOLVED"]["ended_after_rupture"] and by["RESOLVED"]["concern_score"] == 0
    assert not by["ACTIVE"]["ended_after_rupture"]
    assert by["QUIET"]["ended_after_rupture"] and by["QUIET"]["sessions_dropped"]
    assert by["QUIET"]["status"] == "Quiet"
    assert not by["EARLIER"]["ended_after_rupture"]
    assert by["TC_ONLY"]["ended_after_rupture"]
    assert not rows(q.caseload(dyad_con, threshold=5))["TC_ONLY"]["ended_after_rupture"]
    flag = next(f for f in q.FLAGS if f.key == "ended_after_rupture")
    assert flag.weight == max(f.weight for f in q.FLAGS)


def test_relation_own_trainee_staff(clinic_con: duckdb.DuckDBPyConnection) -> None:
    add_therapist(clinic_con, "T3", "S1", trainee=False)
    add_dyad(clinic_con, "D5", "T3")
    add_session(clinic_con, "D5", 1, [], globals_())
    df = q.caseload(clinic_con, directory.supervisor_scope(clinic_con, "S1"))
    assert dict(zip(df.dyad_id, df.relation, strict=True)) == {"D1": "trainee", "D3": "own", "D5": "staff"}
    clinic = rows(q.caseload(clinic_con))  # no supervisor in the clinic scope: nobody's "own"
    assert clinic["D3"]["relation"] == "staff" and clinic["D1"]["relation"] == "trainee"
    assert q.filter_rows(df, relation="own").dyad_id.tolist() == ["D3"]


def test_headline_counts_the_rows_given(clinic_con: duckdb.DuckDBPyConnection) -> None:
    df = q.caseload(clinic_con)
    assert q.headline(df) == {"dyads": 4, "flagged": 2, "unresolved": 1, "high_contribution": 1, "self_report": 0}
    flagged = q.filter_rows(df, only_flagged=True)
    assert flagged.dyad_id.tolist() == ["D1", "D3"]
    assert q.headline(flagged) == {"dyads": 2, "flagged": 2, "unresolved": 1, "high_contribution": 1,
                                   "self_report": 0}
    assert q.headline(q.filter_rows(df, relation="staff")) == {
        "dyads": 1, "flagged": 1, "unresolved": 0, "high_contribution": 0, "self_report": 0}


def test_trend_keeps_the_last_eight_sessions_oldest_first(dyad_con: duckdb.DuckDBPyConnection) -> None:
    g = globals_(r=3)
    _dyad(dyad_con, "LONG", [(n, g, x) for n, x in zip(range(10), _weekly(dt.date(2026, 1, 5), 10),
                                                       strict=True)])
    trend = rows(q.caseload(dyad_con))["LONG"]["rupture_trend"]
    assert list(trend) == pytest.approx([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])


def test_small_clinic_builder_is_what_these_tests_assume(con: duckdb.DuckDBPyConnection) -> None:
    small_clinic(con)
    assert con.execute("SELECT count(*) FROM v_session_metrics").fetchone()[0] == 10


def test_demo_clinic_d0030_ended_after_rupture_ranks_first(tmp_path) -> None:
    """The issue's case on the default demo (40 dyads): D0030 had two sessions with contribution 4 and
    resolution 1, then 107 days without a session; it used to sink below unflagged active dyads."""
    from rrrs_core import demo, store
    from rrrs_core.importing import import_path

    demo.write(tmp_path / "demo", n_dyads=40)
    con = store.connect(tmp_path / "demo.duckdb")
    import_path(con, tmp_path / "demo")
    df = q.caseload(con)
    d30 = rows(df)["D0030"]
    assert d30["ended_after_rupture"] and d30["status"] == "Ended" and d30["days_since_last"] == 107
    assert df.dyad_id.iloc[0] == "D0030"
    assert df.concern_score.is_monotonic_decreasing
    con.close()
