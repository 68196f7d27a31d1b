"""The session timeline's click selection for the transcript pane (rrrs_core.charts.session, `selectable`)."""

from __future__ import annotations

import duckdb

from rrrs_core import episodes as ep
from rrrs_core.charts import session as sc
from rrrs_core.queries import session as sq
from rrrs_core.scope import CLINIC


def _spec(con: duckdb.DuckDBPyConnection, selectable: bool) -> dict:
    marks = sq.marks(con, CLINIC, "D1", 3, "C1")
    eps, _ = ep.session_episodes(con, CLINIC, "D1", 3, "C1")
    return sc.timeline_chart(marks, 10, 5, eps, selectable=selectable).to_dict()


def _params(spec: dict) -> set[str]:
    return {p["name"] for p in spec.get("params", [])}


def test_selectable_timeline_names_segment_and_episode(clinic_con: duckdb.DuckDBPyConnection) -> None:
    assert {"seg", "episode"} <= _params(_spec(clinic_con, True))
    assert not {"seg", "episode"} & _params(_spec(clinic_con, False))      # the plain chart is unchanged


def test_selectable_timeline_keeps_the_episode_rows(clinic_con: duckdb.DuckDBPyConnection) -> None:
    """Adding the selection must not drop the episodes' data (a re-layered Altair chart loses it)."""
    spec = _spec(clinic_con, True)
    rows = [r for data in spec["datasets"].values() for r in data if "first_segment" in r]
    assert sorted((r["first_segment"], r["last_segment"]) for r in rows) == [(1, 3), (6, 7)]
