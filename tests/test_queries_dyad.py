"""Dyad queries against hand-computed small-clinic values, the metric views, scope, and speed."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from rrrs_core import codebook as cb
from rrrs_core import store
from rrrs_core.errors import NotFoundError
from rrrs_core.queries import directory
from rrrs_core.queries import dyad as q
from rrrs_core.scope import CLINIC
from rrrs_core.views import refresh_metrics

VIEW_COLUMNS = ["session_number", "coder_id", "n_codings", "withdrawal_segments", "confrontation_segments",
                "rupture_segments", "resolution_segments", *q.GLOBAL_KEYS, "ratings_pending"]


def test_dyads_in_scope(clinic_con: duckdb.DuckDBPyConnection) -> None:
    assert list(q.dyads(clinic_con, CLINIC).dyad_id) == ["D1", "D2", "D3", "D4"]
    s1 = directory.supervisor_scope(clinic_con, "S1")
    got = q.dyads(clinic_con, s1)
    assert list(got.dyad_id) == ["D1", "D3"]
    assert got.set_index("dyad_id").loc["D1", ["n_sessions", "n_coded"]].tolist() == [4, 4]


def test_dyad_choices_search_limit_and_current(clinic_con: duckdb.DuckDBPyConnection) -> None:
    def ids(frame: pd.DataFrame) -> list[str]:
        return list(frame.dyad_id)

    everything = q.dyad_choices(clinic_con, CLINIC)
    assert ids(everything) == ["D1", "D2", "D3", "D4"] and set(everything.n_matches) == {4}
    assert everything.drop(columns=["hit", "n_matches"]).equals(
        q.dyads(clinic_con, CLINIC)[["dyad_id", "therapist_id", "n_sessions", "n_coded"]])
    assert ids(q.dyad_choices(clinic_con, CLINIC, " t2 ")) == ["D2", "D4"]      # therapist id, any case
    assert ids(q.dyad_choices(clinic_con, CLINIC, "d3")) == ["D3"]
    assert ids(q.dyad_choices(clinic_con, CLINIC, "%")) == []                   # text, not a LIKE pattern
    got = q.dyad_choices(clinic_con, CLINIC, "", current="D4", limit=2)         # the current dyad stays
    assert ids(got) == ["D1", "D4"] and got.hit.all() and set(got.n_matches) == {4}
    got = q.dyad_choices(clinic_con, CLINIC, "T2", current="D1")
    assert ids(got) == ["D1", "D2", "D4"] and got.hit.tolist() == [False, True, True]
    assert set(got.n_matches) == {2}
    s1 = directory.supervisor_scope(clinic_con, "S1")
    assert ids(q.dyad_choices(clinic_con, s1)) == ["D1", "D3"]
    assert ids(q.dyad_choices(clinic_con, s1, "", current="D2")) == ["D1", "D3"]  # not in scope: not listed


def test_outside_scope_and_unknown_raise_the_same(clinic_con: duckdb.DuckDBPyConnection) -> None:
    t2 = directory.therapist_scope("T2")
    for fn in (q.require_dyad, q.trajectory, q.segment_strip):
        with pytest.raises(NotFoundError):
            fn(clinic_con, t2, "D1")
        with pytest.raises(NotFoundError):
            fn(clinic_con, CLINIC, "ZZ")
    assert q.require_dyad(clinic_con, t2, "D2")["therapist_id"] == "T2"


def test_d1_trajectory_by_hand(clinic_con: duckdb.DuckDBPyConnection) -> None:
    t = q.trajectory(clinic_con, CLINIC, "D1", 4)
    assert list(t.session_number) == [1, 2, 3, 4]
    assert list(t.withdrawal_segments) == [1, 0, 0, 1]      # minimal_response s1; deferential s4
    assert list(t.confrontation_segments) == [0, 2, 5, 1]   # s3: complaint 1,2,3,6 + control 7
    assert list(t.confrontation_share) == pytest.approx([0.0, 0.2, 0.5, 0.1])
    assert list(t.rupture_share) == pytest.approx([0.1, 0.2, 0.5, 0.2])
    assert list(t.overall_resolution) == [2, 2, 1, 2]
    assert list(t.therapist_contribution) == [2, 3, 5, 2]
    assert list(t.high_contribution) == [False, False, True, False]
    assert list(t.coder_id) == ["C1"] * 4                   # C1 reached the database before C2
    assert t.loc[t.session_number == 3, "n_codings"].item() == 2
    assert list(q.trajectory(clinic_con, CLINIC, "D1", 3).high_contribution) == [False, True, True, False]


def test_pending_and_single_session(clinic_con: duckdb.DuckDBPyConnection) -> None:
    d3 = q.trajectory(clinic_con, CLINIC, "D3")
    assert list(d3.ratings_pending) == [False, True]
    assert d3.therapist_contribution.isna().tolist() == [False, True]
    assert not d3.high_contribution.any()
    figs = q.key_figures(d3)
    assert figs["pending_sessions"] == [2]
    assert (figs["latest_resolution"], figs["latest_resolution_session"]) == (3, 1)
    d4 = q.trajectory(clinic_con, CLINIC, "D4")
    assert len(d4) == 1 and d4.rupture_share.item() == 0 and d4.n_segments.item() == 9


def test_key_figures_d1(clinic_con: duckdb.DuckDBPyConnection) -> None:
    figs = q.key_figures(q.trajectory(clinic_con, CLINIC, "D1", 4))
    assert figs["sessions_coded"] == 4
    assert figs["mean_rupture_share"] == pytest.approx(0.25)
    assert (figs["latest_resolution"], figs["latest_resolution_session"]) == (2, 4)
    assert figs["high_contribution_sessions"] == [3]
    assert figs["pending_sessions"] == []
    assert figs["unaddressed_episodes"] == 5


def test_segment_strip_d2(clinic_con: duckdb.DuckDBPyConnection) -> None:
    s = q.segment_strip(clinic_con, CLINIC, "D2")
    assert len(s) == 3 * 10 * 3                              # sessions x segments x families
    marked = s[s.clarity.notna()]
    got = {(r.session_number, r.segment, r.family): (r.minute_start, r.minute_end, r.codes)
           for r in marked.itertuples()}
    assert got[(1, 1, "withdrawal")] == (0, 5, "Avoidant storytelling / shifting topic")
    assert got[(1, 2, "resolution")][2] == "Invites thoughts/feelings about therapist or therapy"
    assert len(got) == 7


def test_segment_strip_check_minus_is_lighter(clinic_con: duckdb.DuckDBPyConnection) -> None:
    s = q.segment_strip(clinic_con, CLINIC, "D1").set_index(["session_number", "segment", "family"])
    assert s.loc[(2, 5, "withdrawal"), "clarity"] == "check_minus"
    assert s.loc[(2, 5, "withdrawal"), "codes"] == "Denial (unclear)"
    assert s.loc[(3, 8, "resolution"), "clarity"] == "check_minus"
    assert pd.isna(s.loc[(4, 9, "resolution"), "clarity"])
    assert s.loc[(4, 9, "resolution"), "codes"] == ""


def _agrees_with_view(con: duckdb.DuckDBPyConnection, dyad_id: str) -> None:
    mine = q.trajectory(con, CLINIC, dyad_id)[VIEW_COLUMNS].reset_index(drop=True)
    view = con.execute("SELECT * FROM v_session_metrics WHERE dyad_id = ? ORDER BY session_number",
                       [dyad_id]).df()[VIEW_COLUMNS].reset_index(drop=True)
    for col in VIEW_COLUMNS:
        assert mine[col].astype(object).where(mine[col].notna(), None).tolist() == \
            view[col].astype(object).where(view[col].notna(), None).tolist(), (dyad_id, col)


def test_trajectory_agrees_with_session_metrics_view(clinic_con: duckdb.DuckDBPyConnection) -> None:
    for dyad_id in ("D1", "D2", "D3", "D4"):
        _agrees_with_view(clinic_con, dyad_id)


def _bulk_clinic(con: duckdb.DuckDBPyConnection, n_dyads: int, sessions: int) -> None:
    """Random codings straight into the tables: 5 per 1000 sessions have a second coder."""
    con.execute("INSERT INTO therapist SELECT 'T' || i, NULL, false FROM range(200) t(i)")
    con.execute("INSERT INTO dyad SELECT 'B' || i, 'T' || (i % 200), 'P' || i, 'CBT' FROM range(?) t(i)",
                [n_dyads])
    con.execute("INSERT INTO session SELECT 'B' || d, s, DATE '2024-01-01' + (s * 7)::INT, 5, 10 "
                "FROM range(?) a(d), range(1, ? + 1) b(s)", [n_dyads, sessions])
    for coder, where in (("C1", "true"), ("C2", "session_number % 5 = 0")):
        con.execute(f"""INSERT INTO coding (dyad_id, session_number, coder_id, version, is_current, status,
            consensus, codebook_id, codebook_version, content_hash, created_at, created_by)
            SELECT dyad_id, session_number, '{coder}', 1, true, 'final', false, '3rs', '2015', 'x',
            now()::TIMESTAMP, 'bench' FROM session WHERE {where}""")
    con.execute("""INSERT INTO mark SELECT DISTINCT ON (coding_id, seg, code) coding_id, seg, code, clarity FROM (
        SELECT coding_id, 1 + (hash(coding_id, j) % 10)::INT AS seg,
        (?::VARCHAR[])[1 + (hash(j, coding_id, 7) % 24)::INT] AS code,
        CASE WHEN j % 4 = 0 THEN 'check_minus' ELSE 'check' END AS clarity
        FROM coding, range(8) t(j))""", [list(cb.DEFAULT.keys)])
    con.execute("""INSERT INTO rating_value SELECT coding_id, item_id, 1 + (hash(coding_id, item) % 5)::INT
        FROM coding, (SELECT * FROM rating_item WHERE list_contains(?::VARCHAR[], item)) WHERE coding_id % 13 <> 0""",
                [list(cb.DEFAULT.global_keys)])


def test_dyad_queries_agree_with_the_view_on_varied_data(tmp_path: Path) -> None:
    """Speed is measured in `make bench`, not here; this checks the dyad-first queries on bulk data."""
    con = store.connect(tmp_path / "big.duckdb")
    _bulk_clinic(con, 200, 20)
    refresh_metrics(con)
    assert con.execute("SELECT count(*) FROM session").fetchone()[0] == 4_000
    scope = directory.therapist_scope("T77")
    for dyad_id in ("B77", "B177"):
        _agrees_with_view(con, dyad_id)
    traj = q.trajectory(con, scope, "B77")
    assert len(traj) == 20
    assert len(q.segment_strip(con, scope, "B77")) > 0
    con.close()
