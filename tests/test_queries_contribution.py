"""Therapist-contribution queries, checked by hand against tests/builders.py small_clinic.

T1 (D1) is rated 2, 3, 5, 2 (mean 3; session 3's primary coding is C1's 5, not C2's 4); T2 (D2, D4)
1, 1, 1, 1; S1 (D3) 1, with D3 session 2 pending.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from rrrs_core.queries import contribution as q
from rrrs_core.queries import directory
from tests.builders import add_dyad, add_session, add_therapist, globals_


def keys(df) -> list[tuple[str, int]]:
    return list(zip(df.dyad_id, df.session_number, strict=True))


def test_threshold_four_lists_only_d1_session_3(clinic_con: duckdb.DuckDBPyConnection) -> None:
    df = q.high_contribution_sessions(clinic_con, threshold=4)
    assert keys(df) == [("D1", 3)]
    row = df.iloc[0]
    assert row.therapist_id == "T1" and row.supervisor_id == "S1"
    assert row.therapist_contribution == 5 and row.overall_resolution == 1
    assert (row.withdrawal_segments, row.confrontation_segments) == (0, 5)
    assert row.rupture_codes == "Complaint/concern about the therapist ×4; Efforts to control/pressure therapist"
    assert row.therapist_mean == pytest.approx(3.0) and bool(row.above_own_mean)
    assert row.session_date.date() == dt.date(2026, 1, 19)


def test_threshold_two_lists_all_of_d1_worst_first(clinic_con: duckdb.DuckDBPyConnection) -> None:
    df = q.high_contribution_sessions(clinic_con, threshold=2)
    # Severity (tc - 1) + (5 - res), every session has a rupture: s3 4 + 4 = 8, s2 2 + 3 = 5, s4 and s1
    # 1 + 3 = 4 (s4 newer first).
    assert keys(df) == [("D1", 3), ("D1", 2), ("D1", 4), ("D1", 1)]
    assert df.severity.tolist() == [8, 5, 4, 4]
    assert df.above_mean_by.tolist() == [2.0, 0.0, -1.0, -1.0]
    codes = dict(zip(df.session_number, df.rupture_codes, strict=True))
    # Codebook order (withdrawal before confrontation); the check-minus denial in session 2 is not a marker.
    assert codes[4] == "Deferential and appeasing; Complaint/concern about progress"
    assert codes[2] == "Complaint/concern about the therapist; Rejects therapist intervention"
    assert codes[1] == "Minimal response"
    assert df.above_own_mean.tolist() == [True, False, False, False]


def test_threshold_one_lists_every_rated_session_never_pending(clinic_con: duckdb.DuckDBPyConnection) -> None:
    df = q.high_contribution_sessions(clinic_con, threshold=1)
    assert len(df) == 9
    assert ("D3", 2) not in keys(df)
    assert df.loc[df.dyad_id == "D4", "rupture_codes"].tolist() == [""]


def test_scope(clinic_con: duckdb.DuckDBPyConnection) -> None:
    s2 = directory.supervisor_scope(clinic_con, "S2")
    assert q.high_contribution_sessions(clinic_con, s2, threshold=4).empty
    assert set(q.high_contribution_sessions(clinic_con, s2, threshold=1).dyad_id) == {"D2", "D4"}
    assert keys(q.high_contribution_sessions(clinic_con, directory.therapist_scope("T1"), 4)) == [("D1", 3)]


def test_summary_counts(clinic_con: duckdb.DuckDBPyConnection) -> None:
    assert q.contribution_summary(clinic_con, threshold=4) == {
        "n_rated": 9, "n_unrated": 1, "n_at_threshold": 1, "n_above_own_mean": 1,
        "n_above_own_mean_below_threshold": 0}
    assert q.contribution_summary(clinic_con, threshold=2)["n_at_threshold"] == 4
    s2 = q.contribution_summary(clinic_con, directory.supervisor_scope(clinic_con, "S2"), 4)
    assert (s2["n_rated"], s2["n_unrated"], s2["n_at_threshold"]) == (4, 0, 0)
    assert q.contribution_summary(clinic_con, directory.therapist_scope("S1"), 4)["n_unrated"] == 1


@pytest.fixture
def steady_con(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Therapist X rated 1, 1, 1, 3 (mean 1.5): session 4 is 1.5 above X's own mean, below threshold 4."""
    add_therapist(con, "X")
    add_dyad(con, "DX", "X")
    for n, tc in enumerate((1, 1, 1, 3), start=1):
        add_session(con, "DX", n, [(1, "denial", "check")], globals_(r=3, tc=tc))
    return con


def test_relative_flag_lists_sessions_above_own_mean(steady_con: duckdb.DuckDBPyConnection) -> None:
    assert q.high_contribution_sessions(steady_con, threshold=4).empty
    df = q.high_contribution_sessions(steady_con, threshold=4, include_relative=True)
    assert keys(df) == [("DX", 4)] and bool(df.above_own_mean.iloc[0])
    assert df.therapist_mean.iloc[0] == pytest.approx(1.5)
    summary = q.contribution_summary(steady_con, threshold=4)
    assert summary["n_above_own_mean"] == 1 and summary["n_above_own_mean_below_threshold"] == 1


def test_same_date_orders_by_session_number_and_limit(con: duckdb.DuckDBPyConnection) -> None:
    add_therapist(con, "Y")
    add_dyad(con, "DY", "Y")
    for n in (1, 2, 3):
        add_session(con, "DY", n, [], globals_(tc=4), session_date=dt.date(2026, 2, 2))
    assert q.high_contribution_sessions(con).session_number.tolist() == [3, 2, 1]
    assert q.high_contribution_sessions(con, limit=2).session_number.tolist() == [3, 2]


def test_distribution_counts_every_rating_per_therapist(clinic_con: duckdb.DuckDBPyConnection) -> None:
    dist = q.contribution_distribution(clinic_con)
    assert len(dist) == 15  # 3 rated therapists x ratings 1-5, zeros kept
    counts = {(t, r): n for t, r, n in dist.itertuples(index=False)}
    assert [counts[("T1", r)] for r in range(1, 6)] == [0, 2, 1, 0, 1]
    assert [counts[("T2", r)] for r in range(1, 6)] == [4, 0, 0, 0, 0]
    assert [counts[("S1", r)] for r in range(1, 6)] == [1, 0, 0, 0, 0]
    only_t1 = q.contribution_distribution(clinic_con, directory.therapist_scope("T1"))
    assert set(only_t1.therapist_id) == {"T1"}


def test_empty_database(con: duckdb.DuckDBPyConnection) -> None:
    assert q.high_contribution_sessions(con).empty
    assert q.contribution_distribution(con).empty
    assert q.contribution_summary(con)["n_rated"] == 0


def test_distribution_chart_renders_png_with_highlight(clinic_con: duckdb.DuckDBPyConnection) -> None:
    from rrrs_core import palette
    from rrrs_core.charts import contribution as charts
    from rrrs_core.charts import render

    chart = charts.distribution_chart(q.contribution_distribution(clinic_con), threshold=4)
    png = render.to_png(chart)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    spec = chart.to_dict()
    assert spec["encoding"]["color"]["scale"]["range"] == charts.rating_colours(4)
    assert charts.rating_colours(4)[3] == palette.HIGHLIGHT           # 4 is the first highlighted rating
    assert palette.HIGHLIGHT not in charts.rating_colours(4)[:3]
    assert charts.rating_colours(1)[0] == palette.HIGHLIGHT and charts.rating_colours(5)[3] == palette.NEUTRAL


def test_distribution_chart_of_a_large_clinic_shows_the_therapists_to_look_at_first() -> None:
    """A 100k-session clinic has over a thousand therapists: Altair refuses more than 5,000 rows, and a
    bar per therapist would be metres tall. The chart keeps those with the most high ratings."""
    import pandas as pd

    from rrrs_core.charts import contribution as charts

    rows = [(f"T{t:04d}", r, 1 + (t % 7 if r >= 4 else 3)) for t in range(1500) for r in range(1, 6)]
    dist = pd.DataFrame(rows, columns=["therapist_id", "rating", "n"])
    spec = charts.distribution_chart(dist, threshold=4).to_dict()   # raised MaxRowsError before the limit
    shown = {row["therapist_id"] for row in spec["datasets"][spec["data"]["name"]]}
    assert len(shown) == charts.MAX_THERAPISTS
    assert all(int(t[1:]) % 7 == 6 for t in shown)                   # the most ratings at or above 4
    assert spec["encoding"]["y"]["sort"] == sorted(shown, key=lambda t: int(t[1:]))
    assert "of 1500 in scope" in " ".join(spec["title"]["subtitle"])
    small = charts.distribution_chart(dist[dist.therapist_id.isin(["T0001", "T0002"])], threshold=4).to_dict()
    assert len(small["title"]["subtitle"]) == 1
