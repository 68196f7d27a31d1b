"""Sign-in, roles and scoping as each kind of user meets them, with mocked OIDC users under AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rrrs_core import access, store
from tests.apptest import APP, all_text, open_page
from tests.conftest import TEST_SECRET

# On both backends: the tests that write through the core or audit (below, marked). The page-level scope
# checks run on the embedded file only: on DuckLake they test the same permission code at several times
# the cost (about 5 ms of catalog reads per query); tests/test_page_*.py cover the pages on the lake.

AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": TEST_SECRET,
                 "client_id": "rrrs", "client_secret": "x",
                 "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}


@pytest.fixture
def db(clinic_db: Path) -> Path:
    con = store.connect(clinic_db)
    access.upsert(con, "sup1", "supervisor", therapist_id="S1", email="sup1@clinic.org")
    access.upsert(con, "t2", "therapist", therapist_id="T2")
    access.upsert(con, "qi", "qi")
    access.upsert(con, "c1", "coder", coder_id="C1")
    access.upsert(con, "boss", "admin")
    con.close()
    return clinic_db


def run_as(monkeypatch, db: Path, user: dict | None, page: str | None = None,
           params: dict[str, str] | None = None) -> AppTest:
    identity = {"is_logged_in": False} if user is None else {"is_logged_in": True, **user}
    return open_page(monkeypatch, db, page, params, secrets=AUTH, user=identity)


def audit_rows(db: Path) -> list[tuple[str, str, str | None]]:
    con = store.connect(db)
    rows = con.execute("SELECT actor, action, target FROM audit ORDER BY audit_id").fetchall()
    con.close()
    return rows


def test_signed_out_user_sees_only_sign_in(monkeypatch, db):
    at = run_as(monkeypatch, db, None)
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert "D1" not in all_text(at)


def test_unknown_identity_has_no_access(monkeypatch, db):
    at = run_as(monkeypatch, db, {"sub": "stranger", "email": "stranger@else.org"})
    assert "has no access" in all_text(at) and "D1" not in all_text(at)


def test_therapist_sees_only_own_dyads_even_by_url(monkeypatch, db):
    at = run_as(monkeypatch, db, {"sub": "t2"})
    assert not at.exception
    caseload = all_text(at)
    assert "D2" in caseload and "D4" in caseload and "D1" not in caseload
    at = run_as(monkeypatch, db, {"sub": "t2"}, "dyad", {"dyad": "D1"})
    assert "Not found or not permitted." in all_text(at)
    assert "P-ALPHA" not in all_text(at)
    at = run_as(monkeypatch, db, {"sub": "t2"}, "session", {"dyad": "D1", "session": "3"})
    assert "Not found or not permitted." in all_text(at)
    at = run_as(monkeypatch, db, {"sub": "t2"}, "caseload", {"scope": "supervisor:S1"})
    assert "D1" not in all_text(at), "a scope outside the user's own in the URL falls back to theirs"


def test_therapist_cannot_open_pages_outside_role(monkeypatch, db):
    at = run_as(monkeypatch, db, {"sub": "t2"})
    with pytest.raises(Exception):  # noqa: B017 - AppTest refuses pages that are not registered
        at.switch_page("pages/clinic.py").run()
    with pytest.raises(Exception):  # noqa: B017
        at.switch_page("pages/audit.py").run()


def test_supervisor_sees_trainees_not_other_supervisors(monkeypatch, db):
    at = run_as(monkeypatch, db, {"sub": "someone-else", "email": "SUP1@clinic.org", "email_verified": True})
    text = all_text(at)
    assert "D1" in text and "D3" in text and "D2" not in text and "D4" not in text
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "dyad", {"dyad": "D2"})
    assert "Not found or not permitted." in all_text(at)
    at = run_as(monkeypatch, db, {"sub": "sup1"}, "dyad", {"dyad": "D1"})
    assert not at.exception and "Not found" not in all_text(at)
    assert ("sup1", "view dyad", "D1") in audit_rows(db)


def test_qi_gets_only_the_clinic_page_and_no_identifiers(monkeypatch, db):
    at = run_as(monkeypatch, db, {"sub": "qi"})
    assert not at.exception
    text = all_text(at)
    assert "Clinic" in text
    for ident in ("D1", "D2", "D3", "D4", "P-ALPHA", "P-BRAVO", "P-CHARLIE", "P-DELTA"):
        assert ident not in text
    with pytest.raises(Exception):  # noqa: B017
        at.switch_page("pages/dyad.py").run()


@pytest.mark.both_backends
def test_views_and_sign_in_are_audited(monkeypatch, db):
    run_as(monkeypatch, db, {"sub": "boss"}, "session", {"dyad": "D2", "session": "1"})
    rows = audit_rows(db)
    assert ("boss", "sign in", None) in rows
    assert ("boss", "view session", "D2/1") in rows


@pytest.mark.both_backends
def test_revoked_role_takes_effect_at_once(monkeypatch, db):
    at = run_as(monkeypatch, db, {"sub": "t2"})
    assert "D2" in all_text(at)
    con = store.connect(db)
    access.upsert(con, "t2", "therapist", therapist_id="T2", active=False)
    con.close()
    at.run()
    text = all_text(at)
    assert ("has no access" in text or "access was revoked" in text) and "D2" not in text


def test_demo_mode_banner_and_refusal_on_real_data(monkeypatch, db, tmp_path):
    monkeypatch.setenv("RRRS_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert "Demo mode - no sign-in; do not load real data" in [w.value for w in at.sidebar.warning]
    from rrrs_core.importing import import_path
    from tests.tables import read_ok, write_folder

    frames = {t: f.replace({"D1": "R1", "D2": "R2"}) for t, f in read_ok().items()}
    con = store.connect(db)
    import_path(con, write_folder(tmp_path / "real", frames))  # no SYNTHETIC.txt: real data
    con.close()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert "will not run in demo mode" in all_text(at)
    assert "D1" not in all_text(at)
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert "D1" in all_text(at)


@pytest.mark.both_backends
def test_coder_sees_only_assigned_sessions_and_saves_are_audited(monkeypatch, db):
    con = store.connect(db)
    access.assign(con, "C1", "D2", 2)
    con.close()
    at = run_as(monkeypatch, db, {"sub": "c1"})
    assert not at.exception
    dyad_box = at.selectbox(key="sc_pick_dyad")
    assert dyad_box.options == ["D2 · therapist T2"], "a coder sees only dyads with a session assigned to them"
    at.selectbox(key="sc_pick_dyad").select("D2").run()
    assert at.selectbox(key="sc_pick_session_D2").options == ["Session 2 · 2026-01-12"]
    assert "sessions assigned to you" in all_text(at)
    at.selectbox(key="sc_pick_session_D2").select(2).run()
    assert at.selectbox(key="sc_pick_coder").options == ["C1"]
    assert not at.exception
    fresh = run_as(monkeypatch, db, {"sub": "c1"})
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # no dashboards for coders
        fresh.switch_page("pages/caseload.py").run()


def test_admin_pages_for_admins(monkeypatch, db):
    at = run_as(monkeypatch, db, {"sub": "boss"}, "users")
    assert not at.exception
    assert at.selectbox[0].value == "qi", "the add-user form starts at the least privileged role"
    at = run_as(monkeypatch, db, {"sub": "boss"}, "audit")
    assert not at.exception and "The audit trail is intact" in all_text(at)
