"""Sign-in and the current principal: OpenID Connect through st.login when configured, else demo mode.

The principal is re-read from the database on every run (never cached), so revoking a role takes effect
on the user's next click. Demo mode refuses to run on a database that holds non-demo data unless
RRRS_FORCE_DEMO=1, because it has no sign-in at all.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from rrrs_core import access, audit, auth_setup
from rrrs_core.errors import (
    DatabaseBusyError,
    EncryptionKeyError,
    PermissionDeniedError,
    RrrsError,
    SchemaTooNewError,
)
from rrrs_core.scope import Scope
from rrrs_ui import demo_view, glue
from rrrs_ui.text import md

log = logging.getLogger(__name__)
DEMO_BANNER = "Demo mode - no sign-in; do not load real data"


def _auth_section() -> Mapping[str, Any] | None:
    """The `[auth]` secrets section, or None when sign-in is not configured (demo mode)."""
    try:
        return st.secrets.get("auth", None)
    except Exception:  # noqa: BLE001 - no secrets.toml at all means no sign-in configured
        return None


def oidc_configured() -> bool:
    return _auth_section() is not None


def synthetic_only() -> bool:
    """Demo mode without RRRS_FORCE_DEMO: only synthetic data may come in (there is no sign-in to guard it)."""
    return not oidc_configured() and os.environ.get("RRRS_FORCE_DEMO") != "1"


Stop = Callable[[], None]  # renders a page in place of the app, then stops the script


def _refusal(message: str) -> Stop:
    def refused() -> None:
        st.title("rrrs")
        st.error(message)
        st.stop()

    return refused


def _sign_in_page() -> None:
    st.title("rrrs")
    st.markdown("Sign in with your clinic account to see the 3RS supervision dashboard.")
    st.button("Sign in", type="primary", on_click=st.login)
    st.stop()


def _no_access(identity: str) -> Stop:
    def no_access() -> None:
        st.title("rrrs")
        st.warning(f"Your account ({md(identity)}) has no access to rrrs. Ask an administrator to add you.")
        st.button("Sign out", on_click=st.logout)
        st.stop()

    return no_access


def _identity() -> tuple[str | None, str | None]:
    """The provider's subject, and its e-mail only when the provider says it is verified (an unverified
    address is whatever the account holder typed, so it must not match a principal)."""
    subject, email = st.user.get("sub"), st.user.get("email")
    if not email_verified():
        email = None
    return (str(subject) if subject else None), (str(email) if email else None)


def email_verified() -> bool:
    return st.user.get("email_verified") in (True, "true", "True")


def _lookup() -> access.Principal | None:
    """Who this is right now, read from the database (never from session state, so revocation is instant)."""
    if not oidc_configured():
        return demo_view.principal()
    if not st.user.is_logged_in:
        return None
    return access.resolve(glue.connection(), *_identity(), email_verified=email_verified())


CONFIG_REFUSED = ("rrrs will not start: {problem}. An administrator must run `rrrs setup-auth` (or `make secrets`) "
                  "to write a new secret into .streamlit/secrets.toml, then restart rrrs.")
DB_BUSY = ("The database is in use by another process (another rrrs server or a command-line import). "
           "Try again in a minute; if this persists, ask your administrator.")
DB_KEY = "rrrs cannot open its database: the encryption key is wrong or missing. Ask your administrator."
DB_OTHER = "rrrs cannot open its database. Ask your administrator (the details are in the server log)."
DB_NEWER = ("rrrs will not start: its database was upgraded by a newer version of rrrs than this server runs. "
            "Ask your administrator to upgrade this server (the details are in the server log).")
DEMO_REFUSED = ("This database holds non-demo data, so rrrs will not run in demo mode (no sign-in). "
                "Configure sign-in in .streamlit/secrets.toml (see README), or set RRRS_FORCE_DEMO=1 "
                "if you really mean it.")


def _database_problem() -> str | None:
    """A plain message when the database cannot be opened; the details (paths, process ids) go to the log."""
    try:
        glue.connection()
    except DatabaseBusyError as exc:
        log.warning("rrrs: %s", exc)
        return DB_BUSY
    except EncryptionKeyError as exc:
        log.error("rrrs: %s", exc)
        return DB_KEY
    except SchemaTooNewError as exc:
        log.error("rrrs: %s", exc)
        return DB_NEWER
    except RrrsError as exc:
        log.error("rrrs: %s", exc)
        return DB_OTHER
    return None


def _resolve() -> tuple[access.Principal | None, Stop | None]:
    """Who is using the app, or what to show instead of it: a refusal of a weak sign-in secret, the sign-in
    page, a plain message about the database, the demo-mode refusal, or 'no access'."""
    section = _auth_section()
    if section is not None:
        problem = auth_setup.config_problem(section)
        if problem:
            log.error("rrrs: %s", problem)
            return None, _refusal(CONFIG_REFUSED.format(problem=problem))
        if not st.user.is_logged_in:
            return None, _sign_in_page
    problem = _database_problem()
    if problem:
        return None, _refusal(problem)
    if section is None:
        if synthetic_only() and access.has_real_data(glue.connection()):
            return None, _refusal(DEMO_REFUSED)
        return demo_view.principal(), None  # the admin, or the role picked in the demo switcher
    who = _lookup()
    if who is None:
        subject, email = _identity()
        return None, _no_access(email or subject or "unknown")
    return who, None


def _signed_in(who: access.Principal) -> access.Principal:
    if not who.demo:
        _audit_sign_in(who)
    return who


def current() -> access.Principal:
    """The principal for this run; stops the script with a message when there is none."""
    who, stop = _resolve()
    if stop is not None:
        stop()
    assert who is not None
    return _signed_in(who)


def entry() -> access.Principal:
    """`current()` for app.py: when there is no principal, the navigation holds only the (hidden) page that
    says why, so no page name reaches a browser before sign-in."""
    who, stop = _resolve()
    if stop is not None:
        pages = [st.Page(stop, title="rrrs", url_path="welcome", default=True)]
        wanted = requested_path()  # /caseload?... before sign-in: this page, not Streamlit's "Page not found"
        if wanted and wanted != "welcome":
            pages.append(st.Page(stop, title="rrrs", url_path=wanted, visibility="hidden"))
        st.navigation(pages, position="hidden").run()
        st.stop()
    assert who is not None
    return _signed_in(who)


def _grant(who: access.Principal) -> str:
    return f"role={who.role}" + "".join(f" {k}={v}" for k, v in (("therapist", who.therapist_id),
                                                                  ("coder", who.coder_id)) if v)


def _audit_sign_in(who: access.Principal) -> None:
    """Audit the first run of a browser session as "sign in", and every later change of the principal's role
    or links within the same session (an admin changed them) as "role change", from what to what."""
    seen = st.session_state.get("_signed_in_as")
    grant = _grant(who)
    if seen is None or seen[0] != who.subject:
        audit.record(glue.connection(), who.subject, who.role, "sign in", None, grant)
    elif seen[1] != grant:
        audit.record(glue.connection(), who.subject, who.role, "role change", None, f"{seen[1]} -> {grant}")
    else:
        return
    st.session_state["_signed_in_as"] = (who.subject, grant)


APP_FILE = "app.py"
VIA_APP = "_via_app"  # set by app.py on every run
DEEP_LINK = "_deep_link"  # (page name, URL params) for app.py to open


_PATH = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def requested_path() -> str | None:
    """The page the browser asked for by its address (/audit -> "audit"), or None (the root, a click on a
    link, an address that is not a page name). Lets the app answer an address it did not register with its
    own message instead of Streamlit's "Page not found" pop-up."""
    ctx = get_script_run_ctx()
    name = ctx.pages_manager.intended_page_name if ctx is not None else None
    return name if name and _PATH.fullmatch(name) else None


def demo_switcher() -> None:
    """The demo role switcher, drawn only in demo mode (see rrrs_ui.demo_view for the safety rule)."""
    if not oidc_configured():
        demo_view.switcher()


def _entry_is_app() -> bool:
    """Is app.py the entrypoint? (Not when a page script is run on its own, as some page tests do.)"""
    ctx = get_script_run_ctx()
    return ctx is not None and os.path.basename(ctx.main_script_path) == APP_FILE


def require_page(name: str) -> access.Principal:
    """Every page checks access itself. On a freshly started server a deep link (/dyad?dyad=D1) runs the page
    script without app.py (Streamlit learns of app.py's navigation only once it has run): the page then hands
    its name and URL parameters to app.py at once; app.py signs the user in first (registering no page before
    that, so no page name is sent), then opens it with the titled navigation and the page's role check."""
    st.set_page_config(page_title="rrrs - 3RS supervision dashboard", layout="wide")
    st.session_state["_page"] = name  # URL-seeded widgets are per page (rrrs_ui.widgets.seed)
    st.session_state.pop("_principal", None)  # never carry a principal over from an earlier run
    if not st.session_state.get(VIA_APP) and _entry_is_app():
        st.session_state[DEEP_LINK] = (name, st.query_params.to_dict())
        st.switch_page(APP_FILE)  # app.py signs in first, then registers only the pages this user may open
    who = current()
    st.session_state["_principal"] = who  # resolved from the database at the top of this very run
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
    key = ("_audited", who.subject, who.role, action, target)  # audited again after a role change
    if st.session_state.get(key):
        return
    audit.record(glue.connection(), who.subject, who.role, action, target, detail)
    st.session_state[key] = True


def audit_now(action: str, target: str | None = None, detail: str | None = None) -> None:
    """Audit every occurrence (writes such as saving a coding), not once per session like views."""
    who = principal()
    audit.record(glue.connection(), who.subject, who.role, action, target, detail)


def banner(who: access.Principal) -> None:
    if who.demo:
        st.sidebar.warning(DEMO_BANNER)
        if who is not access.DEMO:
            st.sidebar.caption(f"{md(who.name)}: the pages and data a signed-in {who.role} would get.")
    else:
        st.sidebar.caption(f"Signed in as **{md(who.name)}** ({who.role})")
        st.sidebar.button("Sign out", on_click=st.logout)
