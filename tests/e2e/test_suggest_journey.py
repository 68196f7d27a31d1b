"""A coder codes a session that has a transcript (issue #19), in Chromium: the scoresheet shows segment 1's
turns and the code suggestions beside the grid; the coder accepts one, the ✓ appears in the grid, and Save
final stores it. Screenshots at 1400 and 1024 px: artifacts/e2e/suggest-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_exception, goto, grid_rows, serve, shot, wait_ready

pytestmark = [pytest.mark.browser]

WIDTHS = (1400, 1024)


@pytest.fixture
def suggest_url(tmp_path: Path) -> Iterator[str]:
    """A server of its own on the small clinic, with a transcript attached to D1 session 3."""
    from rrrs_core import store, transcripts
    from rrrs_core.transcripts import Turn, rules
    from tests.builders import small_clinic_db

    db = small_clinic_db(tmp_path / "suggest.duckdb")
    con = store.connect(db)
    try:
        transcripts.attach(con, rules.cli(), "D1", 3, [
            Turn(1, 10.0, 20.0, "therapist", "T", "How was the homework?"),
            Turn(2, 30.0, 40.0, "patient", "P", "I think I want to quit."),
            Turn(3, 400.0, 410.0, "patient", "P", "I really don't see the point of these thought records.")],
            "t.csv")
    finally:
        con.close()
    with serve(db, tmp_path) as url:
        yield url


def segment1(page, code_label: str, want: str | None = None, grid_index: int = 1) -> str:
    """Segment 1's cell of a code in the confrontation grid (its accessible table), polled until it reads
    `want` (the canvas and its table repaint a moment after the rerun ends)."""
    for _ in range(40):
        row = next(r for r in grid_rows(page, grid_index) if code_label in r[0])
        if want is None or row[1].strip() == want:
            break
        page.wait_for_timeout(250)
    return row[1].strip()


def shots(page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1000})
        wait_ready(page)
        shot(page, f"suggest-{name}-{width}")
    page.set_viewport_size({"width": 1400, "height": 1000})


def test_coder_accepts_a_suggestion_and_saves(new_context, suggest_url) -> None:
    page = new_context(suggest_url).new_page()
    goto(page, "")  # app.py once (sign-in, navigation), then the deep link
    goto(page, "scoresheet?dyad=D1&session=3&coder=C1")
    main = page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("Transcript and code suggestions", timeout=60_000)
    expect(main).to_contain_text("I think I want to quit.")
    expect(main).to_contain_text("Suggestions, not codes")
    expect(main).to_contain_text("held-out examples from the 3RS manual")
    assert_no_exception(page)
    confrontation = 1  # grids: withdrawal, confrontation, resolution, segment notes
    assert segment1(page, "about the therapist", "✓", confrontation) == "✓"  # stored mark: columns line up
    assert segment1(page, "about progress", grid_index=confrontation) == ""  # segment 1 not marked
    shots(page, "1-pane")

    card = page.locator('[data-testid="stVerticalBlock"]').filter(
        has_text="Complaint/concern about progress").filter(has_text="Turn 2").last
    card.get_by_role("button", name="Accept").click()
    wait_ready(page)
    assert_no_exception(page)
    expect(main).to_contain_text("Unsaved changes: + seg 1 complaint_progress ✓")
    assert segment1(page, "about progress", "✓", confrontation) == "✓"
    expect(main).to_contain_text("you accepted 1 and rejected 0")
    shots(page, "2-accepted")

    page.get_by_role("button", name="Save final").click()
    wait_ready(page)
    assert_no_exception(page)
    expect(main).to_contain_text("Saved version 2 as final")
    assert segment1(page, "about progress", "✓", confrontation) == "✓"
    shots(page, "3-saved")
