"""Import writes atomically, is idempotent, keeps replaced versions, and reads CSV dialects and xlsx."""

from __future__ import annotations

import contextlib
import threading

import pandas as pd
import pytest

from rrrs_core import store
from rrrs_core.errors import ValidationError
from rrrs_core.importing import import_path, load, validate_path
from rrrs_core.importing.format import TABLES
from tests.tables import read_ok, write_folder, write_xlsx
from tests.test_import_validation import counts

pytestmark = pytest.mark.both_backends  # the embedded file and the shared store (tests/conftest.py)


def metrics(con):
    return con.execute(
        "SELECT dyad_id, session_number, coder_id, withdrawal_segments, confrontation_segments, rupture_segments, "
        "resolution_segments, withdrawal_possible_segments, confrontation_possible_segments, therapist_contribution, "
        "ratings_pending FROM v_session_metrics ORDER BY ALL").fetchall()


def test_import_and_metrics(con, tmp_path):
    report = import_path(con, write_folder(tmp_path / "ok"))
    assert report.counts.codings_new == 4 and report.counts.marks == 7 and report.counts.ratings == 13
    assert report.counts.sessions_new == 3
    # Hand-computed from tests/data/tables_ok: D1/1 minimal_response seg 2 (check), denial seg 2 (check_minus),
    # redirect seg 3; D1/2 complaint seg 1, reject seg 4 (check minus), invite seg 5; D2/1 no marks, no ratings.
    assert metrics(con) == [
        ("D1", 1, "C1", 1, 0, 1, 1, 0, 0, 2, False),
        ("D1", 2, "C1", 0, 1, 1, 1, 0, 1, 5, False),
        ("D2", 1, "C1", 0, 0, 0, 0, 0, 0, None, True),
    ]
    assert con.execute("SELECT supervisor_id, trainee FROM therapist WHERE therapist_id = 'T1'").fetchall()[0] == ("S1", True)
    assert con.execute("SELECT count(*) FROM therapist WHERE therapist_id = 'S1'").fetchall()[0][0] == 1


def test_warnings_follow_the_manual(con, tmp_path):
    frames = read_ok()
    r = frames["ratings"]
    r.loc[len(r)] = ["D1", "1", "C1", "complaint_progress", "3"]      # rated but never marked
    r.loc[r.item.eq("overall_withdrawal") & r.session_number.eq("1"), "rating"] = "2"  # below marker sig 3
    report = import_path(con, write_folder(tmp_path / "w", frames))
    texts = [str(w) for w in report.warnings]
    assert any("complaint_progress, but that code is never marked" in t for t in texts)
    assert any("overall_withdrawal is 2, below the highest withdrawal marker significance (3)" in t for t in texts)
    # The summary keeps no row numbers: the warning still points at the rating's own row (header = row 1).
    below = next(w for w in report.warnings if "overall_withdrawal is 2" in w.message)
    assert (below.file, below.row) == ("ratings.csv", int(r.index[r.item.eq("overall_withdrawal")
                                                                    & r.session_number.eq("1")][0]) + 2)
    assert any("denial is marked but has no significance rating" in t for t in texts)
    assert any("no ratings for this coding: stored as ratings pending" in t for t in texts)


def test_resolution_without_rupture_and_resolution_not_3(con, tmp_path):
    frames = read_ok()
    s = frames["sessions"]
    s.loc[len(s)] = ["D2", "T2", "2", "C1", "9", "2026-01-13", "5", "", "false", "P-BRAVO", "Psychodynamic"]
    frames["marks"].loc[len(frames["marks"])] = ["D2", "2", "C1", "3", "change_task", "check"]
    r = frames["ratings"]
    r.loc[len(r)] = ["D2", "2", "C1", "overall_resolution", "5"]
    warnings = import_path(con, write_folder(tmp_path / "w", frames)).warnings
    texts = [str(w) for w in warnings]
    assert any("resolution strategies are marked but no rupture marker is" in t for t in texts)
    assert any("overall_resolution is 5 in a session with no rupture marker" in t for t in texts)
    not_3 = next(w for w in warnings if "overall_resolution is 5" in w.message)
    assert (not_3.file, not_3.row) == ("ratings.csv", len(r) + 1)  # the row added last


def test_reimport_identical_changes_nothing(con, tmp_path):
    folder = write_folder(tmp_path / "ok")
    import_path(con, folder)
    before = counts(con)
    report = import_path(con, folder)
    assert report.counts.codings_new == 0 and report.counts.codings_unchanged == 4
    assert counts(con)[:6] == before[:6]


def test_changed_coding_is_refused_then_replaced_with_history(con, tmp_path):
    import_path(con, write_folder(tmp_path / "v1"))
    frames = read_ok()
    frames["ratings"].loc[frames["ratings"].item.eq("therapist_contribution") & frames["ratings"].session_number.eq("2"),
                          "rating"] = "3"
    v2 = write_folder(tmp_path / "v2", frames)
    before = counts(con)
    with pytest.raises(ValidationError) as info:
        import_path(con, v2)
    assert "use --replace to store this one as version 2" in str(info.value.problems[0])
    assert counts(con) == before
    report = import_path(con, v2, replace=True)
    assert report.counts.codings_replaced == 1 and report.counts.codings_unchanged == 3
    rows = con.execute("SELECT version, is_current FROM coding WHERE dyad_id='D1' AND session_number=2 "
                       "AND coder_id='C1' ORDER BY version").fetchall()
    assert rows == [(1, False), (2, True)]
    assert con.execute("SELECT therapist_contribution FROM v_session_metrics WHERE dyad_id='D1' "
                       "AND session_number=2").fetchall()[0][0] == 3
    old = con.execute("SELECT therapist_contribution FROM v_coding_metrics WHERE dyad_id='D1' AND session_number=2 "
                      "AND coder_id='C1' AND version=1").fetchall()[0][0]
    assert old == 5, "the replaced version keeps its ratings"


def test_failure_during_write_rolls_back(con, tmp_path, monkeypatch):
    from rrrs_core.importing import load

    original = load.write

    def boom(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(load, "write", boom)
    before, version = counts(con), store.data_version(con)
    with pytest.raises(RuntimeError):
        import_path(con, write_folder(tmp_path / "ok"))
    assert counts(con) == before
    assert store.data_version(con) == version, "no other server's cache is told of a change that never was"


def test_semicolon_bom_and_signs(con, tmp_path):
    frames = read_ok()
    folder = write_folder(tmp_path / "excel", frames, sep=";", encoding="utf-8-sig")
    assert (folder / "marks.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    report = import_path(con, folder)
    assert report.counts.marks == 7
    assert con.execute("SELECT count(*) FROM mark WHERE clarity = 'check_minus'").fetchall()[0][0] == 2


def test_xlsx_workbook_imports_the_same(con, tmp_path):
    import_path(con, write_xlsx(tmp_path / "book.xlsx", read_ok()))
    assert len(metrics(con)) == 3


def test_dry_run_writes_nothing(con, tmp_path):
    report = validate_path(con, write_folder(tmp_path / "ok"))
    assert report.warnings and counts(con) == (0,) * 7


def test_synthetic_marker_recorded(con, tmp_path):
    from rrrs_core import demo

    folder = tmp_path / "demo"
    demo.write(folder, n_dyads=2)
    assert import_path(con, folder).synthetic
    assert con.execute("SELECT synthetic FROM import_batch").fetchall() == [(True,)]


def test_empty_cells_in_uploaded_frames_stay_empty(con):
    import numpy as np

    from rrrs_core.importing import import_tables

    frames = read_ok()
    frames["sessions"] = frames["sessions"].replace("", np.nan)
    frames["sessions"]["n_segments"] = frames["sessions"]["n_segments"].astype(float)  # as Excel gives numbers
    import_tables(con, frames, "upload.xlsx")
    assert con.execute("SELECT therapist_id, supervisor_id FROM therapist ORDER BY 1").fetchall() == [
        ("S1", None), ("T1", "S1"), ("T2", None)]
    assert con.execute("SELECT DISTINCT n_segments FROM session ORDER BY 1").fetchall() == [(9,), (10,)]


def test_keys_stay_unique_without_an_index(con, tmp_path):
    """Migrations 5 and 7 dropped the key indexes; the write paths must still never duplicate a mark, a rating,
    a coding version or a session."""
    folder = write_folder(tmp_path / "ok")
    import_path(con, folder)
    import_path(con, folder)
    frames = read_ok()
    frames["marks"] = frames["marks"].iloc[:-1]
    import_path(con, write_folder(tmp_path / "v2", frames), replace=True)
    assert store_dupes(con) == (0, 0, 0, 0)
    assert store.scalar(con, "SELECT count(*) FROM coding") == 5


def test_imports_at_the_same_moment_store_each_coding_once(con, tmp_path, monkeypatch):
    """Two people import the same file at once. The second import's plan must see the first's codings, so it
    waits for the first to commit (store.CODING_WRITES) and then finds them unchanged. Each plan here waits
    up to half a second for the other's: without the lock both would plan on an empty store and write
    version 1 of every coding twice."""
    folder = write_folder(tmp_path / "ok")
    both_planned = threading.Barrier(2, timeout=0.5)
    plan = load.plan

    def plan_then_wait(c):
        plan(c)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_planned.wait()

    monkeypatch.setattr(load, "plan", plan_then_wait)
    reports = []

    def run():
        reports.append(import_path(store.cursor(con), folder))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((r.counts.codings_new, r.counts.codings_unchanged) for r in reports) == [(0, 4), (4, 0)]
    assert store_dupes(con) == (0, 0, 0, 0)


def store_dupes(con):
    """Rows beyond the first for each key: marks, ratings, coding versions, sessions."""
    return con.execute("""
        SELECT (SELECT count(*) - count(DISTINCT (coding_id, segment, code)) FROM mark),
            (SELECT count(*) - count(DISTINCT (coding_id, item)) FROM rating),
            (SELECT count(*) - count(DISTINCT (dyad_id, session_number, coder_id, version)) FROM coding),
            (SELECT count(*) - count(DISTINCT (dyad_id, session_number)) FROM session)""").fetchall()[0]


def test_import_caches_what_the_live_metrics_compute(con, tmp_path):
    """The import fills the metrics cache from its own summaries of the files, not from the rows it wrote;
    every cached figure must equal the live definition over the stored rows. Marks use the scoresheet's
    signs and a segment written '03' beside '3', and a global rating is written '05'."""
    from rrrs_core import demo

    demo.write(tmp_path / "demo", n_dyads=12, seed=5)
    frames = {t: pd.read_csv(tmp_path / "demo" / f"{t}.csv", dtype=str, keep_default_na=False) for t in TABLES}
    marks, ratings = frames["marks"], frames["ratings"]
    marks.loc[marks.index[::3], "clarity"] = marks.loc[marks.index[::3], "clarity"].map(
        {"check": "\u2713", "check_minus": "\u2713-"})
    marks.loc[marks.index[1], "segment"] = "0" + marks.loc[marks.index[1], "segment"]
    ratings.loc[ratings.index[ratings.item.eq("overall_confrontation")][0], "rating"] = "05"
    for t, frame in frames.items():
        frame.to_csv(tmp_path / "demo" / f"{t}.csv", index=False)
    assert import_path(con, tmp_path / "demo").counts.codings_new > 12
    cached = con.execute("SELECT * FROM coding_metrics_cache ORDER BY coding_id").df()
    live = con.execute("SELECT * FROM v_coding_metrics_live ORDER BY coding_id").df()
    assert len(cached) == store.scalar(con, "SELECT count(*) FROM coding") and cached.equals(live)
    assert (cached.withdrawal_segments > 0).any() and (cached.resolution_possible_segments > 0).any()
