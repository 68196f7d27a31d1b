"""The app's frame (rrrs_ui.shell, rrrs_ui.demo_view): page addresses, the refusal of any other address, and
the demo-only role switcher, under AppTest. The browser side (no pop-up, no page list after a restart, no
toolbar menu, each README link) is in tests/e2e/test_links_and_shell.py."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from rrrs_core import access, store
from rrrs_ui import auth, demo_view, shell
from tests.apptest import APP, all_text, open_page
from tests.test_roles import AUTH

ROOT = Path(__file__).resolve().parent.parent
FILES = {name: file for name, (file, _title) in shell.PAGES.items()}  # every page the app has


def registered(at: AppTest) -> dict[str, str]:
    """url path -> page title of every page app.py registered (the hidden ones included)."""
    return {str(i.get("url_pathname")): str(i.get("page_name")) for i in at._registered_pages.values()}


def page_files(at: AppTest) -> set[str]:
    """The rrrs pages (by access name) the browser could open: registered with their file."""
    paths = {Path(str(i.get("script_path"))).resolve() for i in at._registered_pages.values() if i.get("script_path")}
    return {name for name, file in FILES.items() if (ROOT / file).resolve() in paths}


def request(at: AppTest, address: str) -> AppTest:
    """Ask for a page by its address, as a browser opening /<address> does (Streamlit identifies a page by
    the hash of its url path)."""
    at._page_hash = calc_hash(address)
    return at


def audit_rows(db: Path) -> list[tuple]:
    con = store.connect(db)
    try:
        return con.execute("SELECT actor, role, action, target FROM audit ORDER BY audit_id").fetchall()
    finally:
        con.close()


# --- addresses -------------------------------------------------------------------------------------------

def test_every_page_has_its_own_address_and_the_bare_address_opens_the_first(monkeypatch, clinic_db):
    """/caseload must be a registered address: Streamlit serves its default page only at "/", so a default
    caseload made /caseload?flagged=1 "Page not found"."""
    at = open_page(monkeypatch, clinic_db, params={"flagged": "1"})
    assert not at.exception
    paths = registered(at)
    assert set(FILES) <= set(paths), paths
    assert paths[""] == "rrrs", "only the hidden landing page lives at /"
    assert at.title[0].value == "Caseload", "/ opens the first page of the role"
    assert at.query_params.get("flagged") == "1", "and keeps the URL parameters"
    assert at.sidebar.toggle[0].label.startswith("Only dyads with a concern flag") and at.sidebar.toggle[0].value


@pytest.mark.parametrize("address", ["audit", "no-such-page"])
def test_address_outside_the_role_says_not_found_or_not_permitted(monkeypatch, db_with_people, address):
    """A therapist at /audit and anyone at /no-such-page get the README's message (the same for both), not
    Streamlit's "Page not found" pop-up, and nothing of the page."""
    monkeypatch.setattr(auth, "requested_path", lambda: address)
    monkeypatch.setenv("RRRS_DB", str(db_with_people))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets.update(AUTH)
    at.user = {"is_logged_in": True, "sub": "t2"}
    request(at, address).run()
    assert not at.exception
    assert [w.value for w in at.warning] == ["Not found or not permitted."]
    assert "Audit trail" not in all_text(at) and "D2" not in all_text(at)
    assert registered(at)[address] == "Not found", "answered by the refusal page, hidden from the sidebar"
    assert "audit" not in page_files(at), "the audit page itself stays unregistered for a therapist"


def test_sign_in_page_answers_any_address_without_naming_pages(monkeypatch, db_with_people):
    monkeypatch.setattr(auth, "requested_path", lambda: "caseload")
    at = open_page(monkeypatch, db_with_people, secrets=AUTH, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Sign in"]
    assert not page_files(at), "no rrrs page is registered before sign-in"


def test_streamlit_page_list_and_toolbar_menu_are_off():
    """Streamlit's own sidebar list would show the raw pages/ folder in a restarted server's first run (the
    sidebar links are rrrs's own); "minimal" leaves no Deploy, rerun or record-screen menu."""
    client = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["client"]
    assert client["showSidebarNavigation"] is False
    assert client["toolbarMode"] == "minimal"


# --- the demo role switcher ------------------------------------------------------------------------------

@pytest.fixture
def db_with_people(clinic_db: Path) -> Path:
    con = store.connect(clinic_db)
    access.upsert(con, "t2", "therapist", therapist_id="T2")
    access.upsert(con, "boss", "admin")
    access.assign(con, "C1", "D2", 2)
    con.close()
    return clinic_db


def view_as(monkeypatch, db: Path, role: str) -> AppTest:
    """The app's first run with `role` picked in the switcher. (AppTest reruns a page without app.py, like a
    server's very first run, so a pick is tested on a fresh run; tests/e2e picks it in the browser.)"""
    monkeypatch.setenv("RRRS_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[demo_view.KEY] = role
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_demo_switcher_is_drawn_and_records_the_pick(monkeypatch, db_with_people):
    at = open_page(monkeypatch, db_with_people)
    box = at.selectbox(key=demo_view.WIDGET)
    assert box.label == "View the demo as" and box.options == [demo_view.LABELS[r] for r in demo_view.ROLES]
    assert box.value == "admin"
    box.select("therapist").run()
    assert at.session_state[demo_view.KEY] == "therapist"


@pytest.mark.parametrize("role", access.ROLES)
def test_demo_switcher_gives_each_role_its_own_page_set(monkeypatch, db_with_people, role):
    at = view_as(monkeypatch, db_with_people, role)
    assert page_files(at) == set(access.PAGES[role])
    assert at.query_params.get("as") == (None if role == "admin" else role)


def test_demo_switcher_applies_the_roles_scope(monkeypatch, db_with_people):
    at = view_as(monkeypatch, db_with_people, "therapist")  # T1: the first therapist who supervises nobody
    text = all_text(at)
    assert "D1" in text and "D2" not in text and "D3" not in text
    assert "dyad?dyad=D1&scope=therapist%3AT1&as=therapist" in text, "a link from a table keeps the demo role"
    at.switch_page("pages/dyad.py")
    at.query_params["dyad"] = "D2"
    at.run()
    assert "Not found or not permitted." in all_text(at) and "P-BRAVO" not in all_text(at)
    at = view_as(monkeypatch, db_with_people, "supervisor")  # S1 and trainee T1
    text = all_text(at)
    assert "D1" in text and "D3" in text and "D2" not in text and "D4" not in text
    at = view_as(monkeypatch, db_with_people, "qi")
    assert at.title[0].value.startswith("Clinic") and "P-ALPHA" not in all_text(at)
    at = view_as(monkeypatch, db_with_people, "coder")  # C1: the coder with an assigned session
    assert at.selectbox(key="sc_pick_dyad").options == ["D2 · therapist T2"]


def test_demo_view_as_is_recorded_as_such_in_the_audit_trail(monkeypatch, db_with_people):
    at = view_as(monkeypatch, db_with_people, "supervisor")
    at.switch_page("pages/dyad.py")
    at.query_params["dyad"] = "D1"
    at.run()
    assert ("demo (as supervisor S1)", "supervisor", "view dyad", "D1") in audit_rows(db_with_people)
    assert not [r for r in audit_rows(db_with_people) if r[2] == "sign in"], "demo mode signs nobody in"


def test_demo_view_as_from_the_url(monkeypatch, db_with_people):
    at = open_page(monkeypatch, db_with_people, params={"as": "qi"})
    assert page_files(at) == {"clinic"}
    at = open_page(monkeypatch, db_with_people, params={"as": "root"})
    assert page_files(at) == set(access.PAGES["admin"]), "an unknown role is the demo admin"


def test_switcher_cannot_be_enabled_when_sign_in_is_configured(monkeypatch, db_with_people):
    """Not drawn, and neither the `as` URL parameter nor the session-state key changes a signed-in role."""
    monkeypatch.setenv("RRRS_DB", str(db_with_people))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets.update(AUTH)
    at.user = {"is_logged_in": True, "sub": "t2"}
    at.query_params["as"] = "admin"
    at.session_state[demo_view.KEY] = "admin"
    at.run()
    assert not at.exception
    assert page_files(at) == set(access.PAGES["therapist"])
    assert not [s for s in at.selectbox if s.key == demo_view.WIDGET], "no switcher with sign-in configured"
    assert "D1" not in all_text(at) and "D2" in all_text(at)
    at.session_state[demo_view.KEY] = "admin"
    at.session_state[demo_view.WIDGET] = "admin"
    request(at, "audit").run()  # the page's own check, with the forged pick in session state
    assert "Not found or not permitted." in all_text(at) and "Audit trail" not in all_text(at)
    assert {r[0] for r in audit_rows(db_with_people)} == {"t2"}, "audited as the signed-in user only"


# --- the synthetic-data banner on the admin pages --------------------------------------------------------

@pytest.fixture(scope="module")
def synthetic_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rrrs_core import demo
    from rrrs_core.importing import import_path

    root = tmp_path_factory.mktemp("synthetic")
    demo.write(root / "demo", n_dyads=2, seed=7)
    con = store.connect(root / "demo.duckdb")
    try:
        import_path(con, root / "demo")
    finally:
        con.close()
    return root / "demo.duckdb"


@pytest.mark.parametrize("page", ["audit", "users"])
def test_admin_pages_carry_the_synthetic_data_banner(monkeypatch, synthetic_db, page):
    at = open_page(monkeypatch, synthetic_db, page)
    assert not at.exception
    assert any("Synthetic demo data" in c.value for c in at.caption), [c.value for c in at.caption]
