"""Issue 14, scope item 5: a table's toolbar offers no "Download as CSV" (client.disableDataExport), so grid
data leaves only through rrrs's audited, formula-neutralised exports (Data and Audit pages)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import assert_no_exception, goto, grid, shot

pytestmark = pytest.mark.browser


def test_table_toolbar_has_no_csv_download(page) -> None:
    goto(page, "/")
    grid(page).hover()
    toolbar = page.locator('[data-testid="stElementToolbar"]').first
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible()  # the toolbar is there...
    expect(page.get_by_role("button", name="Download as CSV")).to_have_count(0)  # ...without the export
    assert_no_exception(page)
    shot(page, "grid-toolbar-no-export")
