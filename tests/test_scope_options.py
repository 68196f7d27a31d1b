"""The Scope box lists every therapist of a small clinic, and at most SCOPE_LIMIT matches of a large one."""

from __future__ import annotations

from rrrs_ui.widgets import SCOPE_LIMIT, therapist_options

MANY = [f"T{i:04d}" for i in range(1, 1251)]  # a 100k-session clinic's 1,250 therapists


def test_a_small_clinic_lists_every_therapist_whatever_the_search():
    few = MANY[:SCOPE_LIMIT]
    assert therapist_options(few, "", None) == [f"therapist:{t}" for t in few]
    assert therapist_options(few, "T9", None) == [f"therapist:{t}" for t in few]


def test_a_large_clinic_lists_the_first_matches_only():
    assert therapist_options(MANY, "", None) == [f"therapist:{t}" for t in MANY[:SCOPE_LIMIT]]
    assert therapist_options(MANY, " t080 ", None) == [f"therapist:T080{d}" for d in range(10)]
    assert therapist_options(MANY, "nobody", None) == []


def test_the_therapist_in_the_link_stays_listed_but_not_one_outside_the_scope():
    assert therapist_options(MANY, "T000", "therapist:T1200")[-1] == "therapist:T1200"
    assert "therapist:T9999" not in therapist_options(MANY, "", "therapist:T9999")
    assert len(therapist_options(MANY, "", "supervisor:T0001")) == SCOPE_LIMIT


def test_a_large_clinic_finds_a_therapist_in_the_sidebar(monkeypatch, tmp_path):
    """At more than SCOPE_LIMIT therapists the sidebar gets "Find a therapist"; the Scope box then lists its
    matches beside the clinic and the supervisors."""
    from rrrs_core import store
    from tests.apptest import open_clean
    from tests.builders import add_therapist, small_clinic

    db = tmp_path / "rrrs.duckdb"
    con = store.connect(db)
    small_clinic(con)
    for i in range(1, SCOPE_LIMIT + 10):
        add_therapist(con, f"X{i:03d}", "S1")
    con.close()
    at = open_clean(monkeypatch, db, "caseload")
    scope = next(s for s in at.selectbox if s.label == "Scope")
    assert len(scope.options) == 1 + 2 + SCOPE_LIMIT  # clinic, S1 and S2, the first therapists
    next(t for t in at.text_input if t.label == "Find a therapist").input("x05").run()
    scope = next(s for s in at.selectbox if s.label == "Scope")
    assert [o for o in scope.options if "X" in o] == [f"Therapist X05{d}" for d in range(10)]
    scope.set_value("therapist:X057").run()
    assert not at.exception and at.query_params["scope"] == "therapist:X057"
    next(t for t in at.text_input if t.label == "Find a therapist").input("").run()  # search cleared
    scope = next(s for s in at.selectbox if s.label == "Scope")
    assert scope.value == "therapist:X057" and scope.options[-1] == "Therapist X057"  # the chosen one stays
