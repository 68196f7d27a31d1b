"""Therapist and clinic reports: the trainee's caseload and sessions to review; the de-identified QI report."""

from __future__ import annotations

import re
from datetime import datetime

import duckdb
import pytest

from rrrs_core import pseudonym as ps
from rrrs_core import store
from rrrs_core.errors import NotFoundError, RrrsError
from rrrs_core.reports import clinic_report, therapist_report
from rrrs_core.scope import Scope
from tests.builders import small_clinic
from tests.test_queries_clinic import pseudonym, stored_secret
from tests.test_reports import pdf_text

NOW = datetime(2026, 3, 1, 14, 5)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory):
    con = store.connect(tmp_path_factory.mktemp("reports") / "clinic.duckdb")
    small_clinic(con)
    yield con
    con.close()


def test_therapist_report_lists_own_dyads_and_sessions_to_review(clinic):
    pages = pdf_text(therapist_report(clinic, "T1", generated_by="carol", now=NOW))
    text = " ".join(pages)
    assert "Supervision report: therapist T1" in text and "trainee" in text and "S1" in text
    assert "Caseload" in text and "D1" in text
    for other in ("D2", "D3", "D4", "P-"):
        assert other not in text, other
    assert "Sessions to review first" in text
    # Only session 3 is flagged (contribution 5, resolution 1: severity 4 + 4); sessions 1, 2 and 4 have
    # unaddressed episodes but resolution 2 and contribution below 4, which the old rule flagged.
    review = text[text.index("Sessions to review first"):]
    assert re.search(r"D1 3 2026-01-19 8 5 1 2 0-15, 25-35 min \(unaddressed\)", review)
    assert not re.search(r"D1 [124] 2026", review)
    assert "3 sessions with unaddressed ruptures 1 sessions flagged for review" in text
    assert "Unresolved ruptures:" in text                        # the caseload flag definitions
    assert "Therapist contribution over time" in text
    for i, page in enumerate(pages, start=1):
        assert "Confidential - contains clinical information" in page and f"Page {i} of {len(pages)}" in page


def test_therapist_report_of_a_therapist_without_flags(clinic):
    text = " ".join(pdf_text(therapist_report(clinic, "T2", generated_by="carol", now=NOW)))
    assert "D2" in text and "D4" in text and "D1" not in text
    assert "No session is flagged" in text


def test_therapist_report_unknown_or_out_of_scope(clinic):
    with pytest.raises(NotFoundError, match="T9"):
        therapist_report(clinic, "T9", generated_by="carol")
    with pytest.raises(NotFoundError, match="T1"):
        therapist_report(clinic, "T1", generated_by="carol", scope=Scope.therapists(["T2"], "T2"))


def test_therapist_report_is_reproducible(clinic):
    a = therapist_report(clinic, "T1", generated_by="carol", now=NOW)
    assert therapist_report(clinic, "T1", generated_by="carol", now=NOW) == a


def test_clinic_report_is_de_identified(clinic):
    pages = pdf_text(clinic_report(clinic, generated_by="dave", now=NOW, period="month"))
    text = " ".join(pages)
    assert "Clinic quality-improvement report" in text
    assert re.search(r"\bD\d\b", text) is None                    # no dyad ids
    assert "P-" not in text                                        # no patient ids
    assert re.search(r"\b[TS]\d\b", text) is None                  # no therapist ids, only pseudonyms
    key = stored_secret(clinic)                                    # keyed pseudonyms, as on the page
    assert sorted(re.findall(r"Therapist [0-9a-f]{6}", text)) == sorted(pseudonym(t, key) for t in ("T1", "T2", "S1"))
    # Psychodynamic (4 sessions) and CBT (6, hidden so 10 - 6 cannot give the 4) are all '*': left out here.
    assert "Jan 2026 Psychodynamic" not in text and "Jan 2026 CBT" not in text
    assert "2 treatment row(s) with every cell suppressed are left out here" in text
    assert "Jan 2026 All treatments 10 80% 9 2.78" in text
    assert "Generated for dave on 2026-03-01 14:05" in text and "Page 1 of" in text


def test_clinic_report_on_read_only_connection_needs_the_secret(tmp_path, monkeypatch):
    monkeypatch.delenv(ps.KEY_ENV, raising=False)
    db = tmp_path / "fresh.duckdb"
    con = store.connect(db)
    small_clinic(con)
    con.close()
    raw = duckdb.connect(str(db))  # a database from before every open created the secret
    raw.execute("DROP TABLE clinic_secret")
    raw.close()
    ro = store.connect(db, read_only=True)
    try:
        with pytest.raises(RrrsError, match="Clinic page"):
            clinic_report(ro, generated_by="dave", now=NOW)
        monkeypatch.setenv(ps.KEY_ENV, "clinic key")
        text = " ".join(pdf_text(clinic_report(ro, generated_by="dave", now=NOW)))
        assert pseudonym("T1", "clinic key") in text
    finally:
        ro.close()


def test_clinic_report_by_quarter(clinic):
    text = " ".join(pdf_text(clinic_report(clinic, generated_by="dave", now=NOW, period="quarter")))
    assert "Q1 2026" in text
    default = " ".join(pdf_text(clinic_report(clinic, generated_by="dave", now=NOW)))
    assert "Q1 2026 All treatments 10" in default and "Jan 2026" not in default  # quarter by default
    with pytest.raises(ValueError, match="period"):
        clinic_report(clinic, generated_by="dave", period="week")


def test_batch_caseload_reuse_matches_the_therapist_scope(clinic):
    """report_all computes the clinic caseload once and filters it; it must equal the scoped query."""
    from rrrs_core.queries.caseload import caseload
    from rrrs_core.scope import CLINIC

    def norm(df):
        rows = df.astype(object).where(df.notna(), None).to_dict("records")
        return [{k: list(v) if k == "rupture_trend" else v for k, v in r.items()} for r in rows]

    everyone = caseload(clinic, CLINIC, 4)
    for tid in ("T1", "T2", "S1"):
        own = caseload(clinic, Scope.therapists([tid], tid), 4)
        mine = everyone[everyone.therapist_id == tid].reset_index(drop=True)
        assert norm(own) == norm(mine), tid


def test_python_episodes_agree_with_sql_counts(tmp_path):
    """The reports find episodes in Python (episodes.find_episodes); the tables show the SQL counts."""
    from rrrs_core import demo
    from rrrs_core.importing import import_path
    from rrrs_core.queries import dyad as dq
    from rrrs_core.reports import data
    from rrrs_core.reports.review import build_reviews
    from rrrs_core.scope import CLINIC

    demo.write(tmp_path / "demo", n_dyads=12, seed=3)
    con = store.connect(tmp_path / "demo.duckdb")
    import_path(con, tmp_path / "demo")
    for (dyad_id,) in con.execute("SELECT dyad_id FROM dyad ORDER BY dyad_id").fetchall():
        traj = dq.trajectory(con, CLINIC, dyad_id)
        reviews = build_reviews(traj, data.dyad_marks(con, dyad_id), 4, dyad_id=dyad_id)
        assert [len(r.episodes) for r in reviews] == traj.episodes.tolist(), dyad_id
        assert [len(r.unaddressed) for r in reviews] == traj.unaddressed.tolist(), dyad_id
    con.close()


def test_clinic_report_compares_the_latest_period_with_the_one_before(clinic):
    """Issue 15: this period vs the previous one, on paper as on the page (Q1 2026 had 10 sessions, Q4 2025
    none)."""
    text = " ".join(pdf_text(clinic_report(clinic, generated_by="dave", now=NOW)))
    assert "This quarter (Q1 2026) vs the previous one (Q4 2025)" in text
    assert "Whole clinic Q1 2026 Q4 2025 Change Sessions 10 0 +10 With ruptures 80% - " in text


def test_clinic_report_prints_the_contribution_share_and_mean(clinic):
    """Issue 15: the contribution table prints rated sessions, the share rated 4-5 and the mean, not five
    per-rating columns of '*'; the whole clinic's 9 rated sessions: one rated 4-5 (11%), mean 17 / 9."""
    text = " ".join(pdf_text(clinic_report(clinic, generated_by="dave", now=NOW)))
    assert "Rated sessions Rated 4-5 Mean contribution" in text and "Rated 1" not in text
    assert "Q1 2026 All treatments 9 11% 1.89" in text
    assert "Mean contribution 1.89 - " in text and "Contribution rated 4-5 11% - " in text  # the comparison
