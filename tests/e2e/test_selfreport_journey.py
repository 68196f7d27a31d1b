"""A therapist types in a patient's paper SRS after a session (issue 18), in Chromium, as the demo's therapist:
the entry form -> saved with its alert -> the dyad page shows the new SRS and the caseload flag -> the
caseload lists the flag for that dyad. Screenshots at 1400 and 1024 px of the form, the dyad page, the session
page and the caseload: artifacts/e2e/sr-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_exception, goto, grid_headers, grid_rows, shot, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.writes_db]

WIDTHS = (1400, 1024)
AS = "as=therapist"
SRS = {"Relationship": "7.5", "Goals and topics": "7", "Approach or method": "6.5", "Overall": "7"}  # 28 of 40


def shots(page, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 1000})
        wait_ready(page)
        shot(page, f"sr-{name}-{width}")
    page.set_viewport_size({"width": 1400, "height": 1000})


def caseload_flags(page) -> dict[str, str]:
    """Dyad id -> its concern flags as the caseload's grid shows them."""
    goto(page, f"caseload?{AS}")
    headers, rows = grid_headers(page), grid_rows(page)
    dyad, flags = headers.index("Dyad"), headers.index("Concern flags")
    return {r[dyad].rsplit("dyad=", 1)[-1].split("&")[0]: r[flags] for r in rows}


def test_therapist_enters_an_srs_and_sees_the_flag(page) -> None:
    before = caseload_flags(page)
    assert before, "the demo therapist should have dyads"
    dyad = next(d for d, f in sorted(before.items()) if "Alliance below cutoff" not in f)

    goto(page, f"selfreport?{AS}&dyad={dyad}")
    main = page.locator('[data-testid="stMain"]')
    expect(main).to_contain_text("Self-report entry")
    session = int(page.get_by_role("spinbutton", name="Session number").input_value())
    for label, value in SRS.items():
        box = page.get_by_role("spinbutton", name=label, exact=True)
        box.fill(value)
        box.press("Tab")
    shots(page, "1-form")
    page.get_by_role("button", name="Save form").click()
    wait_ready(page)
    assert_no_exception(page)
    saved = page.locator('[data-testid="stAlertContentSuccess"]')
    expect(saved).to_contain_text(f"Saved: Session Rating Scale (SRS), patient, session {session} of dyad {dyad}")
    expect(saved).to_contain_text("Alliance below cutoff")
    shots(page, "2-saved")

    goto(page, f"dyad?{AS}&dyad={dyad}")
    expect(main).to_contain_text(f"the patient's latest SRS (session {session}) totals 28.0 of 40, below 36")
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Latest SRS")
    expect(metric.locator('[data-testid="stMetricValue"]')).to_have_text("28.0 / 40")
    expect(main).to_contain_text("Session Rating Scale: the patient's view of the session")
    assert_no_exception(page)
    shots(page, "3-dyad")

    goto(page, f"session?{AS}&dyad={dyad}&session={session}")
    expect(main).to_contain_text("Self-reports")
    expect(main).to_contain_text(re.compile(rf"Dyad {dyad} - session {session}"))
    assert_no_exception(page)
    shots(page, "4-session")

    after = caseload_flags(page)
    assert "Alliance below cutoff" in after[dyad], after[dyad]
    assert_no_exception(page)
    shots(page, "5-caseload")
