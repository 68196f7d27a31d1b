"""Sign-in and the current principal: OpenID Connect through st.login when configured, else demo mode.

The principal is re-read from the database on every run (never cached), so revoking a role takes effect
on the user's next click. Demo mode refuses to run on a database that holds non-demo data unless
RRRS_FORCE_DEMO=1, because it has no sign-in at all.
"""

from __future__ import annotations

import os

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from rrrs_core import access, audit
from rrrs_core.errors import PermissionDeniedError
from rrrs_core.scope import Scope
from rrrs_ui import glue
from rrrs_ui.text import md

DEMO_BANNER = "Demo mode - no sign-in; do not load real data"


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets.toml at all means no sign-in configured
        return False


def synthetic_only() -> bool:
    """Demo mode without RRRS_FORCE_DEMO: only synthetic data may come in (there is no sign-in to guard it)."""
    return not oidc_configured() and os.environ.get("RRRS_FORCE_DEMO") != "1"


def _sign_in_page() -> None:
    st.title("rrrs")
    st.markdown("Sign in with your clinic account to see the 3RS supervision dashboard.")
    st.button("Sign in", type="primary", on_click=st.login)
    st.stop()


def _no_access(identity: str) -> None:
    st.title("rrrs")
    st.warning(f"Your account ({md(identity)}) has no access to rrrs. Ask an administrator to add you.")
    st.button("Sign out", on_click=st.logout)
    st.stop()


def _identity() -> tuple[str | None, str | None]:
    subject, email = st.user.get("sub"), st.user.get("email")
    return (str(subject) if subject else None), (str(email) if email else None)


def _lookup() -> access.Principal | None:
    """Who this is right now, read from the database (never from session state, so revocation is instant)."""
    if not oidc_configured():
        return access.DEMO
    if not st.user.is_logged_in:
        return None
    return access.resolve(glue.connection(), *_identity())


def current() -> access.Principal:
    """The principal for this run; stops the script with a message when there is none."""
    if not oidc_configured():
        if synthetic_only() and access.has_real_data(glue.connection()):
            st.error("This database holds non-demo data, so rrrs will not run in demo mode (no sign-in). "
                     "Configure sign-in in .streamlit/secrets.toml (see README), or set RRRS_FORCE_DEMO=1 "
                     "if you really mean it.")
            st.stop()
        return access.DEMO
    if not st.user.is_logged_in:
        _sign_in_page()
    who = _lookup()
    if who is None:
        subject, email = _identity()
        _no_access(email or subject or "unknown")
    assert who is not None
    if st.session_state.get("_signed_in_as") != who.subject:
        audit.record(glue.connection(), who.subject, who.role, "sign in")
        st.session_state["_signed_in_as"] = who.subject
    return who


APP_FILE = "app.py"
VIA_APP = "_via_app"  # set by app.py on every run
DEEP_LINK = "_deep_link"  # (page name, URL params) for app.py to open


def _entry_is_app() -> bool:
    """Is app.py the entrypoint? (Not when a page script is run on its own, as some page tests do.)"""
    ctx = get_script_run_ctx()
    return ctx is not None and os.path.basename(ctx.main_script_path) == APP_FILE


def require_page(name: str) -> access.Principal:
    """Every page checks access itself. On a freshly started server a deep link (/dyad?dyad=D1) runs the page
    script without app.py (Streamlit learns of app.py's navigation only once it has run): the page then hands
    its name and URL parameters to app.py, which opens it with the titled navigation. Sign-in and the demo-mode
    check run before the hand-over, and the page's own role check runs again when app.py opens it."""
    st.set_page_config(page_title="rrrs - 3RS supervision dashboard", layout="wide")
    st.session_state["_page"] = name  # URL-seeded widgets are per page (rrrs_ui.widgets.seed)
    st.session_state.pop("_principal", None)  # never carry a principal over from an earlier run
    who = current()
    st.session_state["_principal"] = who  # resolved from the database at the top of this very run
    if not st.session_state.get(VIA_APP) and _entry_is_app():
        st.session_state[DEEP_LINK] = (name, st.query_params.to_dict())
        st.switch_page(APP_FILE)
    banner(who)
    if not who.may(name):
        st.warning("Not found or not permitted.")
        st.stop()
    return who


def principal() -> access.Principal:
    """The principal `require_page` read from the database at the top of this run (so a revoked role stops
    at the next click without a lookup per call); looked up afresh outside a page run."""
    who = st.session_state.get("_principal")
    if isinstance(who, access.Principal):
        return who
    who = _lookup()
    if who is None:
        raise PermissionDeniedError("You are not signed in, or your access was revoked. Reload the page.")
    return who


def scope() -> Scope:
    """The identified data the current principal may see."""
    return glue.query(access.scope_for, principal())


def record(action: str, target: str | None = None, detail: str | None = None) -> None:
    """Audit an access once per browser session and target, not on every widget rerun."""
    who = principal()
    key = ("_audited", action, target)
    if st.session_state.get(key):
        return
    audit.record(glue.connection(), who.subject, who.role, action, target, detail)
    st.session_state[key] = True


def audit_now(action: str, target: str | None = None, detail: str | None = None) -> None:
    """Audit every occurrence (writes such as saving a coding), not once per session like views."""
    who = principal()
    audit.record(glue.connection(), who.subject, who.role, action, target, detail)


def banner(who: access.Principal) -> None:
    if who is access.DEMO:
        st.sidebar.warning(DEMO_BANNER)
    else:
        st.sidebar.caption(f"Signed in as **{md(who.name)}** ({who.role})")
        st.sidebar.button("Sign out", on_click=st.logout)
