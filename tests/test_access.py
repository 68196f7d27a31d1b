"""Roles, scopes and the append-only audit trail."""

from __future__ import annotations

import pathlib

import pytest

from rrrs_core import access, audit, store
from rrrs_core.errors import PermissionDeniedError, RrrsError

pytestmark = pytest.mark.both_backends  # the embedded file and the shared store (tests/conftest.py)


@pytest.fixture
def people(clinic_con):
    access.upsert(clinic_con, "admin@clinic", "admin")
    access.upsert(clinic_con, "sup1@clinic", "supervisor", therapist_id="S1", email="Sup1@Clinic.org")
    access.upsert(clinic_con, "t1@clinic", "therapist", therapist_id="T1")
    access.upsert(clinic_con, "t2@clinic", "therapist", therapist_id="T2")
    access.upsert(clinic_con, "qi@clinic", "qi")
    access.upsert(clinic_con, "c1@clinic", "coder", coder_id="C1")
    return clinic_con


def test_resolve_by_subject_or_email_and_revocation(people):
    assert access.resolve(people, "sup1@clinic").role == "supervisor"
    assert access.resolve(people, "other-sub", "sup1@clinic.org", email_verified=True).subject == "sup1@clinic"
    assert access.resolve(people, "nobody") is None
    access.upsert(people, "t1@clinic", "therapist", therapist_id="T1", active=False)
    assert access.resolve(people, "t1@clinic") is None, "a revoked principal gets nothing at once"


def test_scopes_follow_supervision(people):
    sup = access.scope_for(people, access.resolve(people, "sup1@clinic"))
    assert sup.therapist_ids == frozenset({"S1", "T1"})
    assert access.scope_for(people, access.resolve(people, "t2@clinic")).therapist_ids == frozenset({"T2"})
    assert access.scope_for(people, access.resolve(people, "admin@clinic")).is_clinic
    for who in ("qi@clinic", "c1@clinic"):
        assert access.scope_for(people, access.resolve(people, who)).therapist_ids == frozenset()


def test_pages_per_role(people):
    pages = {s: set(access.PAGES[access.resolve(people, s).role]) for s in
             ("admin@clinic", "sup1@clinic", "t1@clinic", "qi@clinic", "c1@clinic")}
    assert pages["qi@clinic"] == {"clinic"}
    assert pages["c1@clinic"] == {"scoresheet", "reliability"}
    assert "clinic" not in pages["t1@clinic"] and "audit" not in pages["sup1@clinic"]
    assert "reliability" in pages["sup1@clinic"] and "reliability" in pages["admin@clinic"]
    assert "reliability" not in pages["t1@clinic"] | pages["qi@clinic"]
    assert {"audit", "users"} <= pages["admin@clinic"]
    with pytest.raises(PermissionDeniedError):
        access.require(access.resolve(people, "qi@clinic"), "dyad")


@pytest.mark.parametrize(("role", "kwargs", "msg"), [
    ("owner", {}, "Unknown role"),
    ("therapist", {}, "must be linked to a therapist id"),
    ("therapist", {"therapist_id": "T99"}, "No therapist 'T99'"),
])
def test_bad_principals_are_refused(clinic_con, role, kwargs, msg):
    with pytest.raises(RrrsError, match=msg):
        access.upsert(clinic_con, "x@clinic", role, **kwargs)


def test_audit_is_chained_and_detects_tampering(con):
    audit.record(con, "sup1@clinic", "supervisor", "view dyad", "D1")
    audit.record(con, "sup1@clinic", "supervisor", "view session", "D1/3")
    audit.record(con, "admin@clinic", "admin", "export csv", "summary")
    assert audit.verify(con) is None
    rows = audit.listing(con, actor="sup1@clinic")
    assert rows.action.tolist() == ["view session", "view dyad"]
    assert audit.listing(con, action="export csv").target.tolist() == ["summary"]
    con.execute("UPDATE audit SET target = 'D2' WHERE audit_id = 1")  # tampering outside the app
    assert audit.verify(con) == 1
    with pytest.raises(ValueError):
        audit.record(con, "x", "admin", "delete everything")


def test_audit_verification_finds_the_first_broken_link(con):
    """verify (SQL) must agree with the digest record (Python) writes, for every kind of row, and name the
    first row whose chain breaks: an edited row, or the row after a deleted one."""
    audit.record(con, "sup1@clinic", "supervisor", "view dyad", "D1")
    audit.record(con, "Zoë Ångström", "supervisor", "sign in")  # no target, no detail, non-ASCII
    audit.record(con, "admin@clinic", "admin", "export csv", "summary", "11 codings; \u2713")
    audit.record(con, "admin@clinic", "admin", "view audit")
    assert audit.verify(con) is None
    con.execute("UPDATE audit SET detail = '12 codings' WHERE audit_id = 3")
    assert audit.verify(con) == 3
    con.execute("UPDATE audit SET detail = '11 codings; \u2713' WHERE audit_id = 3")
    assert audit.verify(con) is None
    con.execute("DELETE FROM audit WHERE audit_id = 2")
    assert audit.verify(con) == 3


def test_nothing_in_the_app_updates_or_deletes_audit_rows():
    root = pathlib.Path(__file__).resolve().parent.parent
    offenders = []
    for path in [*root.glob("rrrs_core/**/*.py"), *root.glob("rrrs_ui/**/*.py"), *root.glob("pages/*.py"),
                 root / "app.py"]:
        text = path.read_text().lower()
        if "update audit" in text or "delete from audit" in text or "drop table audit" in text:
            offenders.append(str(path))
    assert offenders == []


def test_real_data_detection(con, tmp_path):
    from rrrs_core import demo
    from rrrs_core.importing import import_path
    from tests.tables import write_folder

    demo.write(tmp_path / "d", n_dyads=2)
    import_path(con, tmp_path / "d")
    assert not access.has_real_data(con)
    frames_folder = write_folder(tmp_path / "real")
    (frames_folder / "sessions.csv").write_text((frames_folder / "sessions.csv").read_text().replace("D2,", "D9,"))
    import_path(con, frames_folder, replace=True)
    assert access.has_real_data(con)
    assert store.scalar(con, "SELECT count(*) FROM import_batch") == 2
