"""The dyad report as a supervisor reads it: the right dyad, sessions, flags and notes, nothing of another
dyad, the footer on every page, byte-identical output for the same data and time, and a page that is not
blank when rendered."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from rrrs_core import notes, store
from rrrs_core.errors import NotFoundError
from rrrs_core.reports import dyad_report
from rrrs_core.scope import Scope
from tests.builders import add_dyad, small_clinic

NOW = datetime(2026, 3, 1, 14, 5)


def pdf_text(pdf: bytes) -> list[str]:
    """Text of each page, whitespace collapsed (pypdf splits lines where ReportLab wrapped them)."""
    return [re.sub(r"\s+", " ", page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory):
    con = store.connect(tmp_path_factory.mktemp("reports") / "clinic.duckdb")
    small_clinic(con)
    notes.add(con, "D1", "S1", "Talk about session 3 <before> the next one & ask what T1 felt.\nSecond line.", 3)
    add_dyad(con, "D9", "T2", "P-ECHO")  # a dyad with no coded session yet
    yield con
    con.close()


@pytest.fixture(scope="module")
def d1(clinic) -> bytes:
    return dyad_report(clinic, "D1", generated_by="alice", now=NOW)


def test_dyad_report_is_a_pdf_about_that_dyad(d1):
    assert d1.startswith(b"%PDF")
    text = " ".join(pdf_text(d1))
    assert "Supervision report: dyad D1" in text
    assert "T1 (trainee)" in text and "S1" in text
    assert "2026-01-05 to 2026-01-26" in text          # first to last session date
    assert "3rs version 2015" in text
    assert "C1 (primary coding of 4 sessions)" in text and "C2 (second coding of session 3)" in text
    for n in (1, 2, 3, 4):
        assert f"2026-01-{5 + 7 * (n - 1):02d}" in text


def test_dyad_report_contains_nothing_of_other_dyads_or_patients(d1):
    text = " ".join(pdf_text(d1))
    for other in ("D2", "D3", "D4", "P-BRAVO", "P-ALPHA", "P-"):
        assert other not in text, other


def test_flagged_session_shows_minutes_episodes_strategies_and_prompts(d1):
    text = " ".join(pdf_text(d1))
    assert "Session 3 - 2026-01-19" in text
    assert "therapist contribution 5 (at or above 4)" in text
    # D1 s3: complaint about the therapist in segments 1-3 and 6, control/pressure in 7 -> two episodes
    assert "0-25 min (unaddressed: rupture at 0-15 min)" in text
    assert "25-45 min (unaddressed: rupture at 25-35 min)" in text
    assert "Metacommunicative" in text and "Invites thoughts/feelings" in text
    assert "What was happening between you and the patient at minutes 0-15?" in text
    assert "What was your part in it?" in text
    assert "Rupture-to-resolution episodes" in text
    assert "Where ruptures and resolution strategies fell" in text and "Session 3 - TC 5" in text  # the strip


def test_notes_print_as_typed(d1):
    text = " ".join(pdf_text(d1))
    assert "Supervisor's notes" in text
    assert "Talk about session 3 <before> the next one & ask what T1 felt." in text
    assert "on session 3" in text


def test_names_outside_ascii_print(clinic):
    text = " ".join(pdf_text(dyad_report(clinic, "D4", generated_by="Dr. Zoë Łukasiewicz", now=NOW)))
    assert "Generated for Dr. Zoë Łukasiewicz on 2026-03-01 14:05" in text


def test_footer_on_every_page(d1):
    pages = pdf_text(d1)
    assert len(pages) >= 3
    for i, page in enumerate(pages, start=1):
        assert "Confidential - contains clinical information" in page
        assert "Generated for alice on 2026-03-01 14:05" in page
        assert f"Page {i} of {len(pages)}" in page


def test_pending_ratings_say_pending(clinic):
    text = " ".join(pdf_text(dyad_report(clinic, "D3", generated_by="bob", now=NOW)))
    assert "pending" in text
    assert "Ratings pending for session(s) 2" in text
    assert "S1 (staff therapist)" in text


def test_one_session_dyad(clinic):
    text = " ".join(pdf_text(dyad_report(clinic, "D4", generated_by="bob", now=NOW)))
    assert "1 coded of 1 recorded" in text
    assert "No session is flagged" in text
    assert "P-DELTA" not in text


def test_dyad_without_coded_sessions(clinic):
    text = " ".join(pdf_text(dyad_report(clinic, "D9", generated_by="bob", now=NOW)))
    assert "no coded sessions yet" in text and "Page 1 of 1" in text


def test_unknown_and_out_of_scope_dyads_raise(clinic):
    with pytest.raises(NotFoundError, match="NOPE"):
        dyad_report(clinic, "NOPE", generated_by="bob")
    with pytest.raises(NotFoundError, match="D1"):
        dyad_report(clinic, "D1", generated_by="bob", scope=Scope.therapists(["T2"], "T2 only"))


def test_threshold_changes_what_is_flagged(clinic):
    text = " ".join(pdf_text(dyad_report(clinic, "D1", generated_by="bob", now=NOW, threshold=3)))
    assert "therapist contribution 3 (at or above 3)" in text       # session 2


def test_same_data_and_time_give_identical_bytes(clinic, d1):
    assert dyad_report(clinic, "D1", generated_by="alice", now=NOW) == d1
    other = dyad_report(clinic, "D1", generated_by="alice", now=datetime(2026, 3, 1, 14, 6))
    assert other != d1


def test_first_page_renders_and_is_not_blank(d1, tmp_path: Path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    from PIL import Image

    src = tmp_path / "d1.pdf"
    src.write_bytes(d1)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(src), str(tmp_path / "page")],
                   check=True, timeout=60)
    png = next(tmp_path.glob("page*.png"))
    with Image.open(png) as im:
        grey = im.convert("L")
        dark = sum(grey.histogram()[:200])     # pixels clearly darker than paper
        assert dark > 0.01 * grey.width * grey.height


def test_report_font_ships_with_a_pip_package():
    """CI machines have no system fonts to rely on: the TTFs must come from an installed package."""
    from rrrs_core.reports.layout import _FONT_SOURCES, _package_dir, register_fonts

    packages = [d for d in (_package_dir(src[0]) for src in _FONT_SOURCES) if d is not None]
    for path in register_fonts():
        assert path.is_file() and any(path.is_relative_to(d) for d in packages), path


def test_names_in_any_script_print(con):
    from tests.builders import add_session, add_therapist, globals_

    add_therapist(con, "Ελένη")
    add_therapist(con, "Сергей", "Ελένη", trainee=True)
    add_dyad(con, "Zoë-Łódź", "Сергей")
    add_session(con, "Zoë-Łódź", 1, [(2, "minimal_response", "check")], globals_(w=2, minimal_response=2))
    text = "\n".join(pdf_text(dyad_report(con, "Zoë-Łódź", generated_by="Ødegård")))
    for name in ("Ελένη", "Сергей", "Zoë-Łódź", "Ødegård"):
        assert name in text


def test_demo_data_says_synthetic_on_every_page(tmp_path: Path):
    """A report of the synthetic demo clinic says so in every page's footer, never 'contains clinical
    information' (the small clinic above, with no synthetic import, keeps the confidentiality line)."""
    from rrrs_core import demo
    from rrrs_core.importing import import_path

    demo.write(tmp_path / "demo", n_dyads=3, seed=5)
    con = store.connect(tmp_path / "demo.duckdb")
    import_path(con, tmp_path / "demo")
    dyad = store.scalar(con, "SELECT min(dyad_id) FROM dyad")
    pages = pdf_text(dyad_report(con, dyad, generated_by="alice", now=NOW))
    for page in pages:
        assert "Synthetic demo data - every therapist, patient and session here is invented" in page
        assert "contains clinical information" not in page


def test_flagged_sessions_in_detail_run_most_severe_first(con):
    """The oldest flagged session used to come first; now the detail pages (and the cover list) run by
    severity, newest first on ties, so the first detail page is the worst session."""
    from tests.builders import add_session, add_therapist, globals_

    add_therapist(con, "T5")
    add_dyad(con, "D5", "T5")
    rupture = [(3, "minimal_response", "check")]
    add_session(con, "D5", 1, rupture, globals_(r=3, tc=4))          # severity 3 + 2 = 5
    add_session(con, "D5", 2, rupture, globals_(r=1, tc=1))          # 0 + 4 = 4
    add_session(con, "D5", 3, rupture, globals_(r=1, tc=5))          # 4 + 4 = 8
    add_session(con, "D5", 4, rupture, None)                         # pending, unaddressed episode: 0
    add_session(con, "D5", 5, rupture, globals_(r=3, tc=4))          # 5, newer than session 1
    add_session(con, "D5", 6, rupture, globals_(r=2, tc=3))          # not flagged (old rule: unaddressed)
    pages = pdf_text(dyad_report(con, "D5", generated_by="alice", now=NOW))
    start = next(i for i, p in enumerate(pages) if "Flagged sessions in detail" in p)
    detail = " ".join(pages[start:])
    order = [int(n) for n in re.findall(r"Session (\d) - 2026-\d\d-\d\d Flagged", detail)]
    assert order == [3, 5, 1, 2, 4]
    assert re.search(r"Session 3 - 2026-01-19 Flagged \(severity 8 of 8\)", pages[start])
    cover = pages[0]
    assert [int(n) for n in re.findall(r"Session (\d) \(2026", cover)] == [3, 5, 1, 2, 4]
    assert "Session 4 (2026-01-26), severity 0: ratings pending; unaddressed episode at 10-15 min" in cover
    assert "Session 2 (2026-01-12), severity 4: overall resolution 1 with ruptures" in cover
