"""The demo clinic's self-reports: plausible, following the latent rupture process, deterministic, synthetic,
and leaving every coding exactly as it was."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rrrs_core import codebook as cb
from rrrs_core import demo, demo_calibration, store
from rrrs_core.demo_model import simulate
from rrrs_core.importing import import_path

SESSION = ["dyad_id", "session_number"]
FORM = [*SESSION, "respondent", "instrument"]


@pytest.fixture(scope="module")
def tables() -> demo.DemoTables:
    return demo.generate(400, 11)


@pytest.fixture(scope="module")
def default() -> demo.DemoTables:
    return demo.generate(40, 7)


def _coded(t: demo.DemoTables) -> pd.DataFrame:
    return t.sessions.drop_duplicates(SESSION)[[*SESSION, "session_date"]]


def _first_coding_segments(t: demo.DemoTables) -> pd.DataFrame:
    """Per coded session: segments with a confrontation / withdrawal check in its first coding."""
    family = {c.key: c.family for c in cb.DEFAULT.codes}
    first = t.sessions.drop_duplicates(SESSION)[[*SESSION, "coder_id"]]
    marks = t.marks.merge(first, on=[*SESSION, "coder_id"])
    marks = marks[marks.clarity == "check"].assign(family=lambda m: m.code.map(family))
    counts = (marks.drop_duplicates([*SESSION, "segment", "family"]).groupby([*SESSION, "family"]).size()
              .unstack(fill_value=0))
    return _coded(t).set_index(SESSION).join(counts).fillna(0)[["confrontation", "withdrawal"]]


def _srs_totals(t: demo.DemoTables) -> pd.Series:
    s = t.selfreports.query("instrument == 'srs'")
    return s.assign(v=s.value.astype(float)).groupby(SESSION).v.sum()


def test_codings_are_the_same_with_or_without_self_reports(tables: demo.DemoTables) -> None:
    plain = demo._frame(demo_calibration.extend(simulate(400, np.random.default_rng(11)), 11))
    for name in ("sessions", "marks", "ratings"):
        pd.testing.assert_frame_equal(getattr(tables, name), getattr(plain, name))


def test_srs_after_most_sessions_coded_or_not(tables: demo.DemoTables) -> None:
    coded = _coded(tables)
    reported = tables.selfreports[SESSION].drop_duplicates()
    every = pd.concat([coded[SESSION], reported]).drop_duplicates()
    uncoded = every.merge(coded, on=SESSION, how="left", indicator=True).query("_merge == 'left_only'")
    srs = tables.selfreports.query("instrument == 'srs'")[SESSION].drop_duplicates()
    assert 0.8 < len(srs) / len(every) < 0.95
    assert 0.05 < len(uncoded) / len(every) < 0.2, "self-reported sessions that were never coded"
    assert len(srs.merge(uncoded[SESSION])) > 0.7 * len(uncoded)
    # uncoded sessions come after the coded ones, in dyads that did not drop out, never after the data's today
    last = coded.groupby("dyad_id").session_number.max()
    assert (uncoded.session_number.to_numpy() > last.loc[uncoded.dyad_id].to_numpy()).all()
    escalating = {d for d, a in tables.archetypes.items() if a == "escalating"}
    assert not set(uncoded.dyad_id) & escalating
    assert tables.selfreports.completed_on.max() <= coded.session_date.max()
    # one respondent per form kind as the instruments allow; WAI-SR and rupture items only in some dyads
    per_dyad = tables.selfreports.groupby("dyad_id").instrument.agg(set)
    assert 0.15 < per_dyad.map(lambda s: "wai_sr" in s).mean() < 0.35
    assert 0.3 < per_dyad.map(lambda s: "rupture_items" in s).mean() < 0.5
    assert set(tables.selfreports.query("respondent == 'therapist'").instrument) == {"rupture_items"}


def test_values_are_valid_answers(tables: demo.DemoTables) -> None:
    sr = tables.selfreports
    srs = sr.query("instrument == 'srs'").value.astype(float)
    assert srs.between(0, 10).all() and (srs * 10 == (srs * 10).round()).all()
    assert set(sr.query("item == 'rupture'").value) == {"yes", "no"}
    others = sr.query("instrument != 'srs' and item != 'rupture'").value.astype(int)
    assert others.between(1, 5).all()
    assert not sr.duplicated([*FORM, "item"]).any()
    # tension and resolution only when a rupture was reported
    said = sr.query("item == 'rupture'").set_index(FORM).value.eq("yes")
    followed = sr.query("item in ('tension', 'resolution')").set_index(FORM).index.unique()
    assert said.loc[followed].all()


def test_srs_is_lower_around_confrontation_and_barely_moved_by_withdrawal(tables: demo.DemoTables) -> None:
    j = _first_coding_segments(tables).join(_srs_totals(tables).rename("srs"), how="inner")
    none = j.query("confrontation == 0 and withdrawal == 0").srs
    confront = j.query("confrontation >= 1").srs
    withdraw = j.query("confrontation == 0 and withdrawal >= 1").srs
    assert confront.mean() < withdraw.mean() - 1 < none.mean()
    assert (confront < 36).mean() > 2 * (none < 36).mean()
    assert 0.1 < (_srs_totals(tables) < 36).mean() < 0.4, "the cutoff catches a minority of sessions"
    assert j.srs.corr(j.confrontation) < -0.3
    # the session after a confrontation is lower too ("around" the episode)
    nxt = j.reset_index().assign(session_number=lambda d: d.session_number - 1).set_index(SESSION)
    after = nxt.join(j[["confrontation"]].rename(columns={"confrontation": "before"}), how="inner")
    calm = after.query("confrontation == 0 and withdrawal == 0")
    assert calm.query("before >= 2").srs.mean() < calm.query("before == 0").srs.mean()


def test_patients_report_confrontation_more_than_withdrawal_and_discord_both_ways(tables: demo.DemoTables) -> None:
    said = (tables.selfreports.query("instrument == 'rupture_items' and item == 'rupture' and respondent == 'patient'")
            .set_index(SESSION).value.eq("yes").rename("said"))
    j = _first_coding_segments(tables).join(said, how="inner")
    confront = j.query("confrontation >= 1").said.mean()
    withdrawal_only = j.query("confrontation == 0 and withdrawal >= 1").said.mean()
    none = j.query("confrontation == 0 and withdrawal == 0").said.mean()
    assert confront > 0.35 and confront > 2.5 * withdrawal_only
    assert withdrawal_only - none < 0.1, "a coded withdrawal is barely more often reported than no rupture"
    # discordance both ways: ruptures reported the coders did not see, and coded ruptures not reported
    assert 0.02 < none < 0.15
    assert (~j.query("confrontation >= 1").said).sum() > 0
    assert (~j.query("confrontation == 0 and withdrawal >= 1").said).mean() > 0.75  # mostly unreported


def test_deterministic_for_a_seed_and_different_for_another() -> None:
    a, b, c = demo.generate(30, 5).selfreports, demo.generate(30, 5).selfreports, demo.generate(30, 6).selfreports
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_written_labelled_synthetic_and_imported_clean(tmp_path: Path, default: demo.DemoTables) -> None:
    demo.write(tmp_path / "demo", n_dyads=40)
    marker = (tmp_path / "demo" / "SYNTHETIC.txt").read_text()
    assert "sha256.selfreports=" in marker and "version=3" in marker
    con = store.connect(tmp_path / "demo.duckdb")
    report = import_path(con, tmp_path / "demo", synthetic_only=True)  # demo mode takes it: it is the generator's
    assert report.synthetic and report.selfreports.new == len(default.selfreports)
    assert not [w for w in report.warnings if w.file == "selfreports.csv"]
    # the README's figures for the default demo
    sessions = store.scalar(con, "SELECT count(*) FROM (SELECT dyad_id, session_number FROM session UNION "
                                 "SELECT dyad_id, session_number FROM selfreport)")
    with_srs = store.scalar(con, "SELECT count(*) FROM v_selfreport_scale WHERE instrument = 'srs'")
    assert (sessions, sessions - 835, with_srs) == (925, 90, 817)
    edited = tmp_path / "demo" / "selfreports.csv"
    edited.write_text(edited.read_text().replace("9.0", "9.1", 1))
    con2 = store.connect(":memory:")
    assert not import_path(con2, tmp_path / "demo").synthetic  # one changed byte: not the generator's output
