"""Journey 1: every page opens from its URL, shows what it is for, and raises nothing."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_exception, goto, grid_rows, nav_links, page_text, shot, wait_ready

pytestmark = pytest.mark.browser

# (screenshot name, URL, texts that must be on the page)
PAGES = [
    ("01-caseload", "/", ["Caseload", "Dyads shown", "the concern flags are defined"]),
    ("02-dyad", "dyad?dyad=D1", ["Dyad trajectory", "Dyad D1", "trainee T1, supervised by S1",
                                 "session 3 (contribution 5)"]),
    ("03-session", "session?dyad=D1&session=3", ["Session detail", "Dyad D1 - session 3", "Global ratings",
                                                 "Rupture-to-resolution episodes", "Coders"]),
    ("04-contribution", "contribution", ["Therapist contribution", "Ratings per therapist",
                                         re.compile(r"Sessions rated (>=|≥) 4")]),  # markdown shows >= as ≥
    ("05-clinic", "clinic", ["Clinic overview", "Ruptures and resolution", "By therapist (pseudonymised)"]),
    ("06-data", "data", ["Upload coded sessions", "Templates", "Export"]),
]


@pytest.mark.parametrize(("name", "url", "texts"), PAGES, ids=[p[0] for p in PAGES])
def test_page_opens_with_its_content(page, name: str, url: str, texts: list) -> None:
    goto(page, url)
    main = page.locator('[data-testid="stMain"]')
    for text in texts:
        expect(main).to_contain_text(text)
    assert_no_exception(page)
    shot(page, f"pages-{name}")


def test_every_page_in_the_navigation_opens(page) -> None:
    """Also the pages added later (scoresheet, audit, ...): each nav link runs without an error."""
    goto(page, "/")
    links = nav_links(page)
    titles = [t.strip() for t in links.all_inner_texts()]
    assert {"Caseload", "Dyad trajectory", "Session detail", "Therapist contribution", "Clinic",
            "Data"} <= set(titles), titles
    for title in titles:
        links.filter(has_text=title).first.click()
        wait_ready(page)
        expect(page.locator('[data-testid="stMain"] h1').first).to_be_visible()
        assert_no_exception(page)
        shot(page, f"nav-{title.lower().replace(' ', '-')}")


def test_unknown_dyad_says_not_found(page) -> None:
    goto(page, "dyad?dyad=NO-SUCH-DYAD")
    expect(page.locator('[data-testid="stAlert"]')
           .filter(has_text="Not found or not permitted")).to_be_visible()
    assert_no_exception(page)
    assert "Traceback" not in page_text(page)


def test_audit_export_is_built_on_click_and_audited_each_time(page) -> None:
    """The audit trail's CSV is built when clicked (not on every rerun), and every export is itself audited."""
    goto(page, "audit")
    for _ in range(2):
        with page.expect_download(timeout=30_000) as info:
            page.get_by_role("button", name="Export as CSV").click()
        rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
        assert rows and {"audit_id", "occurred_at", "actor", "role", "action", "target"} <= set(rows[0])
        wait_ready(page)
    goto(page, "audit")  # the listing, read afresh
    actions = [r[4] for r in grid_rows(page)]
    assert actions.count("export audit") >= 2, actions
    assert_no_exception(page)
    shot(page, "pages-07-audit-export")
