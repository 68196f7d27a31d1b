"""Page rerun times under AppTest (cold and warm data cache) next to the time of the page's SQL alone.

The SQL a page runs is discovered, not listed by hand: every `glue.query` call passes through
`glue._cached_call`, which is wrapped here to record (function, arguments) during one run.
"""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.testing.v1 import AppTest

from rrrs_core import store
from rrrs_ui import glue
from tests.bench.common import median_time

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _pick_targets(db: str | Path) -> dict[str, dict[str, str]]:
    """A busy dyad and its most recent session: the pages as a supervisor would open them."""
    con = store.connect(db, read_only=True)
    dyad, session = store.one(con, "SELECT dyad_id, max(session_number) FROM v_session_metrics GROUP BY dyad_id "
                                   "ORDER BY sum(rupture_segments) DESC, dyad_id LIMIT 1")
    earlier = store.scalar(con, "SELECT max(session_number) FROM v_session_metrics WHERE dyad_id = ? "
                                "AND session_number < ?", [dyad, session])
    con.close()
    targets = {"caseload": {}, "dyad": {"dyad": dyad}, "session": {"dyad": dyad, "session": str(session)},
               "contribution": {}, "clinic": {}, "data": {}, "reliability": {}}
    if earlier is not None:  # the same page on the session before, with a 300-turn transcript attached
        targets[TRANSCRIPT_PAGE] = {"dyad": dyad, "session": str(earlier)}
    return targets


TRANSCRIPT_PAGE = "session with a transcript"


def _attach_transcript(db: str | Path, dyad: str, session: int) -> None:
    """A 300-turn synthetic transcript (50 minutes) on the session, as `rrrs attach transcript` stores it."""
    from rrrs_core import transcripts
    from rrrs_core.transcripts import rules
    from tests.bench.suggest import transcript

    con = store.connect(db)
    try:
        turns = transcripts.parse(transcript(300).encode(), "bench-300-turns.csv")
        transcripts.attach(con, rules.cli("bench"), dyad, session, turns, "bench-300-turns.csv")
    finally:
        con.close()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple[Any, ...], tuple[Any, ...]]] = []
        self.original = glue._cached_call

    def __enter__(self) -> Recorder:
        def wrapped(call: glue.Call) -> Any:
            module, name, _db, args, kwargs = call
            self.calls.append((module, name, args, kwargs))
            return self.original(call)

        glue._cached_call = wrapped  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        glue._cached_call = self.original  # type: ignore[assignment]


def _sql_alone(db: str | Path, calls: list[tuple[str, str, tuple[Any, ...], tuple[Any, ...]]], runs: int) -> float:
    root, catalog = glue._root(str(db))

    def run_all() -> None:
        con = store.cursor(root, catalog)
        for module, name, args, kwargs in calls:
            getattr(importlib.import_module(module), name)(con, *args, **dict(kwargs))

    return median_time(run_all, runs)


def bench_pages(db: str | Path, runs: int, only: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Per page (all, or `only` these): cold and warm rerun and the SQL alone; `db` is a file or a shared store
    location (its data path from $RRRS_DATA_PATH)."""
    os.environ["RRRS_DB"] = str(db)
    results: dict[str, dict[str, float]] = {}
    targets = _pick_targets(db)
    if TRANSCRIPT_PAGE in targets and (only is None or TRANSCRIPT_PAGE in only):
        _attach_transcript(db, targets[TRANSCRIPT_PAGE]["dyad"], int(targets[TRANSCRIPT_PAGE]["session"]))
    for page, params in targets.items():
        if only is not None and page not in only:
            continue
        at = AppTest.from_file(APP, default_timeout=300)
        for k, v in params.items():
            at.query_params[k] = v
        at.run()
        at.switch_page(f"pages/{'session' if page == TRANSCRIPT_PAGE else page}.py")
        cold = []
        for _ in range(max(1, runs // 2)):
            st.cache_data.clear()
            start = time.perf_counter()
            at.run()
            cold.append(time.perf_counter() - start)
        with Recorder() as rec:
            at.run()
        warm = median_time(at.run, runs)
        # An exception the page's guard caught is shown as an error box: a failure too, not a fast page.
        failed = bool(at.exception) or any("Something went wrong" in e.value for e in at.error)
        results[page] = {"cold": sorted(cold)[len(cold) // 2], "warm": warm,
                         "sql": _sql_alone(db, rec.calls, runs), "queries": len(rec.calls), "error": failed}
    return results


FLOOR_PAGE = """
import streamlit as st
st.title("Data")
st.markdown("A page with no query: what AppTest itself takes to rerun a script.")
"""


def apptest_floor(runs: int) -> float:
    """Warm rerun of a page that runs no query: AppTest runs each script in a thread and polls for its end,
    which no page can go below."""
    at = AppTest.from_string(FLOOR_PAGE, default_timeout=60)
    at.run()
    return median_time(at.run, max(runs, 9))

