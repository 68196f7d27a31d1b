"""Clinic QI queries: hand-computed aggregates, small-cell suppression and de-identification."""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb
import pandas as pd
import pytest

from rrrs_core.queries import clinic as q
from tests.builders import add_dyad, add_session, add_therapist, globals_

IDENTIFIERS = {"D1", "D2", "D3", "D4", "P-ALPHA", "P-BRAVO", "P-CHARLIE", "P-DELTA", "T1", "T2", "S1", "S2"}


def pseudonym(therapist_id: str) -> str:
    return "Therapist " + hashlib.sha256(therapist_id.encode()).hexdigest()[:6]


def by_treatment(df: pd.DataFrame) -> dict[str, dict]:
    return {r["treatment"]: r for r in df.to_dict("records")}


def big_clinic(con: duckdb.DuckDBPyConnection) -> None:
    """30 sessions in March 2026: therapist A (CBT) and B (Psychodynamic), 3 dyads x 5 sessions each.

    Odd-numbered sessions have a rupture (3 of 5), so each treatment's share is 9/15 = 0.6.
    CBT: resolution 3, contribution 1; Psychodynamic: resolution 4, contribution 2.
    """
    for therapist, treatment, r, tc in (("A", "CBT", 3, 1), ("B", "Psychodynamic", 4, 2)):
        add_therapist(con, therapist)
        for k in range(3):
            dyad = f"{therapist}{k}"
            add_dyad(con, dyad, therapist, f"PAT-{dyad}", treatment)
            for n in range(1, 6):
                marks = [(1, "denial", "check")] if n % 2 else []
                add_session(con, dyad, n, marks, globals_(r=r, tc=tc),
                            session_date=dt.date(2026, 3, 2) + dt.timedelta(days=4 * n + k))


@pytest.fixture
def big_con(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    big_clinic(con)
    return con


def test_small_clinic_trends_suppress_small_cells(clinic_con: duckdb.DuckDBPyConnection) -> None:
    rows = by_treatment(q.trends(clinic_con, period="month"))
    assert list(rows) == ["CBT", "Psychodynamic", q.ALL_TREATMENTS]
    cbt = rows["CBT"]  # D1 (4 sessions, all ruptured) + D3 (2, one ruptured); resolutions 2,2,1,2,3
    assert (cbt["sessions"], cbt["rated_sessions"]) == ("6", "5")
    assert cbt["rupture_share"] == pytest.approx(5 / 6) and cbt["mean_resolution"] == pytest.approx(2.0)
    pd_ = rows["Psychodynamic"]  # D2 + D4: 4 sessions
    assert (pd_["sessions"], pd_["rated_sessions"]) == ("<5", "<5") and pd_["suppressed"]
    assert pd.isna(pd_["rupture_share"]) and pd.isna(pd_["mean_resolution"])
    total = rows[q.ALL_TREATMENTS]
    assert total["sessions"] == "10" and total["is_total"]
    assert total["rupture_share"] == pytest.approx(0.8) and total["mean_resolution"] == pytest.approx(25 / 9)


def test_small_clinic_contribution_counts_are_suppressed(clinic_con: duckdb.DuckDBPyConnection) -> None:
    rows = by_treatment(q.contribution_table(clinic_con, period="quarter"))
    cbt = rows["CBT"]  # ratings 2, 3, 5, 2 (D1) and 1 (D3)
    assert cbt["rated_sessions"] == "5"
    assert [cbt[f"rating_{r}"] for r in range(1, 6)] == ["<5", "<5", "<5", "0", "<5"]
    assert cbt["mean_contribution"] == pytest.approx(2.6)
    pd_ = rows["Psychodynamic"]  # 4 rated sessions: every cell suppressed, even the zeros
    assert [pd_[f"rating_{r}"] for r in range(1, 6)] == ["<5"] * 5 and pd.isna(pd_["mean_contribution"])
    total = rows[q.ALL_TREATMENTS]
    assert total["rating_1"] == "5" and total["mean_contribution"] == pytest.approx(17 / 9)


def test_small_clinic_therapists_are_pseudonymous_and_suppressed(clinic_con: duckdb.DuckDBPyConnection) -> None:
    df = q.therapist_table(clinic_con)
    assert sorted(df.therapist) == sorted(pseudonym(t) for t in ("T1", "T2", "S1"))
    assert set(df.sessions) == {"<5"} and df.rupture_share.isna().all()


def test_big_clinic_unsuppressed(big_con: duckdb.DuckDBPyConnection) -> None:
    rows = by_treatment(q.trends(big_con, period="quarter"))
    assert rows["CBT"]["period_start"].date() == dt.date(2026, 1, 1)
    for name, mean_r in (("CBT", 3.0), ("Psychodynamic", 4.0)):
        assert rows[name]["sessions"] == "15" and not rows[name]["suppressed"]
        assert rows[name]["rupture_share"] == pytest.approx(0.6)
        assert rows[name]["mean_resolution"] == pytest.approx(mean_r)
    assert rows[q.ALL_TREATMENTS]["sessions"] == "30"
    assert rows[q.ALL_TREATMENTS]["mean_resolution"] == pytest.approx(3.5)

    tc = by_treatment(q.contribution_table(big_con, period="quarter"))
    assert [tc["CBT"][f"rating_{r}"] for r in range(1, 6)] == ["15", "0", "0", "0", "0"]
    assert [tc[q.ALL_TREATMENTS][f"rating_{r}"] for r in range(1, 6)] == ["15", "15", "0", "0", "0"]
    assert tc[q.ALL_TREATMENTS]["mean_contribution"] == pytest.approx(1.5)

    ther = q.therapist_table(big_con).set_index("therapist")
    assert ther.loc[pseudonym("A"), "sessions"] == "15"
    assert ther.loc[pseudonym("B"), "mean_contribution"] == pytest.approx(2.0)
    assert ther.loc[pseudonym("B"), "rupture_share"] == pytest.approx(0.6)


def test_month_periods_split_the_big_clinic(big_con: duckdb.DuckDBPyConnection) -> None:
    # Session dates run 2026-03-06 .. 2026-03-24: one month.
    months = q.trends(big_con, period="month")
    assert months.period_start.dt.date.unique().tolist() == [dt.date(2026, 3, 1)]
    # Move one CBT dyad's sessions into April: March CBT keeps 10, April CBT has 5 (not suppressed at 5).
    big_con.execute("UPDATE session SET session_date = session_date + INTERVAL 31 DAY WHERE dyad_id = 'A0'")
    rows = q.trends(big_con, period="month")
    cbt = rows[rows.treatment == "CBT"].set_index(rows[rows.treatment == "CBT"].period_start.dt.month)
    assert cbt.loc[3, "sessions"] == "10" and cbt.loc[4, "sessions"] == "5"
    assert cbt.loc[4, "rupture_share"] == pytest.approx(0.6)


def test_no_identifiers_in_any_clinic_output(clinic_con: duckdb.DuckDBPyConnection) -> None:
    frames = [q.trends(clinic_con), q.trends(clinic_con, period="quarter"), q.contribution_table(clinic_con),
              q.therapist_table(clinic_con)]
    for df in frames:
        assert not {c for c in df.columns if "dyad" in c or "patient" in c or c == "therapist_id"}
        values = {str(v) for v in df.to_numpy().ravel()}
        assert not values & IDENTIFIERS, values & IDENTIFIERS
        assert not any("P-" in v for v in values)


def test_overview_and_undated_sessions(clinic_con: duckdb.DuckDBPyConnection) -> None:
    assert q.overview(clinic_con) == {"n_sessions": 10, "n_therapists": 3, "n_treatments": 2, "n_undated": 0}
    clinic_con.execute("UPDATE session SET session_date = NULL WHERE dyad_id = 'D4'")
    assert q.overview(clinic_con)["n_undated"] == 1
    total = q.trends(clinic_con).query("is_total")
    assert total.sessions.tolist() == ["9"]  # the undated session is left out of the trends


def test_unknown_treatment_and_bad_period(con: duckdb.DuckDBPyConnection) -> None:
    add_therapist(con, "Z")
    add_dyad(con, "DZ", "Z", treatment=None)
    add_session(con, "DZ", 1, [], globals_())
    assert q.UNSPECIFIED in q.trends(con).treatment.tolist()
    with pytest.raises(ValueError, match="period"):
        q.trends(con, period="week'; DROP TABLE session; --")


def test_pseudonym_sql_matches_python_sha256(con: duckdb.DuckDBPyConnection) -> None:
    got = con.execute(f"SELECT {q.pseudonym_sql('x')} FROM (VALUES ('T1')) t(x)").fetchone()[0]
    assert got == pseudonym("T1")


def test_empty_database(con: duckdb.DuckDBPyConnection) -> None:
    assert q.trends(con).empty and q.contribution_table(con).empty and q.therapist_table(con).empty
    assert q.overview(con)["n_sessions"] == 0


@pytest.mark.parametrize("period", q.PERIODS)
def test_trend_charts_render_png(big_con: duckdb.DuckDBPyConnection, period: str) -> None:
    from rrrs_core import palette
    from rrrs_core.charts import clinic as charts
    from rrrs_core.charts import render

    trends = q.trends(big_con, period=period)
    for chart in (charts.rupture_share_chart(trends, period), charts.resolution_chart(trends, period)):
        png = render.to_png(chart)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
        colours = chart.to_dict()["layer"][0]["encoding"]["color"]["scale"]["range"]
        # Treatment lines never borrow a 3RS family colour.
        assert not set(colours) & set(palette.FAMILY_COLOURS.values())


def test_trend_chart_renders_with_suppressed_cells(clinic_con: duckdb.DuckDBPyConnection) -> None:
    from rrrs_core.charts import clinic as charts
    from rrrs_core.charts import render

    trends = q.trends(clinic_con)
    assert trends.rupture_share.isna().any()
    assert render.to_png(charts.rupture_share_chart(trends))[:4] == b"\x89PNG"
