"""Calibration: reference codings (permit-checked, transactional, audited) and trainees measured against them."""

from __future__ import annotations

import pandas as pd
import pytest

from rrrs_core import access, permits
from rrrs_core.errors import NotFoundError, PermissionDeniedError, RrrsError
from rrrs_core.permits import OPEN
from rrrs_core.reliability import calibration
from rrrs_core.reliability.design import Design
from rrrs_core.reliability.table import reliability
from tests.builders import add_dyad, add_therapist
from tests.test_reliability_store import N_SESSIONS, double_coded_clinic


@pytest.fixture
def rel_con(con):
    double_coded_clinic(con)
    add_therapist(con, "T9")
    add_dyad(con, "D9", "T9")
    con.execute("INSERT INTO session VALUES ('D9', 1, DATE '2026-01-05', 5, 10)")
    return con


def mark_all(con, coder: str = "C1") -> None:
    for s in range(1, N_SESSIONS + 1):
        calibration.mark(con, "D1", s, coder, user="boss", role="admin", permit=OPEN)


def test_trainee_against_reference_equals_the_crossed_pair(rel_con):
    mark_all(rel_con)
    got = calibration.trainee_table(rel_con, "C2")
    want = reliability(rel_con, Design(coders=("C1", "C2")))
    cols = ["item", "statistic", "value", "ci_low", "ci_high", "n_units"]
    pd.testing.assert_frame_equal(got[cols], want[cols])
    assert set(got[got.unit == "segments"].method.dropna()) >= {"Cohen's kappa"}


def test_status_applies_the_criterion_and_names_what_falls_short(rel_con):
    mark_all(rel_con)
    table = calibration.trainee_table(rel_con, "C2")
    lenient = calibration.Criterion(icc_min=-1.0, ac1_min=-1.0)
    strict = calibration.Criterion(icc_min=0.999, ac1_min=0.999)
    # complaint_therapist in segment 9 of every session, no resolution strategy at all: those families were
    # not tested (no variance), so "not yet"
    untested = ["confrontation_segments", "resolution_segments"]
    assert calibration.status(table, lenient) == (calibration.NOT_YET, [
        f"{i}: ICC(2,1) undefined (no variance)" for i in untested])
    assert calibration.status(table[~table.item.isin(untested)], lenient) == (calibration.MEETS, [])
    verdict, short = calibration.status(table, strict)
    assert verdict == calibration.NOT_YET and any(s.startswith("withdrawal_segments: ICC(2,1)") for s in short)
    # C5 coded one calibration session: undefined statistics are "not yet", with the reason
    verdict, short = calibration.status(calibration.trainee_table(rel_con, "C5"), lenient)
    assert verdict == calibration.NOT_YET and "fewer than 5 sessions" in short[0]
    assert calibration.status(pd.DataFrame())[0] == calibration.NOT_YET
    assert calibration.Criterion(0.75, 0.60) == calibration.DEFAULT


def test_reference_follows_the_coders_current_coding_and_excludes_the_reference_coder(rel_con):
    mark_all(rel_con, "C2")
    assert calibration.trainee_table(rel_con, "C2").empty, "the reference coder is not their own trainee"
    overview = calibration.overview(rel_con)
    assert list(overview.coder_id) == ["C1", "C5"] and list(overview.sessions) == [N_SESSIONS, 1]
    calibration.mark(rel_con, "D1", 3, "C5", user="boss", role="admin", permit=OPEN)  # replaces C2 on session 3
    assert calibration.reference_of(rel_con, "D1", 3) == "C5"
    assert len(calibration.references(rel_con)) == N_SESSIONS


def test_marking_is_checked_transactional_and_audited(rel_con):
    access.upsert(rel_con, "c1", "coder", coder_id="C1")
    access.upsert(rel_con, "t1", "therapist", therapist_id="T1")
    add_therapist(rel_con, "S1")
    rel_con.execute("UPDATE therapist SET supervisor_id = 'S1' WHERE therapist_id = 'T1'")
    access.upsert(rel_con, "s1", "supervisor", therapist_id="S1")
    for sub in ("c1", "t1"):
        who = access.resolve(rel_con, sub)
        with pytest.raises(PermissionDeniedError, match="supervisor or an administrator"):
            calibration.mark(rel_con, "D1", 1, "C1", user=sub, role=who.role,
                             permit=permits.for_principal(rel_con, who))
    sup = access.resolve(rel_con, "s1")
    with pytest.raises(NotFoundError):  # D9 is T9's, outside S1's scope
        calibration.mark(rel_con, "D9", 1, "C1", user="s1", role="supervisor",
                         permit=permits.for_principal(rel_con, sup))
    with pytest.raises(RrrsError, match="no final coding"):
        calibration.mark(rel_con, "D1", 4, "C4", user="s1", role="supervisor",  # C4's is a draft
                         permit=permits.for_principal(rel_con, sup))
    assert calibration.references(rel_con).empty
    calibration.mark(rel_con, "D1", 1, "C1", user="s1", role="supervisor", permit=permits.for_principal(rel_con, sup))
    calibration.unmark(rel_con, "D1", 1, user="s1", role="supervisor", permit=permits.for_principal(rel_con, sup))
    rows = rel_con.execute("SELECT actor, action, target, detail FROM audit WHERE action = 'mark reference' "
                           "ORDER BY audit_id").fetchall()
    assert rows == [("s1", "mark reference", "D1/1", "reference: C1"),
                    ("s1", "mark reference", "D1/1", "reference removed")]
    assert calibration.references(rel_con).empty


def test_a_verified_demo_import_marks_the_master_coders_references(con, tmp_path):
    from rrrs_core import demo, demo_calibration
    from rrrs_core.importing.api import import_path

    demo.write(tmp_path / "demo", n_dyads=12, seed=5)
    import_path(con, tmp_path / "demo")
    refs = calibration.references(con)
    assert len(refs) == demo_calibration.N_CALIBRATION and set(refs.reference_coder) == {demo_calibration.MASTER}
    assert (refs.coders == 6).all(), "every coder coded every calibration session"
    assert not calibration.overview(con).empty


def test_an_unverified_import_marks_no_reference(con, tmp_path):
    from rrrs_core import demo
    from rrrs_core.importing.api import import_path

    demo.write(tmp_path / "demo", n_dyads=12, seed=5)
    (tmp_path / "demo" / demo.MARKER_FILE).unlink()  # not proven synthetic: M1 is just a coder
    import_path(con, tmp_path / "demo")
    assert calibration.references(con).empty
