"""Journey 5: lowering the therapist-contribution threshold brings D1 session 4 (contribution 2) in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import (
    assert_no_exception,
    goto,
    grid_headers,
    grid_rows,
    shot,
    threshold_slider,
    wait_ready,
)

pytestmark = pytest.mark.browser

T1 = "scope=therapist:T1"  # D1 is T1's only dyad: the list holds D1's sessions only


def session_number(cell: str) -> str:
    """The Session column links to the session page and displays its number: read either form."""
    found = re.search(r"session=(\d+)", cell)
    return found.group(1) if found else cell


def listed_sessions(page) -> set[tuple[str, str, str]]:
    """(dyad, session, contribution) of every row in the contribution page's session list."""
    headers = grid_headers(page)
    dyad, session, contribution = (headers.index(h) for h in ("Dyad", "Session", "Contribution"))
    return {(r[dyad], session_number(r[session]), r[contribution]) for r in grid_rows(page)}


def test_slider_lowers_threshold_on_contribution_page(page) -> None:
    goto(page, f"contribution?{T1}")
    slider = threshold_slider(page)
    expect(slider).to_have_value("4")
    assert listed_sessions(page) == {("D1", "3", "5")}
    shot(page, "journey5-1-contribution-tc4")

    slider.focus()
    page.keyboard.press("ArrowLeft")  # two quick presses: the slider sends one change, 4 -> 2
    page.keyboard.press("ArrowLeft")
    wait_ready(page)
    expect(slider).to_have_value("2")
    expect(page).to_have_url(re.compile(r"[?&]tc=2(&|$)"))
    expect(page.locator('[data-testid="stMain"]')).to_contain_text(re.compile(r"Sessions rated (>=|≥) 2"))
    listed = listed_sessions(page)
    assert ("D1", "4", "2") in listed, listed
    assert {("D1", "1", "2"), ("D1", "2", "3"), ("D1", "3", "5")} <= listed, listed
    assert_no_exception(page)
    shot(page, "journey5-2-contribution-tc2")


def test_threshold_from_url_on_dyad_page(page) -> None:
    goto(page, "dyad?dyad=D1")
    main = page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("Therapist contribution at or above 4: session 3 (contribution 5).")
    assert "session 4 (contribution 2)" not in main.inner_text()

    goto(page, "dyad?dyad=D1&tc=2")
    expect(threshold_slider(page)).to_have_value("2")
    expect(main).to_contain_text("Therapist contribution at or above 2:")
    expect(main).to_contain_text("session 4 (contribution 2)")
    rows = {r[0]: r for r in grid_rows(page, index=0)}  # the Sessions table: Session, Date, Severity, Flag, ...
    assert list(rows)[:2] == ["4", "3"], rows              # newest first
    assert rows["4"][2:4] == ["4", "TC ≥ 2"], rows         # severity (2 - 1) + (5 - 2) = 4
    assert_no_exception(page)
    shot(page, "journey5-3-dyad-tc2")


def test_slider_step_by_step_keeps_every_change(page) -> None:
    goto(page, f"contribution?{T1}")
    slider = threshold_slider(page)
    for value in ("3", "2"):  # one step at a time, each followed by its rerun, as with a mouse
        slider.focus()  # the rerun can take the focus away
        page.keyboard.press("ArrowLeft")
        wait_ready(page)
        page.wait_for_timeout(500)
        wait_ready(page)
        assert slider.input_value() == value
        assert f"tc={value}" in page.url
    shot(page, "journey5-4-contribution-stepwise")
