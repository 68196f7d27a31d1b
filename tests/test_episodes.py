"""Rupture-to-resolution episodes: hand-computed cases from the small clinic and the rule's edges."""

from __future__ import annotations

import duckdb

from rrrs_core import episodes as ep
from rrrs_core.episodes import EPISODE_WINDOW, Mark, find_episodes
from rrrs_core.queries import dyad
from rrrs_core.scope import CLINIC


def w(seg: int, code: str = "minimal_response", clarity: str = "check") -> Mark:
    return Mark(seg, code, "withdrawal", clarity)


def c(seg: int, code: str = "complaint_therapist", clarity: str = "check") -> Mark:
    return Mark(seg, code, "confrontation", clarity)


def r(seg: int, code: str = "invite_feelings", clarity: str = "check") -> Mark:
    return Mark(seg, code, "resolution", clarity)


def test_window_is_two_following_segments() -> None:
    assert EPISODE_WINDOW == 2


def test_d1_session3_c1_two_unaddressed_episodes(clinic_con: duckdb.DuckDBPyConnection) -> None:
    # complaint_therapist 1,2,3,6 + control_pressure 7 -> runs 1-3 and 6-7; invite_feelings at 8 is only a
    # check-minus, so it is listed as possible but does not address episode 6-7 (window 8-9).
    eps, unlinked = ep.session_episodes(clinic_con, CLINIC, "D1", 3, "C1")
    assert [(e.first_segment, e.last_segment, e.window_end) for e in eps] == [(1, 3, 5), (6, 7, 9)]
    assert [e.addressed for e in eps] == [False, False]
    assert [e.minutes for e in eps] == ["0-15 min", "25-35 min"]
    assert eps[1].possible == (Mark(8, "invite_feelings", "resolution", "check_minus",
                                    "Invites thoughts/feelings about therapist or therapy"),)
    assert {m.code for m in eps[1].ruptures} == {"complaint_therapist", "control_pressure"}
    assert eps[0].strategies == () and unlinked == []


def test_d1_session3_c2_one_episode(clinic_con: duckdb.DuckDBPyConnection) -> None:
    eps, _ = ep.session_episodes(clinic_con, CLINIC, "D1", 3, "C2")
    assert [(e.first_segment, e.last_segment, e.addressed) for e in eps] == [(1, 3, False)]


def test_d2_session1_resolved_at_0_10(clinic_con: duckdb.DuckDBPyConnection) -> None:
    # avoidant_storytelling seg 1 + abstract_communication seg 2 merge; invite_feelings (check) seg 2.
    eps, _ = ep.session_episodes(clinic_con, CLINIC, "D2", 1, "C1")
    assert len(eps) == 1
    assert eps[0].minutes == "0-10 min" and eps[0].addressed
    assert [(m.segment, m.code) for m in eps[0].strategies] == [(2, "invite_feelings")]
    table = ep.episodes_table(eps)
    assert table.loc[0, "Status"] == "addressed"
    assert table.loc[0, "Strategies within window"] == \
        "Invites thoughts/feelings about therapist or therapy (5-10 min)"


def test_d2_session2_strategy_in_next_segment(clinic_con: duckdb.DuckDBPyConnection) -> None:
    # deferential seg 4, acknowledge_contribution seg 5: the strategy follows within the window.
    eps, _ = ep.session_episodes(clinic_con, CLINIC, "D2", 2, "C1")
    assert [(e.minutes, e.addressed) for e in eps] == [("15-20 min", True)]


def test_window_edges() -> None:
    assert find_episodes([w(1), r(3)], 10)[0].addressed        # last segment + 2: inside
    assert not find_episodes([w(1), r(4)], 10)[0].addressed    # last segment + 3: outside
    assert not find_episodes([w(4), r(3)], 10)[0].addressed    # before the rupture: not a response to it
    assert find_episodes([w(1), r(2)], 10, window=0)[0].addressed is False
    assert find_episodes([w(9)], 10)[0].window_end == 10       # cut at the end of the session


def test_rupture_in_the_last_segments_is_unaddressed_in_session() -> None:
    # 10 segments, window 2: a rupture in segment 9 or 10 would need segments 11-12 to find a repair.
    last = find_episodes([w(10)], 10)[0]
    assert (last.window_end, last.window_cut, last.status, last.unaddressed) == \
        (10, True, "unaddressed in session", False)
    assert last.window_minutes == "45-50 min"
    assert find_episodes([w(9)], 10)[0].status == ep.IN_SESSION                       # 9 + 2 = 11 > 10
    eight = find_episodes([w(8)], 10)[0]                                               # 8 + 2 = 10: full window
    assert (eight.window_cut, eight.status, eight.unaddressed) == (False, "unaddressed", True)
    assert find_episodes([w(9), r(10)], 10)[0].status == "addressed"                  # repaired in time
    assert find_episodes([w(8), c(9), c(10)], 10)[0].status == ep.IN_SESSION          # the run ends at 10
    assert find_episodes([w(10)], 12)[0].status == "unaddressed"                      # 12 segments: room left
    assert find_episodes([w(10)], 10, window=0)[0].status == "unaddressed"            # no window, no cut
    table = ep.episodes_table(find_episodes([w(2), w(10)], 10))
    assert table.Status.tolist() == ["unaddressed", "unaddressed in session"]


def test_sql_counts_separate_unaddressed_in_session(con: duckdb.DuckDBPyConnection) -> None:
    from tests.builders import add_dyad, add_session, add_therapist, globals_

    add_therapist(con, "T9")
    add_dyad(con, "D9", "T9")
    cases = {  # session: (marks, n_segments, hand-computed (episodes, unaddressed, in session))
        1: ([(10, "minimal_response", "check")], 10, (1, 0, 1)),
        2: ([(9, "minimal_response", "check"), (10, "invite_feelings", "check")], 10, (1, 0, 0)),
        3: ([(8, "minimal_response", "check")], 10, (1, 1, 0)),
        4: ([(10, "minimal_response", "check")], 12, (1, 1, 0)),
        5: ([(2, "denial", "check"), (9, "complaint_therapist", "check"), (10, "denial", "check")], 10,
            (2, 1, 1)),
    }
    for n, (marks, segs, _) in cases.items():
        add_session(con, "D9", n, marks, globals_(), n_segments=segs)
    counts = ep.dyad_episode_counts(con, CLINIC, "D9")
    got = {int(row.session_number): (row.episodes, row.unaddressed, row.unaddressed_in_session)
           for row in counts.itertuples()}
    assert got == {n: want for n, (_, _, want) in cases.items()}
    traj = dyad.trajectory(con, CLINIC, "D9")
    for row in traj.itertuples():
        eps, _ = ep.session_episodes(con, CLINIC, "D9", int(row.session_number), row.coder_id)
        assert (row.unaddressed, row.unaddressed_in_session) == \
            (sum(e.unaddressed for e in eps), sum(e.status == ep.IN_SESSION for e in eps))


def test_check_minus_rupture_opens_no_episode() -> None:
    assert find_episodes([w(2, clarity="check_minus"), r(3)], 10) == []


def test_withdrawal_and_confrontation_merge_and_gaps_split() -> None:
    eps = find_episodes([w(1), c(2), c(4)], 10)
    assert [(e.first_segment, e.last_segment) for e in eps] == [(1, 2), (4, 4)]


def test_one_strategy_can_address_two_episodes() -> None:
    eps = find_episodes([w(1), w(3), r(3)], 10)
    assert [e.addressed for e in eps] == [True, True]


def test_unlinked_strategies() -> None:
    marks = [w(1), r(2), r(8), r(9, clarity="check_minus")]
    eps = find_episodes(marks, 10)
    assert ep.unlinked_strategies(marks, eps) == [r(8)]


def test_minutes_follow_segment_length() -> None:
    eps = find_episodes([w(2), w(3)], 6, segment_minutes=10)
    assert eps[0].minutes == "10-30 min" and eps[0].window_minutes == "10-50 min"


def test_sql_counts_match_pure_rule(clinic_con: duckdb.DuckDBPyConnection) -> None:
    for dyad_id in ("D1", "D2", "D3", "D4"):
        traj = dyad.trajectory(clinic_con, CLINIC, dyad_id)
        for row in traj.itertuples():
            eps, _ = ep.session_episodes(clinic_con, CLINIC, dyad_id, int(row.session_number), row.coder_id)
            assert (row.episodes, row.unaddressed, row.unaddressed_in_session) == \
                (len(eps), sum(e.unaddressed for e in eps), sum(e.status == ep.IN_SESSION for e in eps)), \
                (dyad_id, row.session_number)
    counts = ep.dyad_episode_counts(clinic_con, CLINIC, "D1")
    assert counts[["session_number", "episodes", "unaddressed"]].values.tolist() == \
        [[1, 1, 0], [2, 2, 2], [3, 2, 2], [4, 1, 1]]
