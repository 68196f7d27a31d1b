"""The shared session-flag rule: the Python and SQL forms agree on every combination of ratings."""

from __future__ import annotations

import itertools

import duckdb
import pandas as pd

from rrrs_core.queries import severity as sev

RATINGS = (None, 1, 2, 3, 4, 5)


def grid() -> pd.DataFrame:
    rows = list(itertools.product(RATINGS, RATINGS, (0, 1, 3)))
    df = pd.DataFrame(rows, columns=["therapist_contribution", "overall_resolution", "rupture_segments"])
    for col in ("therapist_contribution", "overall_resolution"):
        df[col] = df[col].astype("Int64")
    return df


def test_python_and_sql_agree_on_a_grid() -> None:
    con = duckdb.connect()
    df = grid()
    con.register("g", df)
    for threshold in (3, 4, 5):
        out = con.execute(f"SELECT {sev.severity_sql('g')} AS severity, ({sev.flagged_sql('?', 'g')}) AS flagged "
                          "FROM g", [threshold]).df()
        for row, s, f in zip(df.itertuples(), out.severity, out.flagged, strict=True):
            tc = None if pd.isna(row.therapist_contribution) else int(row.therapist_contribution)
            res = None if pd.isna(row.overall_resolution) else int(row.overall_resolution)
            assert int(s) == sev.severity(tc, res, row.rupture_segments), row
            assert bool(f) == sev.flagged(tc, res, row.rupture_segments, threshold), (row, threshold)


def test_hand_computed_values() -> None:
    assert sev.severity(4, 1, 2) == 3 + 4        # D0030's sessions 12-13: contribution 4, resolution 1
    assert sev.severity(5, 1, 1) == 8            # the worst possible
    assert sev.severity(1, 5, 1) == 0
    assert sev.severity(3, 2, 0) == 2            # no rupture: the resolution adds nothing
    assert sev.severity(None, None, 4) == 0      # ratings pending
    assert sev.flagged(4, 5, 0, threshold=4)
    assert not sev.flagged(3, 2, 2, threshold=4)
    assert sev.flagged(1, 1, 1, threshold=4) and not sev.flagged(1, 1, 0, threshold=4)
    assert sev.flagged(None, None, 2, 4, ratings_pending=True, unaddressed_episodes=1)
    assert not sev.flagged(None, None, 2, 4, ratings_pending=True, unaddressed_episodes=0)
    assert not sev.flagged(2, 3, 2, 4, ratings_pending=False, unaddressed_episodes=3)
