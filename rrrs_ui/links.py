"""Links from table rows to the dyad and session pages, carrying the viewer's context along.

URLs are relative ("dyad?dyad=D1") so they keep working behind a proxy or a `server.baseUrlPath`, and
they carry the current `scope` and `tc` (threshold) query params so a supervisor who follows a link,
or sends it to a colleague, sees the same filters on the next page.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

import pandas as pd

from rrrs_ui.widgets import param

DYAD_PAGE = "dyad"
SESSION_PAGE = "session"
CARRIED = ("scope", "tc", "as")  # "as": the demo role switcher's role (demo mode only; ignored with sign-in)
# LinkColumn display_text: show the dyad id (first query param) instead of the whole URL.
DYAD_DISPLAY = r"dyad=([^&]*)"
SESSION_DISPLAY = r"session=([^&]*)"


def carried_params() -> dict[str, str]:
    """The current page's context params worth keeping on the next page."""
    out = {}
    for name in CARRIED:
        value = param(name)
        if value:
            out[name] = value
    return out


def page_url(url_path: str, **params: object) -> str:
    """A relative link to a page with query params (None values dropped)."""
    query = urlencode({k: str(v) for k, v in params.items() if v is not None}, quote_via=quote)
    return f"{url_path}?{query}" if query else url_path


def _suffix() -> str:
    carried = carried_params()
    return "&" + urlencode(carried, quote_via=quote) if carried else ""


def dyad_urls(dyad_ids: pd.Series) -> pd.Series:
    """A link to the dyad page for each dyad id."""
    encoded = dyad_ids.astype(str).map(lambda v: quote(v, safe=""))
    return f"{DYAD_PAGE}?dyad=" + encoded + _suffix()


def session_urls(dyad_ids: pd.Series, session_numbers: pd.Series) -> pd.Series:
    """A link to the session page for each (dyad, session number) pair."""
    encoded = dyad_ids.astype(str).map(lambda v: quote(v, safe=""))
    return (f"{SESSION_PAGE}?dyad=" + encoded + "&session=" + session_numbers.astype(int).astype(str)
            + _suffix())
