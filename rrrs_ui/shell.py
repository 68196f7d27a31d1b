"""The frame around every page: the pages a principal gets, the sidebar links to them, where the bare address
leads, and one answer for every other address.

- Every page lives at its own name (/caseload, /dyad, ...), so links such as `/caseload?flagged=1` work. The
  bare address (/) is a hidden page that opens the role's first page with the same URL parameters (Streamlit
  serves its default page only at /, so a default caseload would make /caseload "Page not found").
- An address the principal has no page for (another role's page, or no page at all) shows "Not found or not
  permitted.", the same for both, instead of Streamlit's generic pop-up; nothing else is registered for it.
- The sidebar links are drawn here with `st.page_link` and Streamlit's own navigation is hidden
  (`client.showSidebarNavigation = false`): otherwise Streamlit lists the raw `pages/` folder ("audit",
  "users", ...) in the first run after a server start, before app.py has registered anything.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from rrrs_core import access
from rrrs_ui import auth
from rrrs_ui.widgets import NOT_FOUND

PAGES: dict[str, tuple[str, str]] = {  # url path (= access page name) -> (file, title)
    "caseload": ("pages/caseload.py", "Caseload"),
    "dyad": ("pages/dyad.py", "Dyad trajectory"),
    "session": ("pages/session.py", "Session detail"),
    "contribution": ("pages/contribution.py", "Therapist contribution"),
    "selfreport": ("pages/selfreport.py", "Self-report entry"),
    "clinic": ("pages/clinic.py", "Clinic"),
    "data": ("pages/data.py", "Data"),
    "scoresheet": ("pages/scoresheet.py", "Scoresheet"),
    "reliability": ("pages/reliability.py", "Coder reliability"),
    "audit": ("pages/audit.py", "Audit trail"),
    "users": ("pages/users.py", "Users"),
}
HOME = "home"  # url path of the hidden page behind the bare address


def _home(first: st.Page) -> Callable[[], None]:
    def home() -> None:
        st.switch_page(first, query_params=st.query_params.to_dict())

    return home


def _refused(who: access.Principal) -> Callable[[], None]:
    def refused() -> None:
        auth.banner(who)
        st.title("rrrs")
        st.warning(NOT_FOUND)

    return refused


def _links(pages: list[st.Page]) -> None:
    with st.sidebar:
        for page in pages:
            st.page_link(page)


def run(who: access.Principal) -> None:
    """Register the principal's pages, draw the sidebar, and run the page the address asks for."""
    pages = {name: st.Page(file, title=title, url_path=name)
             for name, (file, title) in PAGES.items() if who.may(name)}
    shown = list(pages.values())
    if not shown:  # a role without pages (not one rrrs defines): the refusal, wherever it goes
        st.navigation([st.Page(_refused(who), title="rrrs", default=True)], position="hidden").run()
        return
    deep_link = st.session_state.pop(auth.DEEP_LINK, None)  # a page opened before app.py had ever run (auth)
    wanted = deep_link[0] if deep_link else auth.requested_path()
    refusal = None
    if wanted and wanted not in pages and wanted != HOME:
        refusal = st.Page(_refused(who), title="Not found", url_path=wanted, visibility="hidden")
    registered = [st.Page(_home(shown[0]), title="rrrs", url_path=HOME, default=True, visibility="hidden"),
                  *shown, *([refusal] if refusal else [])]
    nav = st.navigation(registered, position="hidden")
    _links(shown)
    auth.demo_switcher()
    if deep_link:
        target = pages.get(deep_link[0])
        if target is not None:
            st.switch_page(target, query_params=deep_link[1])
        if refusal is not None:
            st.switch_page(refusal)
    nav.run()
