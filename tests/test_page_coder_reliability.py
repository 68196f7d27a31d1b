"""The dyad and session pages name the coder of what they show with that coder's current reliability
(`rrrs_core.reliability.coder_line`), and mark a coder not to trust yet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rrrs_core import store
from rrrs_core.reliability import coder_line as cl
from tests.test_page_dyad import run_page, text
from tests.test_reliability_coder_line import coder_line_clinic, mark_references


@pytest.fixture(scope="module")
def lines_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The coder-line clinic with calibration references by A; also each coder's expected line."""
    path = tmp_path_factory.mktemp("lines") / "lines.duckdb"
    con = store.connect(path)
    try:
        coder_line_clinic(con)
        mark_references(con)
        want = {c: cl.coder_line(con, c).text() for c in ("A", "B", "H")}
    finally:
        con.close()
    return path, want


def reliability_markdown(at) -> str:
    """The one reliability line, its Markdown escapes (`rrrs_ui.text.md`) undone: what a reader sees."""
    found = [m for m in [*at.markdown, *at.caption] if m.value.startswith("**Coder reliability**")]
    assert len(found) == 1, [m.value for m in at.markdown]
    return re.sub(r"\\(.)", r"\1", found[0].value)


def test_dyad_page_names_the_coder_with_icc_and_calibration(monkeypatch, lines_db):
    path, want = lines_db
    at = run_page(monkeypatch, path, "pages/dyad.py", dyad="D1")
    line = reliability_markdown(at)
    assert line.startswith("**Coder reliability** (coders of the sessions shown, most first): A: ICC .")
    assert "on rupture frequency, 6 double-coded sessions; calibration: reference coder" in line
    assert want["A"].split(": ", 1)[1] in line
    assert next(m for m in at.markdown if m.value.startswith("**Coder reliability**")).help == cl.RULE


def test_session_page_follows_the_coding_shown(monkeypatch, lines_db):
    path, _ = lines_db
    at = run_page(monkeypatch, path, "pages/session.py", dyad="D1", session="2", coder="B")
    line = reliability_markdown(at)
    assert line.startswith("**Coder reliability** (the coding shown): B: ICC .")
    assert line.endswith("6 double-coded sessions; calibration: meets criterion")
    next(s for s in at.selectbox if s.label == "Coding shown").set_value("H").run()
    line = reliability_markdown(at)
    assert line.startswith("**Coder reliability** (the coding shown): H: :orange[**no double-coded sessions**]")
    assert line.endswith(":orange[**not yet calibrated (criterion not met)**]")


def test_small_clinic_marks_too_few_double_coded_sessions(monkeypatch, clinic_db):
    at = run_page(monkeypatch, clinic_db, "pages/dyad.py", dyad="D1")
    assert reliability_markdown(at) == (
        "**Coder reliability** (coders of the sessions shown, most first): C1: :orange[**only 1 double-coded "
        "session (fewer than 5: no ICC yet)**]; :orange[**not yet calibrated (no calibration sessions)**]")
    at = run_page(monkeypatch, clinic_db, "pages/session.py", dyad="D1", session="3", coder="C2")
    assert "(the coding shown): C2: :orange[**only 1 double-coded session" in reliability_markdown(at)
    assert "Coder reliability" in text(at)


def test_several_coders_fold_into_a_summary_naming_the_doubtful(monkeypatch, tmp_path):
    """A dyad coded by several coders gets one summary line (the doubtful coders named) that opens to a line
    per coder, below the key figures, so the dyad's own figures stay on the first screen."""
    from tests.builders import add_dyad, add_session, add_therapist, globals_

    path = tmp_path / "multi.duckdb"
    con = store.connect(path)
    add_therapist(con, "T1")
    add_dyad(con, "D1", "T1")
    for n, coder in enumerate(["A", "A", "B"], start=1):
        add_session(con, "D1", n, [], globals_(), coder_id=coder)
    con.close()
    at = run_page(monkeypatch, path, "pages/dyad.py", dyad="D1")
    box = next(e for e in at.expander if "Coder reliability" in e.label)
    assert box.label == ":orange[Coder reliability: 2 coders; not yet trusted: A, B]"
    inside = re.sub(r"\\(.)", r"\1", box.markdown[0].value)
    assert "- A: :orange[**no double-coded sessions**]" in inside and "- B: " in inside
    labels = [m.label for m in at.metric]
    assert labels and not any(m.value.startswith("**Coder reliability**") for m in at.markdown)
