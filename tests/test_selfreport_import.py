"""Importing the optional `selfreports` table: with the 3RS tables or on its own, every problem in one pass
with file, row, column and value, nothing written on any error, re-imports and --replace, and who may."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from rrrs_core import store
from rrrs_core.access import Principal
from rrrs_core.errors import Problem, ValidationError
from rrrs_core.importing import import_path
from rrrs_core.importing.uploads import import_uploads
from tests.tables import read_ok, write_folder, write_xlsx

COLUMNS = ["dyad_id", "session_number", "respondent", "instrument", "item", "value", "completed_on"]
SRS = ("relationship", "goals", "approach", "overall")


def srs(dyad: str, session: int, values: tuple[float, ...], date: str = "2026-01-05") -> list[list[str]]:
    return [[dyad, str(session), "patient", "srs", k, str(v), date] for k, v in zip(SRS, values, strict=True)]


def frame(rows: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def ok_rows() -> list[list[str]]:
    """For the tables_ok clinic: a coded session (D1 1), an uncoded one (D1 7) and rupture items."""
    return (srs("D1", 1, (9.5, 9, 9, 9)) + srs("D1", 7, (8, 8, 9, 9), "")
            + [["D1", "7", "patient", "rupture_items", "rupture", "yes", ""],
               ["D1", "7", "patient", "rupture_items", "resolution", "2", ""]])


def folder_with(tmp_path: Path, rows: list[list[str]], name: str = "clinic", codings: bool = True) -> Path:
    frames = {**(read_ok() if codings else {}), "selfreports": frame(rows)}
    return write_folder(tmp_path / name, frames)


def stored(con: duckdb.DuckDBPyConnection) -> int:
    return int(store.scalar(con, "SELECT count(*) FROM selfreport"))


def find(problems: list[Problem], row: int | None, column: str, text: str, value: str | None = None) -> Problem:
    hits = [p for p in problems if p.row == row and p.column == column and text in p.message
            and (value is None or p.value == value)]
    assert hits, "\n".join(map(str, problems))
    return hits[0]


@pytest.mark.both_backends
def test_with_the_3rs_tables_coded_and_uncoded_sessions(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    report = import_path(con, folder_with(tmp_path, ok_rows()))
    assert report.selfreports is not None and report.selfreports.new == 10 and report.selfreports.forms == 3
    assert "10 new self-report answers" in report.summary()
    rows = con.execute("SELECT session_number, instrument, item, value, completed_on, batch_id, entered_by "
                       "FROM selfreport ORDER BY ALL").fetchall()
    assert (7, "rupture_items", "rupture", 1.0, None) in [r[:5] for r in rows]  # "yes" is stored as 1
    assert (1, "srs", "goals", 9.0, dt.date(2026, 1, 5)) in [r[:5] for r in rows]
    assert {r[5] for r in rows} == {report.batch_id} and {r[6] for r in rows} == {"cli"}
    # session 7 was never coded: it has self-reports and no row in `session`
    assert not store.scalar(con, "SELECT count(*) FROM session WHERE dyad_id = 'D1' AND session_number = 7")
    totals = dict(con.execute("SELECT session_number, value FROM v_selfreport_scale WHERE scale = 'total'").fetchall())
    assert totals == {1: 36.5, 7: 34.0}


def test_a_session_with_a_coding_only_needs_no_self_report(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    report = import_path(con, write_folder(tmp_path / "plain"))  # no selfreports.csv: as before
    assert report.selfreports is None and "self-report" not in report.summary() and stored(con) == 0
    assert store.scalar(con, "SELECT count(*) FROM v_selfreport_scale") == 0


@pytest.mark.parametrize("shape", ["folder", "file", "workbook"])
def test_self_reports_on_their_own(con: duckdb.DuckDBPyConnection, tmp_path: Path, shape: str) -> None:
    import_path(con, write_folder(tmp_path / "codings"))
    rows = srs("D1", 9, (9, 9, 9, 9)) + srs("D2", 1, (7, 8, 8, 8))  # D2: a dyad with self-reports only so far
    if shape == "folder":
        path = folder_with(tmp_path, rows, "only", codings=False)
    elif shape == "file":
        path = tmp_path / "patients_srs.csv"
        frame(rows).to_csv(path, index=False)
    else:
        path = write_xlsx(tmp_path / "sr.xlsx", {"selfreports": frame(rows)})
    codings = store.scalar(con, "SELECT count(*) FROM coding")
    report = import_path(con, path)
    assert report.selfreports.new == 8 and report.counts.codings_new == 0
    assert store.scalar(con, "SELECT count(*) FROM coding") == codings and stored(con) == 8


def test_a_dyad_must_be_stored_or_in_the_same_import(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    rows = srs("NEW", 1, (9, 9, 9, 9))
    with pytest.raises(ValidationError) as info:
        import_path(con, folder_with(tmp_path, rows, "alone", codings=False))
    p = find(info.value.problems, 2, "dyad_id", "no such dyad", "NEW")
    assert p.file == "selfreports.csv" and stored(con) == 0
    # the same rows with a sessions table that brings the dyad
    frames = read_ok()
    frames["sessions"] = pd.concat([frames["sessions"], frames["sessions"].iloc[[0]].assign(dyad_id="NEW")])
    frames["selfreports"] = frame(rows)
    frames["marks"] = pd.concat([frames["marks"], frames["marks"].iloc[:0]])
    import_path(con, write_folder(tmp_path / "together", frames))
    assert stored(con) == 4


def test_every_problem_in_one_pass_and_nothing_written(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    import_path(con, write_folder(tmp_path / "codings"))
    before = store.scalar(con, "SELECT count(*) FROM coding")
    rows = [
        ["D1", "1", "patient", "srs", "relationship", "9.5", "2026-01-05"],    # 2: fine
        ["D1", "1", "Patient", "srs", "goals", "11", "2026-01-05"],            # 3: out of range
        ["D1", "1", "patient", "srs", "approach", "9.05", "2026-01-05"],       # 4: off-step
        ["D1", "1", "patient", "srs", "overall", "nine", "2026-01-05"],        # 5: not a number
        ["D1", "2", "therapist", "srs", "overall", "9", "2026-01-05"],         # 6: SRS is the patient's
        ["D1", "2", "client", "rupture_items", "rupture", "maybe", ""],        # 7: respondent, yes/no
        ["D1", "2", "patient", "srx", "overall", "9", ""],                     # 8: unknown instrument
        ["D1", "2", "patient", "srs", "overal", "9", ""],                      # 9: unknown item
        ["D1", "1", "patient", "srs", "relationship", "9.5", "2026-01-05"],    # 10: duplicate of row 2
        ["D1", "3", "patient", "wai_sr", "13", "3", "2026-01-05"],             # 11: WAI-SR has items 1-12
        ["D1", "3", "patient", "wai_sr", "4", "2.5", "14/01/2026"],            # 12: whole numbers; a bad date
        ["D1", "x", "patient", "srs", "goals", "9", ""],                       # 13: session_number
        ["GHOST", "1", "patient", "srs", "goals", "9", ""],                    # 14: unknown dyad
        ["D1", "4", "patient", "rupture_items", "tension", "", ""],            # 15: empty value
    ]
    with pytest.raises(ValidationError) as info:
        import_path(con, folder_with(tmp_path, rows, "bad", codings=False))
    problems = info.value.problems
    assert {p.file for p in problems} == {"selfreports.csv"}
    find(problems, 3, "value", "out of range", "11")
    find(problems, 4, "value", "off-step", "9.05")
    find(problems, 5, "value", "must be a number", "nine")
    find(problems, 6, "respondent", "srs is answered by: patient", "therapist")
    find(problems, 7, "respondent", "patient or therapist", "client")
    find(problems, 7, "value", "yes or no", "maybe")
    find(problems, 8, "instrument", "unknown instrument", "srx")
    find(problems, 9, "item", "not an item of srs", "overal")
    find(problems, 10, "item", "duplicate row", "relationship")
    find(problems, 11, "item", "not an item of wai_sr", "13")
    find(problems, 12, "value", "off-step", "2.5")
    find(problems, 12, "completed_on", "YYYY-MM-DD", "14/01/2026")
    find(problems, 13, "session_number", "whole number", "x")
    find(problems, 14, "dyad_id", "no such dyad", "GHOST")
    find(problems, 15, "value", "required value is empty")
    assert stored(con) == 0 and store.scalar(con, "SELECT count(*) FROM coding") == before


def test_errors_in_the_codings_stop_the_self_reports_too(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    frames = {**read_ok(), "selfreports": frame(ok_rows())}
    frames["ratings"].loc[0, "rating"] = "9"
    with pytest.raises(ValidationError) as info:
        import_path(con, write_folder(tmp_path / "x", frames))
    assert {p.file for p in info.value.problems} == {"ratings.csv"}
    assert stored(con) == 0 and not store.scalar(con, "SELECT count(*) FROM coding")


def test_one_date_per_form_and_incomplete_forms(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    import_path(con, write_folder(tmp_path / "codings"))
    rows = srs("D1", 2, (9, 9, 9, 9))
    rows[3][6] = "2026-01-06"
    with pytest.raises(ValidationError) as info:
        import_path(con, folder_with(tmp_path, rows, "dates", codings=False))
    find(info.value.problems, 5, "completed_on", "different completed_on", "2026-01-06 (earlier: 2026-01-05)")
    report = import_path(con, folder_with(tmp_path, srs("D1", 2, (9, 9, 9, 9))[:3], "short", codings=False))
    warning = find(report.warnings, 2, "item", "lacks overall")
    assert warning.severity == "warning" and stored(con) == 3
    assert not store.scalar(con, "SELECT count(*) FROM v_selfreport_scale")  # a total needs all four items


@pytest.mark.both_backends  # replacing deletes and inserts: also on the shared store (DuckLake)
def test_reimport_is_unchanged_a_different_value_needs_replace(con: duckdb.DuckDBPyConnection,
                                                               tmp_path: Path) -> None:
    path = folder_with(tmp_path, ok_rows())
    import_path(con, path)
    again = import_path(con, path)
    assert (again.selfreports.new, again.selfreports.unchanged) == (0, 10) and stored(con) == 10
    rows = ok_rows()
    rows[0][5] = "8.5"
    changed = folder_with(tmp_path, rows, "changed")
    with pytest.raises(ValidationError) as info:
        import_path(con, changed)
    p = find(info.value.problems, 2, "value", "already stored as 9.5", "8.5")
    assert "--replace" in p.message
    assert store.scalar(con, "SELECT value FROM selfreport WHERE session_number = 1 AND item = 'relationship'") == 9.5
    report = import_path(con, changed, replace=True)
    assert (report.selfreports.replaced, report.selfreports.unchanged, report.selfreports.new) == (1, 9, 0)
    assert store.scalar(con, "SELECT value FROM selfreport WHERE session_number = 1 AND item = 'relationship'") == 8.5
    assert stored(con) == 10


def test_non_admin_uploads_follow_the_scope_rules(clinic_con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    con = clinic_con  # D1 (T1) and D3 (S1) are in S1's scope; D2 (T2) is not
    path = folder_with(tmp_path, srs("D1", 9, (9, 9, 9, 9)) + srs("D2", 9, (9, 9, 9, 9)), "up", codings=False)
    with pytest.raises(ValidationError) as info:
        import_path(con, path, writer=Principal("s1", "supervisor", therapist_id="S1"))
    refused = [p for p in info.value.problems if p.file == "selfreports.csv"]
    assert {(p.row, p.column, p.value) for p in refused} == {(r, "dyad_id", "D2") for r in range(6, 10)}
    assert "outside your scope" in refused[0].message and stored(con) == 0
    for who in (Principal("c1", "coder", coder_id="C1"), Principal("t1", "therapist", therapist_id="T1"),
                Principal("q", "qi")):
        with pytest.raises(ValidationError) as info:
            import_path(con, folder_with(tmp_path, srs("D1", 9, (9, 9, 9, 9)), f"own-{who.role}", codings=False),
                        writer=who)
        assert any("does not import self-reports" in p.message for p in info.value.problems)
    import_path(con, folder_with(tmp_path, srs("D1", 9, (9, 9, 9, 9)), "mine", codings=False),
                writer=Principal("s1", "supervisor", therapist_id="S1"))
    assert stored(con) == 4


def test_browser_uploads_accept_selfreports_csv(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    import_path(con, write_folder(tmp_path / "codings"))
    data = frame(srs("D1", 3, (9, 9, 9, 9))).to_csv(index=False).encode()
    report = import_uploads(con, [("selfreports.csv", data)])
    assert report.selfreports.new == 4
    with pytest.raises(ValidationError) as info:
        import_uploads(con, [("srs.csv", data)])
    assert "selfreports.csv" in info.value.problems[0].message


def test_stray_spaces_and_capitals_are_tidied_like_the_other_tables(con: duckdb.DuckDBPyConnection,
                                                                    tmp_path: Path) -> None:
    import_path(con, write_folder(tmp_path / "codings"))
    rows = [["D1 ", " 02", "Patient", "srs", item, f" {v}", ""] for item, v in zip(SRS, (9, 9, 9, 8.5), strict=True)]
    rows += [["D1", "3", "patient", "rupture_items", "rupture", "Yes", "2026-1-5"]]
    report = import_path(con, folder_with(tmp_path, rows, "messy", codings=False))
    assert report.selfreports.new == 5
    assert con.execute("SELECT DISTINCT dyad_id, session_number, respondent FROM selfreport ORDER BY 2").fetchall() \
        == [("D1", 2, "patient"), ("D1", 3, "patient")]
    assert store.scalar(con, "SELECT value FROM v_selfreport_scale WHERE instrument = 'srs'") == 35.5
    assert store.scalar(con, "SELECT completed_on FROM selfreport WHERE session_number = 3") == dt.date(2026, 1, 5)
