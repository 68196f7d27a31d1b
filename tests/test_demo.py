"""The synthetic demo clinic: file format the importer relies on, internal consistency of marks and
ratings with the 3RS rules, and the clinical story (archetypes) the dashboard is demonstrated with."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rrrs_core import codebook as cb
from rrrs_core import demo
from rrrs_core import demo_calibration as dc
from rrrs_core.demo_model import simulate

BOOK = cb.CODEBOOK_3RS_2015
CODING = ["dyad_id", "session_number", "coder_id"]
SESSION = ["dyad_id", "session_number"]
FAMILY = {c.key: c.family for c in BOOK.codes}


@pytest.fixture(scope="module")
def tables() -> demo.DemoTables:
    return demo.generate()


@pytest.fixture(scope="module")
def bigger() -> demo.DemoTables:
    """Enough dyads for stable proportions; still well under a second."""
    return demo.generate(n_dyads=400, seed=11)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    demo.write(out)
    return out


def _wide(t: demo.DemoTables) -> pd.DataFrame:
    """One row per rated coding, one column per rating item."""
    return t.ratings.pivot_table(index=CODING, columns="item", values="rating", aggfunc="first")


def _rupture_counts(t: demo.DemoTables) -> pd.Series:
    """Number of rupture marks per coding (0 for codings without any), indexed like `_wide`."""
    ruptures = t.marks[t.marks["code"].map(FAMILY) != "resolution"]
    counts = ruptures.groupby(CODING).size()
    return counts.reindex(pd.MultiIndex.from_frame(t.sessions[CODING]), fill_value=0)


def test_same_seed_gives_identical_frames_and_files(tables: demo.DemoTables, written: Path,
                                                     tmp_path: Path) -> None:
    again = demo.write(tmp_path)
    for name in ("sessions", "marks", "ratings"):
        pd.testing.assert_frame_equal(getattr(tables, name), getattr(again, name))
        assert (tmp_path / f"{name}.csv").read_bytes() == (written / f"{name}.csv").read_bytes()
    assert again.archetypes == tables.archetypes


def test_other_seed_differs(tables: demo.DemoTables) -> None:
    other = demo.generate(seed=8)
    assert not other.marks.equals(tables.marks)
    assert not other.ratings.equals(tables.ratings)


def test_csv_columns_and_values_as_specified(written: Path) -> None:
    headers = {name: (written / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
               for name in ("sessions", "marks", "ratings")}
    assert headers["sessions"].split(",") == demo.SESSION_COLUMNS == [
        "dyad_id", "therapist_id", "session_number", "coder_id", "n_segments", "session_date",
        "segment_minutes", "supervisor_id", "trainee", "patient_id", "treatment", "consensus"]
    assert headers["marks"] == "dyad_id,session_number,coder_id,segment,code,clarity"
    assert headers["ratings"] == "dyad_id,session_number,coder_id,item,rating"
    sessions = pd.read_csv(written / "sessions.csv", dtype=str, keep_default_na=False)
    assert set(sessions["trainee"]) == {"true", "false"}
    assert set(sessions["consensus"]) == {"false"}
    assert set(sessions["segment_minutes"]) == {"5"}
    assert sessions["session_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert (sessions["supervisor_id"] == "").any() and (sessions["supervisor_id"] != "").any()
    text = (written / "SYNTHETIC.txt").read_text(encoding="utf-8")
    assert "synthetic" in text.lower() and "seed=7" in text and "n_dyads=40" in text


def test_frame_columns_and_integer_types(tables: demo.DemoTables) -> None:
    assert list(tables.sessions.columns) == demo.SESSION_COLUMNS
    assert list(tables.marks.columns) == demo.MARK_COLUMNS
    assert list(tables.ratings.columns) == demo.RATING_COLUMNS
    for frame, cols in ((tables.sessions, ["session_number", "n_segments", "segment_minutes"]),
                        (tables.marks, ["session_number", "segment"]),
                        (tables.ratings, ["session_number", "rating"])):
        for col in cols:
            assert pd.api.types.is_integer_dtype(frame[col]), col


def test_ids_staff_and_schedule(tables: demo.DemoTables) -> None:
    s = tables.sessions
    assert s["dyad_id"].str.fullmatch(r"D\d{4}").all() and s["patient_id"].str.fullmatch(r"P\d{4}").all()
    assert s["therapist_id"].str.fullmatch(r"T\d{2}").all()
    assert set(s["coder_id"]) <= {*(f"C{i}" for i in range(1, 7)), "M1"}  # M1: the calibration master coder
    assert s.duplicated(CODING).sum() == 0
    staff = s.drop_duplicates("therapist_id").set_index("therapist_id")
    supervisors = set(staff["supervisor_id"].dropna())
    assert len(supervisors) >= 2
    assert not staff.loc[sorted(supervisors), "trainee"].any()
    assert staff.loc[sorted(supervisors), "supervisor_id"].isna().all()
    trainees = staff[staff["trainee"]]
    assert len(trainees) >= 2 and trainees["supervisor_id"].notna().all()
    staff_only = staff[~staff["trainee"] & ~staff.index.isin(supervisors)]
    assert len(staff_only) >= 1
    assert (s.groupby("therapist_id")["dyad_id"].nunique() >= 2).all()
    per_session = s.drop_duplicates(SESSION)
    assert set(per_session["n_segments"]) == {9, 10}
    assert set(per_session["treatment"]) <= {"CBT", "Psychodynamic", "AFT", "ISTDP"}
    n_sessions = per_session.groupby("dyad_id").size()
    assert n_sessions.between(8, 30).all()
    dates = pd.to_datetime(per_session["session_date"])
    gaps = dates.groupby(per_session["dyad_id"]).diff().dropna().dt.days
    assert set(gaps) <= {7, 14, 21} and (gaps == 7).mean() > 0.8
    assert (per_session.groupby("dyad_id")["session_number"].agg(list)
            .map(lambda xs: xs == list(range(1, len(xs) + 1))).all())


def test_marks_valid(tables: demo.DemoTables) -> None:
    m = tables.marks.merge(tables.sessions[[*CODING, "n_segments"]], on=CODING, how="left")
    assert m["n_segments"].notna().all(), "every mark belongs to a coding in sessions"
    assert m["code"].isin(BOOK.keys).all()
    assert set(m["clarity"]) == set(cb.CLARITIES)
    assert m["segment"].between(1, m["n_segments"]).all()
    assert not m.duplicated([*CODING, "segment", "code"]).any()
    assert 0.18 <= (m["clarity"] == "check_minus").mean() <= 0.32


def test_ratings_complete_in_range_and_consistent_with_marks(tables: demo.DemoTables) -> None:
    r = tables.ratings
    assert r["rating"].between(1, 5).all()
    per_coding = r.groupby(CODING)["item"].agg(lambda items: tuple(sorted(items)))
    assert (per_coding == tuple(sorted(BOOK.rating_items))).all()
    marked = tables.marks[[*CODING, "code"]].drop_duplicates().assign(marked=True)
    sig = r[r["item"].isin(BOOK.keys)].merge(marked, left_on=[*CODING, "item"], right_on=[*CODING, "code"],
                                             how="left")
    is_marked = sig["marked"].eq(True)
    assert (sig.loc[~is_marked, "rating"] == 1).all(), "a code never marked has significance 1"
    assert (sig.loc[is_marked, "rating"] >= 2).all(), "a marked code has significance 2-5"
    wide = _wide(tables)
    for overall, family in (("overall_withdrawal", "withdrawal"), ("overall_confrontation", "confrontation")):
        family_max = wide[[c.key for c in BOOK.family(family)]].max(axis=1)
        assert (wide[overall] - family_max).between(0, 1).all()


def test_sessions_without_ruptures(tables: demo.DemoTables) -> None:
    ruptures = _rupture_counts(tables)
    quiet = ruptures[ruptures == 0].index
    assert 0.1 < len(quiet) / len(ruptures) < 0.7, "some sessions have no rupture at all"
    resolution = tables.marks[tables.marks["code"].map(FAMILY) == "resolution"]
    assert not resolution.set_index(CODING).index.isin(quiet).any()
    wide = _wide(tables)
    calm = wide[wide.index.isin(quiet)]
    assert (calm["overall_resolution"] == 3).all() and (calm["therapist_contribution"] == 1).all()
    assert (calm[["overall_withdrawal", "overall_confrontation"]] == 1).all().all()


def test_resolution_only_after_a_rupture_in_the_session(bigger: demo.DemoTables) -> None:
    m = bigger.marks.assign(rupture=bigger.marks["code"].map(FAMILY) != "resolution")
    first_rupture = m[m["rupture"]].groupby(CODING)["segment"].min().rename("first_rupture")
    strategies = m[~m["rupture"]].join(first_rupture, on=CODING)
    assert len(strategies) > 100
    assert (strategies["segment"] >= strategies["first_rupture"]).all()  # NaN (no rupture) fails too


def test_withdrawal_frequent_confrontation_significant(bigger: demo.DemoTables) -> None:
    family = bigger.marks["code"].map(FAMILY)
    assert (family == "withdrawal").sum() > 1.5 * (family == "confrontation").sum()
    sig = bigger.ratings[bigger.ratings["item"].isin(BOOK.keys) & (bigger.ratings["rating"] > 1)]
    mean = sig.groupby(sig["item"].map(FAMILY))["rating"].mean()
    assert mean["confrontation"] > mean["withdrawal"] + 0.3


def test_archetypes_tell_the_story(bigger: demo.DemoTables) -> None:
    arch = pd.Series(bigger.archetypes)
    shares = arch.value_counts(normalize=True)
    assert shares.round(2).to_dict() == {"repairing": 0.35, "stable": 0.30, "mixed": 0.20, "escalating": 0.15}
    per_session = bigger.sessions.drop_duplicates(SESSION)
    length = per_session.groupby("dyad_id").size().groupby(arch).mean()
    assert length["escalating"] < length["repairing"] - 5
    assert per_session.groupby("dyad_id").size().mean() == pytest.approx(20, abs=3)
    wide = _wide(bigger).reset_index()
    wide["archetype"] = wide["dyad_id"].map(arch)
    wide["late"] = wide["session_number"] > wide["dyad_id"].map(per_session.groupby("dyad_id").size()) / 2
    ruptured = wide[wide.set_index(CODING).index.map(_rupture_counts(bigger)) > 0]
    res = ruptured.groupby(["archetype", "late"])["overall_resolution"].mean()
    assert res["repairing", True] >= 4.0 > res["repairing", False]
    assert res["escalating", True] < 2.0
    conf = wide.groupby(["archetype", "late"])["overall_confrontation"].mean()
    assert conf["escalating", True] > conf["escalating", False] + 0.5
    high = wide[wide["therapist_contribution"] >= 4]
    assert len(high) >= 10 and (high["archetype"] == "escalating").mean() > 0.5
    assert (wide["therapist_contribution"] <= 2).mean() > 0.85


def test_high_therapist_contribution_present_at_default_size(tables: demo.DemoTables) -> None:
    assert (tables.ratings.query("item == 'therapist_contribution'")["rating"] >= 4).sum() >= 3


def test_second_coder_copies_with_small_disagreements(bigger: demo.DemoTables) -> None:
    s = bigger.sessions
    calibration = s.loc[s.coder_id == "M1", SESSION].drop_duplicates()
    s = s[~s.set_index(SESSION).index.isin(pd.MultiIndex.from_frame(calibration))]
    coders = s.groupby(SESSION)["coder_id"].nunique()
    assert 0.10 <= (coders == 2).mean() <= 0.40 and coders.max() == 2  # the drifting C6 second-codes more
    same = s.drop(columns="coder_id").drop_duplicates()
    assert len(same) == len(coders), "both codings of a session share every session field"
    doubled = coders[coders == 2].index
    m = bigger.marks.set_index(SESSION).loc[lambda d: d.index.isin(doubled)].reset_index()
    agree = m.groupby([*SESSION, "segment", "code"])["coder_id"].nunique()
    assert 0.6 < (agree == 2).mean() < 0.98
    r = bigger.ratings.set_index(SESSION).loc[lambda d: d.index.isin(doubled)].reset_index()
    spread = r.groupby([*SESSION, "item"])["rating"].agg(["min", "max", "count"]).query("count == 2")
    diff = spread["max"] - spread["min"]
    assert (diff == 0).mean() > 0.8 and (diff > 0).any()


def test_some_ratings_pending(tables: demo.DemoTables, bigger: demo.DemoTables) -> None:
    for t in (tables, bigger):
        rated = t.ratings[CODING].drop_duplicates()
        assert len(t.ratings) == len(rated) * len(BOOK.rating_items)
        pending = 1 - len(rated) / len(t.sessions)
        assert 0.005 < pending < 0.05
    last = bigger.sessions.groupby("dyad_id")["session_number"].transform("max") == bigger.sessions[
        "session_number"]
    keys = pd.MultiIndex.from_frame(bigger.sessions[CODING])
    is_rated = keys.isin(pd.MultiIndex.from_frame(bigger.ratings[CODING].drop_duplicates()))
    assert (~is_rated[last.to_numpy()]).mean() > 5 * (~is_rated[~last.to_numpy()]).mean()


def test_small_clinics_and_bad_size() -> None:
    one = demo.generate(n_dyads=1, seed=3)
    assert one.sessions["dyad_id"].nunique() == 1 and list(one.archetypes.values()) == ["repairing"]
    assert set(demo.generate(n_dyads=4, seed=3).archetypes.values()) == {"repairing", "stable", "escalating",
                                                                          "mixed"}
    with pytest.raises(ValueError):
        demo.generate(n_dyads=0)


def test_large_clinic_size_and_speed() -> None:
    start = time.perf_counter()
    big = demo.generate(n_dyads=5000, seed=1)
    elapsed = time.perf_counter() - start
    assert 90_000 <= len(big.sessions.drop_duplicates(SESSION)) <= 110_000
    assert len(big.archetypes) == 5000 and big.sessions["therapist_id"].str.fullmatch(r"T\d{4}").all()
    assert elapsed < 15, f"generate(5000) took {elapsed:.1f}s"


def test_calibration_set_and_drift_are_appended_after_the_simulated_codings() -> None:
    """The calibration set and the drifting coder never change a simulated coding or its place (so every
    session's primary coding, the earliest, is the same as without them)."""
    plain = demo._frame(simulate(40, np.random.default_rng(7)))
    full = demo.generate()
    n = len(plain.sessions)
    pd.testing.assert_frame_equal(full.sessions.iloc[:n], plain.sessions)
    for name in ("marks", "ratings"):
        old = getattr(plain, name)
        new = getattr(full, name).merge(plain.sessions[CODING], on=CODING)
        pd.testing.assert_frame_equal(new.sort_values(list(old.columns)).reset_index(drop=True),
                                      old.sort_values(list(old.columns)).reset_index(drop=True))
    added = full.sessions.iloc[n:]
    calibration = added.loc[added.coder_id == dc.MASTER, SESSION]
    assert len(calibration) == dc.N_CALIBRATION and calibration.dyad_id.is_unique
    coded = full.sessions.merge(calibration, on=SESSION).groupby(SESSION).coder_id.agg(set)
    assert (coded == {*(f"C{i}" for i in range(1, 7)), dc.MASTER}).all(), "every coder and the master"
    assert set(added.coder_id) - {dc.MASTER} >= {"C6"}


def test_the_drifting_coder_misses_more_ruptures_over_time() -> None:
    full = demo.generate(400, seed=11)
    n = len(demo._frame(simulate(400, np.random.default_rng(11))).sessions)
    drift = full.sessions.iloc[n:].query("coder_id == 'C6'")
    first = full.sessions.iloc[:n].drop_duplicates(SESSION)
    rupture = full.marks[(full.marks.code.map(FAMILY) != "resolution") & (full.marks.clarity == "check")]
    per = rupture.groupby(CODING).segment.nunique()

    def count(frame: pd.DataFrame) -> pd.Series:
        return pd.Series(pd.MultiIndex.from_frame(frame[CODING]).map(per).fillna(0).to_numpy(), index=frame.index)

    pairs = drift[SESSION].merge(first[[*SESSION, "coder_id", "session_date"]], on=SESSION)
    pairs["c6"] = count(drift.reset_index(drop=True)).to_numpy()
    pairs["first"] = count(pairs).to_numpy()
    pairs = pairs[pairs["first"] > 0].assign(session_date=lambda d: pd.to_datetime(d.session_date))
    early = pairs[pairs.session_date < pairs.session_date.quantile(0.25)]
    late = pairs[pairs.session_date > pairs.session_date.quantile(0.75)]
    assert (early.c6 / early["first"]).mean() > (late.c6 / late["first"]).mean() + 0.2
