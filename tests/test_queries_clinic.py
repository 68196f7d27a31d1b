"""Clinic QI queries: hand-computed aggregates, small-cell suppression and de-identification."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from rrrs_core import pseudonym as ps
from rrrs_core import store, suppression
from rrrs_core.errors import RrrsError
from rrrs_core.queries import clinic as q
from tests.builders import add_dyad, add_session, add_therapist, globals_, small_clinic

IDENTIFIERS = {"D1", "D2", "D3", "D4", "P-ALPHA", "P-BRAVO", "P-CHARLIE", "P-DELTA", "T1", "T2", "S1", "S2"}
H = q.SUPPRESSED


def pseudonym(therapist_id: str, key: bytes | str) -> str:
    """The expected pseudonym, computed independently: 'Therapist ' + HMAC-SHA256(key, id)[:6]."""
    key = key.encode() if isinstance(key, str) else key
    return "Therapist " + hmac.new(key, therapist_id.encode(), hashlib.sha256).hexdigest()[:6]


def stored_secret(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("SELECT value FROM clinic_secret WHERE name = 'pseudonym_key'").fetchall()[0][0]


def plain_hashes(therapist_id: str) -> set[str]:
    """What an attacker with the staff list would try: unkeyed hashes of the id."""
    raw = therapist_id.encode()
    return {"Therapist " + h(raw).hexdigest()[:6] for h in (hashlib.sha256, hashlib.md5, hashlib.sha1)}


def by_treatment(df: pd.DataFrame) -> dict[str, dict]:
    return {r["treatment"]: r for r in df.to_dict("records")}


def big_clinic(con: duckdb.DuckDBPyConnection) -> None:
    """30 sessions in March 2026: therapist A (CBT) and B (Psychodynamic), 3 dyads x 5 sessions each.

    Odd-numbered sessions have a rupture (3 of 5), so each treatment's share is 9/15 = 0.6.
    CBT: resolution 3, contribution 1; Psychodynamic: resolution 4, contribution 2.
    """
    for therapist, treatment, r, tc in (("A", "CBT", 3, 1), ("B", "Psychodynamic", 4, 2)):
        add_therapist(con, therapist)
        for k in range(3):
            dyad = f"{therapist}{k}"
            add_dyad(con, dyad, therapist, f"PAT-{dyad}", treatment)
            for n in range(1, 6):
                marks = [(1, "denial", "check")] if n % 2 else []
                add_session(con, dyad, n, marks, globals_(r=r, tc=tc),
                            session_date=dt.date(2026, 3, 2) + dt.timedelta(days=4 * n + k))


@pytest.fixture
def big_con(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    big_clinic(con)
    return con


def test_small_clinic_trends_suppress_small_cells(clinic_con: duckdb.DuckDBPyConnection) -> None:
    rows = by_treatment(q.trends(clinic_con, period="month"))
    assert list(rows) == [q.ALL_TREATMENTS, "CBT", "Psychodynamic"]  # the whole clinic first (issue 15)
    pd_ = rows["Psychodynamic"]  # D2 + D4: 4 sessions (primary suppression)
    assert (pd_["sessions"], pd_["rated_sessions"]) == (H, H) and pd_["suppressed"]
    assert pd.isna(pd_["rupture_share"]) and pd.isna(pd_["mean_resolution"])
    # CBT has 6 sessions, but 10 (total) - 6 would give Psychodynamic's 4: it is hidden too, whole row.
    cbt = rows["CBT"]
    assert (cbt["sessions"], cbt["rated_sessions"]) == (H, H) and cbt["suppressed"]
    assert pd.isna(cbt["rupture_share"]) and pd.isna(cbt["mean_resolution"])
    total = rows[q.ALL_TREATMENTS]
    assert total["sessions"] == "10" and total["is_total"] and not total["suppressed"]
    assert total["rupture_share"] == pytest.approx(0.8) and total["mean_resolution"] == pytest.approx(25 / 9)


def test_small_clinic_contribution_counts_are_suppressed(clinic_con: duckdb.DuckDBPyConnection) -> None:
    table = q.contribution_table(clinic_con, period="quarter")
    assert list(table.columns) == ["period_start", "treatment", "is_total", "rated_sessions", "high_share",
                                   "mean_contribution"]  # issue 15: no per-rating counts
    rows = by_treatment(table)
    for name in ("CBT", "Psychodynamic"):  # Psychodynamic: 4 rated; CBT: its complement (as in the trends)
        row = rows[name]
        assert row["rated_sessions"] == H, name
        assert pd.isna(row["mean_contribution"]) and pd.isna(row["high_share"])
    total = rows[q.ALL_TREATMENTS]  # ratings 5 x 1, 2 x 2, 1 x 3, 0 x 4, 1 x 5
    # The whole clinic's 9 rated sessions: one rated 4-5 (a share of 9, as a rupture share is of the
    # sessions), mean 17 / 9. Hidden, CBT and Psychodynamic share the one 4-5 session between them, so
    # neither's 4-5 count can be proved 1-4.
    assert total["rated_sessions"] == "9"
    assert total["high_share"] == pytest.approx(1 / 9) and total["mean_contribution"] == pytest.approx(17 / 9)


def test_small_clinic_therapists_are_pseudonymous_and_suppressed(clinic_con: duckdb.DuckDBPyConnection) -> None:
    df = q.therapist_table(clinic_con)
    key = stored_secret(clinic_con)
    assert sorted(df.therapist) == sorted(pseudonym(t, key) for t in ("T1", "T2", "S1"))
    assert set(df.sessions) == {H} and df.rupture_share.isna().all()


def test_big_clinic_unsuppressed(big_con: duckdb.DuckDBPyConnection) -> None:
    rows = by_treatment(q.trends(big_con, period="quarter"))
    assert rows["CBT"]["period_start"].date() == dt.date(2026, 1, 1)
    for name, mean_r in (("CBT", 3.0), ("Psychodynamic", 4.0)):
        assert rows[name]["sessions"] == "15" and not rows[name]["suppressed"]
        assert rows[name]["rupture_share"] == pytest.approx(0.6)
        assert rows[name]["mean_resolution"] == pytest.approx(mean_r)
    assert rows[q.ALL_TREATMENTS]["sessions"] == "30"
    assert rows[q.ALL_TREATMENTS]["mean_resolution"] == pytest.approx(3.5)

    tc = by_treatment(q.contribution_table(big_con, period="quarter"))
    assert (tc["CBT"]["rated_sessions"], tc["CBT"]["high_share"], tc["CBT"]["mean_contribution"]) == ("15", 0, 1)
    assert tc["Psychodynamic"]["mean_contribution"] == pytest.approx(2.0)
    assert tc[q.ALL_TREATMENTS]["rated_sessions"] == "30" and tc[q.ALL_TREATMENTS]["high_share"] == 0
    assert tc[q.ALL_TREATMENTS]["mean_contribution"] == pytest.approx(1.5)

    ther = q.therapist_table(big_con).set_index("therapist")
    key = stored_secret(big_con)
    assert ther.loc[pseudonym("A", key), "sessions"] == "15"
    assert ther.loc[pseudonym("B", key), "mean_contribution"] == pytest.approx(2.0)
    assert ther.loc[pseudonym("B", key), "rupture_share"] == pytest.approx(0.6)


def test_month_periods_split_the_big_clinic(big_con: duckdb.DuckDBPyConnection) -> None:
    # Session dates run 2026-03-06 .. 2026-03-24: one month.
    months = q.trends(big_con, period="month")
    assert months.period_start.dt.date.unique().tolist() == [dt.date(2026, 3, 1)]
    # Move one CBT dyad's sessions into April: March CBT keeps 10, April CBT has 5 (not suppressed at 5).
    big_con.execute("UPDATE session SET session_date = session_date + INTERVAL 31 DAY WHERE dyad_id = 'A0'")
    rows = q.trends(big_con, period="month")
    cbt = rows[rows.treatment == "CBT"].set_index(rows[rows.treatment == "CBT"].period_start.dt.month)
    assert cbt.loc[3, "sessions"] == "10" and cbt.loc[4, "sessions"] == "5"
    assert cbt.loc[4, "rupture_share"] == pytest.approx(0.6)


def test_no_identifiers_in_any_clinic_output(clinic_con: duckdb.DuckDBPyConnection) -> None:
    frames = [q.trends(clinic_con), q.trends(clinic_con, period="quarter"), q.contribution_table(clinic_con),
              q.therapist_table(clinic_con)]
    for df in frames:
        assert not {c for c in df.columns if "dyad" in c or "patient" in c or c == "therapist_id"}
        values = {str(v) for v in df.to_numpy().ravel()}
        assert not values & IDENTIFIERS, values & IDENTIFIERS
        assert not any("P-" in v for v in values)


def test_overview_and_undated_sessions(clinic_con: duckdb.DuckDBPyConnection) -> None:
    assert q.overview(clinic_con) == {"n_sessions": 10, "n_therapists": 3, "n_treatments": 2, "n_undated": 0}
    clinic_con.execute("UPDATE session SET session_date = NULL WHERE dyad_id = 'D4'")
    assert q.overview(clinic_con)["n_undated"] == 1
    total = q.trends(clinic_con).query("is_total")
    assert total.sessions.tolist() == ["9"]  # the undated session is left out of the trends


def test_unknown_treatment_and_bad_period(con: duckdb.DuckDBPyConnection) -> None:
    add_therapist(con, "Z")
    add_dyad(con, "DZ", "Z", treatment=None)
    add_session(con, "DZ", 1, [], globals_())
    assert q.UNSPECIFIED in q.trends(con).treatment.tolist()
    with pytest.raises(ValueError, match="period"):
        q.trends(con, period="week'; DROP TABLE session; --")


def test_pseudonym_sql_is_hmac_sha256(con: duckdb.DuckDBPyConnection) -> None:
    sql = f"WITH {ps.KEY_CTE} SELECT {ps.sql('x')} FROM (VALUES ('T1'), ('S1')) t(x), pseudonym_key"
    for key in (b"k", b"x" * 100):  # short and longer-than-a-block keys (RFC 2104 hashes the latter)
        got = [r[0] for r in con.execute(sql, list(ps._padded(key))).fetchall()]
        assert got == [pseudonym("T1", key), pseudonym("S1", key)] == [ps.pseudonym(t, key) for t in ("T1", "S1")]


def test_empty_database(con: duckdb.DuckDBPyConnection) -> None:
    assert q.trends(con).empty and q.contribution_table(con).empty and q.therapist_table(con).empty
    assert q.overview(con)["n_sessions"] == 0


@pytest.mark.parametrize("period", q.PERIODS)
def test_trend_charts_render_png(big_con: duckdb.DuckDBPyConnection, period: str) -> None:
    from rrrs_core import palette
    from rrrs_core.charts import clinic as charts
    from rrrs_core.charts import render

    trends = q.trends(big_con, period=period)
    for chart in (charts.rupture_share_chart(trends, period), charts.resolution_chart(trends, period)):
        png = render.to_png(chart)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
        colours = chart.to_dict()["vconcat"][0]["layer"][0]["encoding"]["color"]["scale"]["range"]
        # Treatment lines never borrow a 3RS family colour.
        assert not set(colours) & set(palette.FAMILY_COLOURS.values())


def test_trend_chart_renders_with_suppressed_cells(clinic_con: duckdb.DuckDBPyConnection) -> None:
    from rrrs_core.charts import clinic as charts
    from rrrs_core.charts import render

    trends = q.trends(clinic_con)
    assert trends.rupture_share.isna().any()
    assert render.to_png(charts.rupture_share_chart(trends))[:4] == b"\x89PNG"


# --- keyed pseudonyms ------------------------------------------------------------------------------------


def big_db(path: Path) -> Path:
    con = store.connect(path)
    big_clinic(con)
    con.close()
    return path


def therapist_names(path: Path, read_only: bool = False) -> list[str]:
    con = store.connect(path, read_only=read_only)
    try:
        return sorted(q.therapist_table(con).therapist)
    finally:
        con.close()


@pytest.fixture
def no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ps.KEY_ENV, raising=False)


def test_pseudonyms_are_keyed_not_plain_hashes(no_env_key: None, big_con: duckdb.DuckDBPyConnection) -> None:
    names = set(q.therapist_table(big_con).therapist)
    secret = stored_secret(big_con)
    assert len(secret) == 64 and int(secret, 16)  # 256 random bits, generated on first use
    assert names == {pseudonym("A", secret), pseudonym("B", secret)}
    for tid in ("A", "B"):
        assert not names & plain_hashes(tid), tid  # hashing the staff list does not find them
    assert all(len(n) == len("Therapist ") + 6 for n in names)


def test_pseudonyms_are_stable_across_connections(no_env_key: None, tmp_path: Path) -> None:
    db = big_db(tmp_path / "a.duckdb")
    first = therapist_names(db)
    assert therapist_names(db) == first
    assert therapist_names(db, read_only=True) == first  # the PDF workers' connections


def test_pseudonyms_differ_between_databases(no_env_key: None, tmp_path: Path) -> None:
    a, b = therapist_names(big_db(tmp_path / "a.duckdb")), therapist_names(big_db(tmp_path / "b.duckdb"))
    assert not set(a) & set(b)  # same ids, different secrets


def test_env_key_determines_pseudonyms(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ps.KEY_ENV, raising=False)
    stored = therapist_names(big_db(tmp_path / "a.duckdb"))
    monkeypatch.setenv(ps.KEY_ENV, "clinic key")
    expected = sorted(pseudonym(t, "clinic key") for t in ("A", "B"))
    assert therapist_names(tmp_path / "a.duckdb") == expected != stored
    assert therapist_names(big_db(tmp_path / "b.duckdb")) == expected  # the key, not the database, decides
    monkeypatch.setenv(ps.KEY_ENV, "another key")
    assert therapist_names(tmp_path / "a.duckdb") != expected


def test_read_only_connection_needs_the_secret_or_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ps.KEY_ENV, raising=False)
    db = big_db(tmp_path / "a.duckdb")
    assert therapist_names(db, read_only=True), "every writable open creates the secret (store.migrate)"
    raw = duckdb.connect(str(db))  # a database from before the secret existed
    raw.execute("DROP TABLE clinic_secret")
    raw.close()
    with pytest.raises(RrrsError, match="Clinic page"):
        therapist_names(db, read_only=True)
    monkeypatch.setenv(ps.KEY_ENV, "clinic key")
    assert therapist_names(db, read_only=True) == sorted(pseudonym(t, "clinic key") for t in ("A", "B"))
    monkeypatch.delenv(ps.KEY_ENV)
    writable = therapist_names(db)  # creates the secret
    assert therapist_names(db, read_only=True) == writable


def test_key_travels_only_as_parameters(no_env_key: None, big_con: duckdb.DuckDBPyConnection) -> None:
    class Recorder:
        def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
            self.con, self.sql = con, []

        def execute(self, sql: str, params: object = None) -> duckdb.DuckDBPyConnection:
            self.sql.append(sql)
            return self.con.execute(sql, params or [])

        def __getattr__(self, name: str) -> object:
            return getattr(self.con, name)

    rec = Recorder(big_con)
    q.therapist_table(rec)  # type: ignore[arg-type]
    secret = stored_secret(big_con)
    text = "\n".join(rec.sql)
    assert "clinic_secret" in text  # it was created and read during the call ...
    assert secret not in text and secret.encode().hex() not in text  # ... but never written into SQL
    assert not any(pad.hex() in text for pad in ps._padded(secret.encode()))


# --- complementary suppression ---------------------------------------------------------------------------


def derivable(con: duckdb.DuckDBPyConnection) -> set[tuple]:
    """What a reader can compute exactly from everything the clinic page and PDF publish (both period
    views, both tables, the therapist table and the header), by linear arithmetic: sums, differences and
    counts times the shown shares and means. Independent of the query module's own check.

    Unknowns are the hidden counts, plus the ruptured sessions, sessions rated 4-5 and resolution /
    contribution rating sums behind hidden shares and means. Returns the unknowns every solution agrees on.
    """
    head = q.overview(con)
    known: dict[tuple, float] = {}
    unknown: set[tuple] = set()
    relations: list[dict[tuple, float]] = []

    def cell(name: tuple, shown: object) -> tuple:
        if isinstance(shown, str) and shown == H or shown is None or pd.isna(shown):
            unknown.add(name)
        else:
            known[name] = float(shown)
        return name

    def product(name: tuple, rate: object, count: tuple) -> None:
        """name = rate x count: known when both are shown, a relation when only the rate is."""
        if pd.isna(rate):
            unknown.add(name)
        elif count in known:
            known[name] = float(rate) * known[count]
        else:
            unknown.add(name)
            relations.append({name: 1.0, count: -float(rate)})

    period_keys: dict[str, list] = {}
    for kind in q.PERIODS:
        tr = q.trends(con, period=kind)
        ct = q.contribution_table(con, period=kind)
        period_keys[kind] = sorted(tr.period_start.unique())
        for r in tr.itertuples():
            k = (kind, r.period_start, r.treatment)
            cell(("n", *k), r.sessions)
            cell(("rated", *k), r.rated_sessions)
            product(("ruptured", *k), r.rupture_share, ("n", *k))
            product(("res_sum", *k), r.mean_resolution, ("rated", *k))
        for r in ct.itertuples():
            k = (kind, r.period_start, r.treatment)
            cell(("tc", *k), r.rated_sessions)
            product(("tc_sum", *k), r.mean_contribution, ("tc", *k))
            product(("tc_high", *k), r.high_share, ("tc", *k))
    measures = ["n", "rated", "ruptured", "res_sum", "tc", "tc_sum", "tc_high"]

    def name(m: str, kind: str, p: object, t: str) -> tuple:
        return (m, kind, p, t)

    present = known.keys() | unknown
    for m in measures:
        for kind in q.PERIODS:
            for p in period_keys[kind]:  # components sum to the period's total
                treatments = {x[-1] for x in present if x[:1] == ("n",) and x[1:3] == (kind, p)}
                total = name(m, kind, p, q.ALL_TREATMENTS)
                if total in present:
                    relations.append({total: -1.0, **{name(m, kind, p, t): 1.0 for t in treatments
                                                      if t != q.ALL_TREATMENTS and name(m, kind, p, t) in present}})
        for qp in period_keys["quarter"]:  # a quarter is the sum of its months
            months = [p for p in period_keys["month"] if pd.Timestamp(p).to_period("Q").start_time == qp]
            for t in {x[-1] for x in present if x[:2] == ("n", "quarter") and x[2] == qp}:
                quarter = name(m, "quarter", qp, t)
                if quarter in present:
                    relations.append({quarter: -1.0, **{name(m, "month", p, t): 1.0 for p in months
                                                        if name(m, "month", p, t) in present}})
    for kind in q.PERIODS:  # the header: dated sessions
        relations.append({("dated",): -1.0, **{name("n", kind, p, q.ALL_TREATMENTS): 1.0
                                               for p in period_keys[kind]}})
    known[("dated",)] = head["n_sessions"] - head["n_undated"]
    ther = q.therapist_table(con)
    for r in ther.itertuples():
        cell(("therapist n", r.therapist), r.sessions)
        product(("therapist ruptured", r.therapist), r.rupture_share, ("therapist n", r.therapist))
    relations.append({("all",): -1.0, **{("therapist n", t): 1.0 for t in ther.therapist}})
    known[("all",)] = head["n_sessions"]
    if head["n_undated"] == 0:  # then the therapists' ruptured sessions add up to the months' totals
        relations.append({**{("therapist ruptured", t): 1.0 for t in ther.therapist},
                          **{name("ruptured", "month", p, q.ALL_TREATMENTS): -1.0 for p in period_keys["month"]}})

    cols = sorted(unknown, key=repr)
    if not cols:
        return set()
    index = {c: i for i, c in enumerate(cols)}
    rows = [[0.0] * len(cols) for _ in relations]
    for row, rel in zip(rows, relations, strict=True):
        for c, coef in rel.items():
            if c in index:
                row[index[c]] += coef
    a = np.array([r for r in rows if any(r)]) if any(any(r) for r in rows) else np.zeros((1, len(cols)))
    _, s, vt = np.linalg.svd(a)
    null = vt[int((s > 1e-9).sum()):]
    return {cols[i] for i in np.flatnonzero(np.all(np.abs(null) < 1e-9, axis=0))}


def month_clinic(con: duckdb.DuckDBPyConnection) -> None:
    """Q1 2026: CBT and Psychodynamic with 6 sessions a month each; ISTDP with 2 sessions in February only,
    and an Unspecified dyad with 7 sessions in March. Ratings vary so the rating tables have small cells."""
    add_therapist(con, "A")
    add_therapist(con, "B")
    add_therapist(con, "C")
    specs = [("CBT", "A", [1, 2, 3], 6), ("Psychodynamic", "B", [1, 2, 3], 6), ("ISTDP", "C", [2], 2),
             (None, "A", [3], 7)]
    for i, (treatment, therapist, months, per_month) in enumerate(specs):
        dyad = f"M{i}"
        add_dyad(con, dyad, therapist, f"PAT-{dyad}", treatment)
        n = 0
        for month in months:
            for day in range(per_month):
                n += 1
                marks = [(1, "denial", "check")] if n % 3 == 0 else []
                add_session(con, dyad, n, marks, globals_(r=1 + n % 5, tc=1 + (n * (i + 1)) % 4),
                            session_date=dt.date(2026, month, 2 + day))


def test_one_small_treatment_gets_a_complement(con: duckdb.DuckDBPyConnection) -> None:
    """February: ISTDP has 2 sessions, so a second cell of February is hidden too, and no hidden value is
    total - visible components."""
    month_clinic(con)
    months = q.trends(con, period="month")
    feb = months[months.period_start == pd.Timestamp("2026-02-01")].set_index("treatment")
    assert feb.loc["ISTDP", "sessions"] == H
    components = feb.drop(q.ALL_TREATMENTS)
    hidden = components[components.sessions == H]
    assert len(hidden) >= 2, "a single hidden component is the total minus the visible ones"
    assert feb.loc[q.ALL_TREATMENTS, "sessions"] == "14"  # the total stays
    visible = components[components.sessions != H].sessions.astype(int).sum()
    assert 14 - visible > 2  # total - visible components is a sum of hidden cells, not ISTDP's 2
    assert hidden.rupture_share.isna().all() and hidden.mean_resolution.isna().all()
    assert derivable(con) == set()


def test_every_total_has_zero_or_several_hidden_parts(con: duckdb.DuckDBPyConnection) -> None:
    """The rule as the brief states it, on every period of both views and every rating column."""
    month_clinic(con)
    for kind in q.PERIODS:
        for table, cols in ((q.trends(con, period=kind), ["sessions", "rated_sessions"]),
                            (q.contribution_table(con, period=kind), ["rated_sessions"])):
            for _, group in table.groupby("period_start"):
                total = group[group.is_total].iloc[0]
                for col in cols:
                    parts = group[~group.is_total][col]
                    if total[col] != H:
                        assert (parts == H).sum() != 1, (kind, total.period_start, col)


def test_months_and_quarters_are_protected_together(con: duckdb.DuckDBPyConnection) -> None:
    """A quarter is the sum of its months: a hidden month cell must not be the quarter minus the others."""
    month_clinic(con)
    months = q.trends(con, period="month")
    quarter = q.trends(con, period="quarter").set_index("treatment")
    for treatment, cells in months.groupby("treatment"):
        if quarter.loc[treatment, "sessions"] != H:
            assert (cells.sessions == H).sum() != 1, treatment


def test_therapist_table_complement(con: duckdb.DuckDBPyConnection) -> None:
    big_clinic(con)
    add_therapist(con, "C")
    add_dyad(con, "C0", "C", "PAT-C0", "CBT")
    for n in (1, 2):
        add_session(con, "C0", n, [], globals_(), session_date=dt.date(2026, 3, 10 + n))
    df = q.therapist_table(con)
    hidden = df[df.sessions == H]
    assert len(hidden) == 2  # C (2 sessions) and the next smallest, since the header shows 32 sessions
    assert q.overview(con)["n_sessions"] - df[df.sessions != H].sessions.astype(int).sum() == 17  # not 2
    assert hidden[["rupture_share", "mean_resolution", "mean_contribution"]].isna().all().all()
    assert derivable(con) == set()


@pytest.mark.parametrize("builder", [small_clinic, big_clinic, month_clinic])
def test_no_hidden_value_is_derivable(con: duckdb.DuckDBPyConnection, builder) -> None:
    builder(con)
    assert derivable(con) == set()


def test_no_hidden_value_is_derivable_in_the_demo_clinic(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    from rrrs_core import demo
    from rrrs_core.importing import import_path

    demo.write(tmp_path / "demo", n_dyads=12, seed=3)
    import_path(con, tmp_path / "demo")
    trends = q.trends(con, period="month")
    assert (trends.sessions == H).any() and (trends.sessions != H).any()
    # Since issue 14 the rule protects small groups against bounds as well (tests/security); a complement
    # of 5 or more sessions may be derivable, a small group's count or measure may not.
    from tests.security.test_qi_suppression import PER, true_values

    truth = true_values(con)
    for name in derivable(con):
        count = truth.get((PER.get(name[0], name[0]), *name[1:]))
        assert count is None or not 1 <= count < q.MIN_CELL, name


def test_the_derivability_check_can_fail(con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without complementary suppression (primary cells only), the check above finds the leaks."""
    month_clinic(con)
    monkeypatch.setattr(suppression, "protect", lambda cells: suppression.close(cells, cells.primary))
    q._MEMO.clear()
    leaks = derivable(con)
    q._MEMO.clear()
    assert ("n", "month", pd.Timestamp("2026-02-01"), "ISTDP") in leaks


# --- issue 15: quarter by default, newest first, whole-clinic rows kept, period comparison ----------------


def test_quarter_is_the_default_period(big_con: duckdb.DuckDBPyConnection) -> None:
    assert q.DEFAULT_PERIOD == "quarter"
    assert q.trends(big_con).period_start.dt.month.tolist() == [1, 1, 1]  # Q1 2026, not March
    assert q.contribution_table(big_con).period_start.dt.month.tolist() == [1, 1, 1]


def test_tables_run_newest_first_with_the_whole_clinic_on_top(con: duckdb.DuckDBPyConnection) -> None:
    month_clinic(con)
    for table in (q.trends(con, period="month"), q.contribution_table(con, period="month")):
        starts = table.period_start.tolist()
        assert starts == sorted(starts, reverse=True) and starts[0] == pd.Timestamp("2026-03-01")
        firsts = table.groupby("period_start", sort=False).head(1)
        assert firsts.is_total.all() and (firsts.treatment == q.ALL_TREATMENTS).all()


def test_secondary_suppression_spares_a_reluctant_unit() -> None:
    """A (2 sessions) is hidden; B (30) or the total (32) must be too. The total is reluctant (the whole
    clinic's row), so B is hidden, even though the total is the nearer, larger cell."""
    from rrrs_core import suppression as s

    cells = s.Cells(min_cell=q.MIN_CELL)
    everyone = cells.var(("all",), 32)
    cells.unit(("header",), [everyone], 9, False)
    cells.fixed.add(("header",))
    for name, n in (("A", 2), ("B", 30)):
        cells.unit((name,), [cells.var(("n", name), n, lo=1, count=True)], 2, n < q.MIN_CELL, size=n)
    cells.unit(("total",), [cells.var(("n", "total"), 32, lo=1, count=True)], 1, False, size=32)
    cells.reluctant.add(("total",))
    cells.relate({("n", "A"): 1.0, ("n", "B"): 1.0, ("n", "total"): -1.0})
    cells.relate({("n", "total"): 1.0, everyone: -1.0})
    assert s.protect(cells) == {("A",), ("B",)}


def test_period_comparison(big_con: duckdb.DuckDBPyConnection) -> None:
    """Q2 2026 (dyad A0 moved to April: 5 CBT sessions) against Q1 2026 (25 sessions)."""
    from rrrs_core.queries import clinic_compare

    big_con.execute("UPDATE session SET session_date = session_date + INTERVAL 31 DAY WHERE dyad_id = 'A0'")
    summary = clinic_compare.comparison(big_con, period="quarter")
    assert (summary.now, summary.before) == ("Q2 2026", "Q1 2026")
    rows = summary.rows.set_index("measure")
    assert rows.loc["Sessions"].tolist() == ["5", "25", "-20"]
    assert rows.loc["With ruptures"].tolist() == ["60%", "60%", "+0 pts"]
    assert rows.loc["Mean resolution"].tolist() == ["3.00", "3.60", "-0.60"]  # 5 x 3 vs (5 x 3 + 15 x 4) / 25
    assert rows.loc["Mean contribution"].tolist() == ["1.00", "1.60", "-0.60"]
    assert rows.loc["Contribution rated 4-5"].tolist() == ["0%", "0%", "+0 pts"]


def test_period_comparison_keeps_hidden_cells_hidden(big_con: duckdb.DuckDBPyConnection) -> None:
    """April has 2 sessions: its whole-clinic row is suppressed, so the summary shows '*' and no change."""
    from rrrs_core.queries import clinic_compare

    big_con.execute("UPDATE session SET session_date = session_date + INTERVAL 31 DAY "
                    "WHERE dyad_id = 'A0' AND session_number <= 2")
    month = q.trends(big_con, period="month").query("is_total").set_index("period_start")
    assert month.loc[pd.Timestamp("2026-04-01"), "sessions"] == H
    summary = clinic_compare.comparison(big_con, period="month")
    rows = summary.rows.set_index("measure")
    assert summary.now == "Apr 2026" and rows.loc["Sessions", "now"] == H
    assert rows.loc["With ruptures", "now"] == H and (rows.change == "").all()
    shown = "\n".join(summary.rows.to_numpy().ravel())
    assert "2" not in shown.replace("2026", "")  # April's 2 sessions appear nowhere
