"""A supervisor reviews a rupture with its words and its video (issue #19), in Chromium, as the demo's
supervisor (S1, who supervises T1 and so sees D1): open the session, pick a rupture episode, read its turns
with the codes beside them, play the recording from the episode's start; then find a phrase from the dyad
page and follow the result back to its segment.

A server of its own: the small clinic with a timed transcript of D1 session 3 and a generated video under
its own media folder (`RRRS_MEDIA_ROOT`). Screenshots at 1400 and 1024 px: artifacts/e2e/transcript-*.png.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from rrrs_core.palette import CONFRONTATION
from tests.builders import small_clinic_db
from tests.e2e.conftest import (
    assert_no_exception,
    choose,
    click_grid_cell,
    goto,
    grid,
    grid_rows,
    page_text,
    selectbox,
    serve,
    shot,
    wait_ready,
)
from tests.test_page_transcript import add_recording, add_transcript

pytestmark = pytest.mark.browser

WIDTHS = (1400, 1024)
SESSION = "session?dyad=D1&session=3&as=supervisor"


def shots(page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1000})
        wait_ready(page)
        shot(page, f"transcript-{name}-{width}")
    page.set_viewport_size({"width": 1400, "height": 1000})


@pytest.fixture
def tx_app_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, browser) -> Iterator[str]:
    """The small clinic with a transcript and a recording of D1 session 3, served and visited once."""
    db = small_clinic_db(tmp_path / "tx.duckdb")
    media = tmp_path / "media"
    monkeypatch.setenv("RRRS_MEDIA_ROOT", str(media))  # the server inherits it
    add_transcript(db)
    add_recording(db, media)
    with serve(db, tmp_path) as url:
        context = browser.new_context()
        try:
            warm = context.new_page()
            warm.goto(url + "/")
            wait_ready(warm)
        finally:
            context.close()
        yield url


def video_start(page) -> float:
    """The player's position once it has loaded (Streamlit seeks to `start_time` on loadedmetadata)."""
    video = page.locator('[data-testid="stVideo"]')
    expect(video).to_have_count(1)
    page.wait_for_function("() => { const v = document.querySelector('[data-testid=\"stVideo\"]');"
                           " return v && v.readyState >= 1 && v.currentTime > 0; }", timeout=20_000)
    return float(video.evaluate("v => v.currentTime"))


def click_rightmost_bar(page, colour: str) -> None:
    """Click the right-most bar of `colour` in the session timeline (Vega draws on a canvas: no DOM marks)."""
    from PIL import Image

    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert box is not None
    image = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
    want = tuple(int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    hits = [(x, y) for y in range(image.height) for x in range(image.width)
            if all(abs(a - b) <= 6 for a, b in zip(image.getpixel((x, y)), want, strict=True))]
    assert hits, f"no {colour} pixel in the timeline"
    right = max(x for x, _ in hits)
    ys = [y for x, y in hits if x >= right - 3]
    scale = image.width / box["width"]   # device pixels per CSS pixel
    page.mouse.click(box["x"] + (right - 6) / scale, box["y"] + (sum(ys) / len(ys)) / scale)
    wait_ready(page)


def test_supervisor_reads_an_episode_and_plays_it(new_context, tx_app_url: str) -> None:
    page = new_context(tx_app_url).new_page()
    goto(page, SESSION)
    main = page.locator('[data-testid="stMain"]')
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("viewing as supervisor S1")
    expect(main).to_contain_text("Transcript and recording")
    # Opens at the first rupture segment: its turns and, beside them, its codes; no player until asked.
    expect(main).to_contain_text("Patient words in segment 1.")
    expect(main).to_contain_text("Coded in segment 1")
    assert page.locator('[data-testid="stVideo"]').count() == 0
    assert_no_exception(page)
    shots(page, "1-opened")

    choose(page, "Minutes shown", "Episode 2: 25-35 min (unaddressed)")
    for s in (6, 7):
        expect(main).to_contain_text(f"Segment {s}, {(s - 1) * 5}-{s * 5} min")
        expect(main).to_contain_text(f"Therapist words in segment {s}.")
    expect(main).to_contain_text("Efforts to control/pressure therapist")
    assert "Patient words in segment 1." not in page_text(page)
    assert video_start(page) >= 25 * 60                                           # from the episode's start
    expect(main).to_contain_text("Recording from 25:00")
    assert_no_exception(page)
    shots(page, "2-episode-playing")

    # A click on a mark in the timeline: the last confrontation bar is segment 7 (30-35 min).
    click_rightmost_bar(page, CONFRONTATION)
    expect(selectbox(page, "Minutes shown").get_by_role("combobox")).to_have_value(
        re.compile(r"^Segment 7: 30-35 min"))
    expect(main).to_contain_text("Recording from 30:00")
    assert "Patient words in segment 6." not in page_text(page)
    assert video_start(page) >= 30 * 60
    assert_no_exception(page)
    shots(page, "4-clicked-segment")


def test_supervisor_finds_a_phrase_and_opens_its_segment(new_context, tx_app_url: str) -> None:
    context = new_context(tx_app_url)
    page = context.new_page()
    goto(page, "dyad?dyad=D1&as=supervisor")
    box = page.get_by_label(re.compile("Words to find in this dyad's 1 transcript"))
    box.fill("pointless")
    page.get_by_test_id("stBaseButton-secondaryFormSubmit").filter(has_text="Search").click()
    wait_ready(page)
    results = page.locator('[data-testid="stDataFrame"]').filter(has_text="pointless")
    expect(results).to_have_count(1)
    tables = [grid_rows(page, i) for i in range(page.locator('[data-testid="stDataFrame"]').count())]
    index = next(i for i, rows in enumerate(tables) if any("pointless" in c for r in rows for c in r))
    rows = tables[index]
    assert [r[1:] for r in rows] == [["5:10", "Patient", "This is pointless, honestly."]], rows
    assert_no_exception(page)
    shots(page, "3-search")
    grid(page, index).scroll_into_view_if_needed()  # the canvas is clicked by position: bring it into view
    with context.expect_page() as opened:          # a link cell opens a new tab
        click_grid_cell(page, index, 0)
    session = opened.value
    session.bring_to_front()
    wait_ready(session)
    expect(session).to_have_url(re.compile(r"/session\?.*at=310"))
    expect(selectbox(session, "Minutes shown").get_by_role("combobox")).to_have_value(
        re.compile(r"^Segment 2: 5-10 min"))
    expect(session.locator('[data-testid="stMain"]')).to_contain_text("This is pointless, honestly.")
    assert_no_exception(session)
