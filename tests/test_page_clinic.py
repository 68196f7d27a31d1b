"""Clinic page in AppTest: no identifiers anywhere on the page, suppression shown, real numbers at scale."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from rrrs_core import pseudonym as ps
from rrrs_core import store
from rrrs_core.queries.clinic import SUPPRESSED
from tests.test_queries_clinic import big_clinic, pseudonym, stored_secret

APP = Path(__file__).resolve().parents[1] / "app.py"
PAGE = "pages/clinic.py"
IDENTIFIERS = ("D1", "D2", "D3", "D4", "P-ALPHA", "P-BRAVO", "P-CHARLIE", "P-DELTA", "T1", "T2", "S1", "S2")


def run_page(monkeypatch: pytest.MonkeyPatch, db: Path, page: str = PAGE, **params: str) -> AppTest:
    monkeypatch.setenv("RRRS_DB", str(db))
    monkeypatch.delenv(ps.KEY_ENV, raising=False)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    at.switch_page(page)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def _chart_frames(at: AppTest) -> Iterator[pd.DataFrame]:
    for el in at.main:
        if getattr(el, "type", None) == "vega_lite_chart":
            for ds in el.proto.datasets:
                yield pa.ipc.open_stream(ds.data.data).read_all().to_pandas()


def page_text(at: AppTest) -> list[str]:
    """Every string a user can see or download from the page: text, widgets, tables and chart data."""
    out: list[str] = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "error"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [f"{m.label} {m.value}" for m in at.metric]
    out += [f"{r.label} {r.options}" for r in at.radio]
    out += [f"{getattr(w, 'label', '')} {getattr(w, 'options', '')}" for w in at.sidebar]
    frames = [d.value for d in at.dataframe] + list(_chart_frames(at))
    assert frames, "the page shows no tables or charts"
    for df in frames:
        out += [str(c) for c in df.columns] + [str(v) for v in df.to_numpy().ravel()]
    out += [el.proto.spec for el in at.main if getattr(el, "type", None) == "vega_lite_chart"]
    return out


def test_empty_database_shows_guidance(monkeypatch: pytest.MonkeyPatch, empty_db) -> None:
    at = run_page(monkeypatch, empty_db[0])
    assert "No coded sessions yet" in at.info[0].value
    assert not at.dataframe


def test_small_clinic_has_no_identifiers_and_shows_suppression(monkeypatch: pytest.MonkeyPatch,
                                                               clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db)
    text = page_text(at)
    joined = "\n".join(text)
    for ident in IDENTIFIERS:  # pseudonyms are lowercase hex, so they cannot contain these
        assert not any(ident in t for t in text), ident
    columns = {c for d in at.dataframe for c in d.value.columns}
    assert not {c for c in columns if "dyad" in c or "patient" in c or c == "therapist_id"}
    assert "Suppression rule" in joined
    trends = at.dataframe[1].value.set_index("treatment")  # after the period comparison
    assert trends.loc["Psychodynamic", "sessions"] == SUPPRESSED  # 4 sessions
    assert pd.isna(trends.loc["Psychodynamic", "rupture_share"])
    # CBT's 6 sessions are hidden too, else 10 (All treatments) - 6 would give Psychodynamic's 4.
    assert trends.loc["CBT", "sessions"] == SUPPRESSED and pd.isna(trends.loc["CBT", "rupture_share"])
    assert trends.loc["All treatments", "sessions"] == "10"
    for frame in _chart_frames(at):  # the charts carry the same gaps (their data reaches the browser)
        shown = frame[frame.treatment != "All treatments"]
        assert shown.rupture_share.isna().all() and shown.mean_resolution.isna().all()
    therapists = at.dataframe[3].value
    con = store.connect(clinic_db)
    key = stored_secret(con)  # the page created the database's secret
    con.close()
    assert sorted(therapists.therapist) == sorted(pseudonym(t, key) for t in ("T1", "T2", "S1"))
    assert set(therapists.sessions) == {SUPPRESSED}
    assert len(list(_chart_frames(at))) == 2


def test_identifier_check_does_catch_identified_pages(monkeypatch: pytest.MonkeyPatch,
                                                    clinic_db: Path) -> None:
    """The detector above must be able to fail: the caseload page does show dyad and therapist ids."""
    text = page_text(run_page(monkeypatch, clinic_db, "pages/caseload.py"))
    assert any("D1" in t for t in text) and any("T1" in t for t in text)


def test_scope_param_is_ignored(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db, scope="therapist:T2")
    totals = {m.label: m.value for m in at.metric}
    assert totals["Coded sessions"] == "10"
    assert at.dataframe[1].value.set_index("treatment").loc["All treatments", "sessions"] == "10"


def test_big_clinic_quarter_is_unsuppressed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = tmp_path / "big.duckdb"
    con = store.connect(db)
    big_clinic(con)
    con.close()
    at = run_page(monkeypatch, db, period="quarter")
    assert at.radio[0].value == "quarter"
    trends = at.dataframe[1].value.set_index("treatment")
    assert trends.loc["CBT", "sessions"] == "15"
    assert trends.loc["CBT", "rupture_share"] == pytest.approx(60.0)  # shown as a percentage
    assert trends.loc["All treatments", "mean_resolution"] == pytest.approx(3.5)
    tc = at.dataframe[2].value.set_index("treatment")
    assert tc.loc["Psychodynamic", "rated_sessions"] == "15"
    assert tc.loc["Psychodynamic", "mean_contribution"] == pytest.approx(2.0)
    assert "PAT-" not in "\n".join(page_text(at))


def test_period_radio_updates_url(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run_page(monkeypatch, clinic_db)
    assert "period" not in at.query_params and at.radio[0].value == "quarter"  # issue 15: quarter by default
    at.radio[0].set_value("month").run()
    assert not at.exception
    assert at.query_params.get("period") == "month"


def test_page_compares_this_period_with_the_previous_one_and_shows_n(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    """Issue 15: the latest quarter beside the one before (big clinic: Q2 2026 5 sessions, Q1 2026 25), and
    n drawn under both trend charts."""
    db = tmp_path / "big.duckdb"
    con = store.connect(db)
    big_clinic(con)
    con.execute("UPDATE session SET session_date = session_date + INTERVAL 31 DAY WHERE dyad_id = 'A0'")
    con.close()
    at = run_page(monkeypatch, db)
    assert "This quarter (Q2 2026) vs the previous one (Q1 2026)" in [s.value for s in at.subheader]
    summary = at.dataframe[0].value.set_index("measure")
    assert summary.loc["Sessions"].tolist() == ["5", "25", "-20"]
    specs = [el.proto.spec for el in at.main if getattr(el, "type", None) == "vega_lite_chart"]
    assert len(specs) == 2
    assert "n: sessions behind each point" in specs[0] and "n: rated sessions behind each point" in specs[1]
    trends = at.dataframe[1].value
    assert trends.period_start.iloc[0] > trends.period_start.iloc[-1]  # newest first


def test_pseudonyms_match_between_page_runs_and_the_pdf(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    from rrrs_core.reports import clinic_report
    from tests.test_reports import pdf_text

    first = sorted(run_page(monkeypatch, clinic_db).dataframe[3].value.therapist)
    assert sorted(run_page(monkeypatch, clinic_db).dataframe[3].value.therapist) == first
    con = store.connect(clinic_db)
    try:
        text = " ".join(pdf_text(clinic_report(con, generated_by="dave")))
    finally:
        con.close()
    assert all(name in text for name in first)


def test_contribution_table_shows_share_4_5_and_mean_not_rating_counts(monkeypatch: pytest.MonkeyPatch,
                                                                       clinic_db: Path) -> None:
    """Issue 15: the table was five 'Rated k' columns of '*'; it shows rated sessions, the share rated 4-5 (as a
    percentage) and the mean, explained in a caption. The small clinic's whole clinic: 9 rated, 1 rated 5."""
    from tests.apptest import headers

    at = run_page(monkeypatch, clinic_db)
    assert "Therapist contribution" in [s.value for s in at.subheader]
    table = at.dataframe[2]
    assert headers(table) == ["Quarter", "Treatment", "Rated sessions", "Rated 4-5", "Mean contribution"]
    total = table.value.set_index("treatment").loc["All treatments"]
    assert total.rated_sessions == "9" and total.high_share == pytest.approx(100 / 9)
    assert total.mean_contribution == pytest.approx(17 / 9)
    assert any("Rated 4-5: the share rated 4 or more" in c.value for c in at.caption)
    summary = at.dataframe[0].value.set_index("measure")
    assert summary.loc["Mean contribution", "now"] == "1.89"
