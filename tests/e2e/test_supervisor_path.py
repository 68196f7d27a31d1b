"""The supervisor's twenty minutes before a supervision meeting (issue #15), in Chromium, as the demo's
supervisor: the caseload, most concerning first -> that dyad -> its worst session -> the dyad's PDF.

Each step checks what the supervisor is told against what the data says: the caseload's order is its
caption's, the dyad page opens on the worst flagged session, the session page says why it is flagged, and the
PDF leads with the same session. Screenshots at 1400 and 1024 px: artifacts/e2e/path-*.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.e2e.conftest import (
    assert_no_exception,
    click_grid_cell,
    goto,
    grid_headers,
    grid_rows,
    shot,
    wait_ready,
)

pytestmark = pytest.mark.browser

WIDTHS = (1400, 1024)


def shots(page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1000})
        wait_ready(page)
        shot(page, f"path-{name}-{width}")
    page.set_viewport_size({"width": 1400, "height": 1000})


def column(rows: list[list[str]], headers: list[str], name: str) -> list[str]:
    i = headers.index(name)
    return [r[i] for r in rows]


def test_caseload_to_worst_session_to_pdf(page, context, tmp_path) -> None:
    goto(page, "caseload?as=supervisor")
    main = page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("Most concerning first")
    headers = grid_headers(page)
    assert headers[:3] == ["Dyad", "Status", "Concern"], headers  # why the order is what it is: on screen
    rows = grid_rows(page)
    concern = [int(c) for c in column(rows, headers, "Concern")]
    assert concern == sorted(concern, reverse=True), concern
    assert concern[0] > 0, "the demo supervisor's caseload should hold a flagged dyad"
    shown = page.locator('[data-testid="stMetric"]').filter(has_text="Dyads shown")
    expect(shown.locator('[data-testid="stMetricValue"]')).to_have_text(str(len(rows)))
    assert_no_exception(page)
    shots(page, "1-caseload")

    with context.expect_page() as opened:  # the most concerning dyad, in a new tab as a link column does
        click_grid_cell(page, 0, 0)
    dyad = opened.value
    dyad.bring_to_front()
    wait_ready(dyad)
    dyad_id = column(rows, headers, "Dyad")[0].rsplit("dyad=", 1)[-1].split("&")[0]  # a link cell holds its URL
    expect(dyad).to_have_url(re.compile(rf"/dyad\?.*dyad={dyad_id}"))
    expect(dyad.locator('[data-testid="stMain"]')).to_contain_text(re.compile(r"Last session \d{4}-\d\d-\d\d "
                                                                               r"\(\d+ days? ago\)"))
    # The sessions table runs newest first; the picker starts at its worst flagged session.
    table = dyad.locator('[data-testid="stDataFrame"]').last
    sess_headers = table.locator("table thead th").all_text_contents()
    sess_rows = table.locator("table").evaluate("t => Array.from(t.querySelectorAll('tbody tr')).map("
                                                "r => Array.from(r.querySelectorAll('td')).map(c => c.textContent))")
    numbers = [int(n) for n in column(sess_rows, sess_headers, "Session")]
    dates = column(sess_rows, sess_headers, "Date")
    assert dates == sorted(dates, reverse=True), dates
    severity = {n: int(s) for n, s in zip(numbers, column(sess_rows, sess_headers, "Severity"), strict=True)
                if s.strip().isdigit()}
    assert severity, "the most concerning dyad should have a flagged session"
    worst = max(severity, key=lambda n: (severity[n], dates[numbers.index(n)]))
    picker = dyad.locator('[data-testid="stSelectbox"]').filter(has_text="Open a session").get_by_role("combobox")
    expect(picker).to_have_value(f"Session {worst} (severity {severity[worst]})")
    assert_no_exception(dyad)
    shots(dyad, "2-dyad")

    with dyad.expect_download(timeout=120_000) as info:  # the dyad report, before leaving the page
        dyad.get_by_role("button", name="Download dyad report (PDF)").click()
    pdf = tmp_path / "dyad.pdf"
    info.value.save_as(pdf)
    cover = PdfReader(pdf).pages[0].extract_text()
    assert dyad_id in cover and "Last session" in cover, cover[:800]
    first_listed = re.search(r"Session (\d+) \(\d{4}-\d\d-\d\d\), severity (\d+)", cover)
    assert first_listed and int(first_listed.group(1)) == worst, cover[:1500]

    dyad.get_by_role("link", name=re.compile(rf"Session {worst} detail")).click()
    wait_ready(dyad)
    expect(dyad).to_have_url(re.compile(rf"/session\?.*session={worst}"))
    session_main = dyad.locator('[data-testid="stMain"]')
    expect(session_main).to_contain_text(f"severity {severity[worst]}")
    assert_no_exception(dyad)
    shots(dyad, "3-session")
