"""Transcripts never reach the QI views, the summary export or the clinic report: attaching transcripts (and a
recording) to every session changes none of them, and none of them holds a word of a transcript. The
source check fails as soon as one of those modules starts reading a transcript table."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from rrrs_core import access, export, store
from rrrs_core.access import Principal
from rrrs_core.queries import clinic, clinic_compare
from rrrs_core.reports.clinic import clinic_report
from rrrs_core.transcripts import attach, parse, set_recording
from tests.builders import small_clinic
from tests.test_reports import pdf_text

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 3, 1, 14, 5)
MARKER = "Quetzalcoatl"
ADMIN = Principal("admin@clinic", "admin")
# What a QI user or an aggregate export can reach: none of it may read transcripts or recordings.
AGGREGATE_SOURCES = ["rrrs_core/export.py", "rrrs_core/reports/clinic.py", "rrrs_core/reports/data.py",
                     "rrrs_core/queries/clinic.py", "rrrs_core/queries/clinic_compare.py",
                     "rrrs_core/queries/clinic_model.py", "rrrs_core/queries/selfreport_clinic.py",
                     "rrrs_core/selfreport/export.py", "rrrs_core/views.py", "rrrs_core/suppression.py",
                     "pages/clinic.py"]


def _outputs(con) -> dict[str, object]:
    out: dict[str, object] = {"summary": export.summary(con), "overview": clinic.overview(con)}
    for period in ("quarter", "month"):
        out[f"trends {period}"] = clinic.trends(con, period=period)
        out[f"contribution {period}"] = clinic.contribution_table(con, period=period)
        out[f"comparison {period}"] = repr(clinic_compare.comparison(con, period=period))
    out["therapists"] = clinic.therapist_table(con)
    out["report"] = " ".join(pdf_text(clinic_report(con, generated_by="dave", now=NOW)))
    return out


@pytest.fixture
def con(tmp_path, monkeypatch):
    con = store.connect(tmp_path / "clinic.duckdb")
    small_clinic(con)
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / f"{MARKER}.mp4").write_bytes(b"video")
    monkeypatch.setenv("RRRS_MEDIA_ROOT", str(tmp_path / "media"))
    yield con
    con.close()


def test_transcripts_change_no_aggregate_and_appear_in_none(con):
    before = _outputs(con)
    data = (f"start,end,speaker,text\n0,30,T,{MARKER} is my word.\n40,60,{MARKER},I said {MARKER}.\n"
            f"300,330,P,Again {MARKER}.\n").encode()
    sessions = con.execute("SELECT dyad_id, session_number FROM session").fetchall()
    for dyad, session in sessions:
        attach(con, ADMIN, dyad, session, parse(data, "s.csv", {MARKER: "patient"}), f"{MARKER}.csv")
        set_recording(con, ADMIN, dyad, session, f"{MARKER}.mp4")
    assert store.scalar(con, "SELECT count(*) FROM transcript_turn") == 3 * len(sessions)
    after = _outputs(con)
    for name, value in after.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value, before[name], obj=name)
            text = value.to_csv()
        elif isinstance(value, dict):
            assert value == before[name], name
            text = repr(value)
        else:
            assert value == before[name], name
            text = str(value)
        assert MARKER.lower() not in text.lower(), name


def test_qi_reaches_only_the_clinic_page():
    assert access.PAGES["qi"] == ("clinic",)
    assert access.scope_for(None, Principal("qi", "qi")) == access.NOBODY  # type: ignore[arg-type]


@pytest.mark.parametrize("source", AGGREGATE_SOURCES)
def test_aggregate_modules_never_read_transcripts(source):
    text = (ROOT / source).read_text()
    assert re.search(r"transcript|\brecording\b", text, re.I) is None, source


def test_no_derived_view_reads_a_transcript(con):
    views = con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall()
    assert views and not [name for name, sql in views if re.search(r"transcript|\brecording\b", sql, re.I)]
