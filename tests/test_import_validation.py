"""Every validation rule gives a message naming file, row, column and value; nothing is written."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from rrrs_core.errors import Problem, ValidationError
from rrrs_core.importing import import_path
from tests.tables import read_ok, write_folder, write_xlsx

pytestmark = pytest.mark.both_backends  # the embedded file and the shared store (tests/conftest.py)


def counts(con: duckdb.DuckDBPyConnection) -> tuple[int, ...]:
    return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                 for t in ("therapist", "dyad", "session", "coding", "mark", "rating", "import_batch"))


def errors_for(con: duckdb.DuckDBPyConnection, path: Path) -> list[Problem]:
    """The problems of importing `path`; a dry run (one read transaction, where rows of the tables it stages
    are numbered differently until it ends) must name the same rows."""
    before = counts(con)
    with pytest.raises(ValidationError) as checked:
        import_path(con, path, dry_run=True)
    with pytest.raises(ValidationError) as info:
        import_path(con, path)
    assert counts(con) == before, "a failed import must leave the database unchanged"
    assert checked.value.problems == info.value.problems
    return info.value.problems


def find(problems: list[Problem], file: str, row: int | None, column: str | None, fragment: str) -> Problem:
    for p in problems:
        if p.file == file and p.row == row and p.column == column and fragment in p.message:
            return p
    raise AssertionError(f"no problem {file}:{row}:{column} ~ {fragment!r} in\n" + "\n".join(map(str, problems)))


@pytest.mark.parametrize(
    ("table", "row", "column", "value", "fragment"),
    [
        ("marks", 0, "code", "denail", "unknown code"),
        ("marks", 1, "clarity", "maybe", "clarity must be check or check_minus"),
        ("marks", 2, "segment", "11", "beyond this session's n_segments"),
        ("marks", 2, "segment", "0", "whole number 1 or more"),
        ("marks", 3, "session_number", "two", "whole number"),
        # Marks and ratings are screened by their summaries: each kind of bad value must still be found.
        ("marks", 0, "code", "", "required value is empty"),
        ("marks", 1, "clarity", "", "required value is empty"),
        ("marks", 2, "segment", "", "required value is empty"),
        ("marks", 2, "segment", "two", "whole number 1 or more"),
        ("marks", 3, "coder_id", "", "required value is empty"),
        ("ratings", 0, "rating", "7", "rating must be a whole number from 1 to 5"),
        ("ratings", 0, "rating", "3.5", "rating must be a whole number from 1 to 5"),
        ("ratings", 0, "rating", "+3", "rating must be a whole number from 1 to 5"),
        ("ratings", 0, "rating", "1e0", "rating must be a whole number from 1 to 5"),
        ("ratings", 0, "rating", "\u0663", "rating must be a whole number from 1 to 5"),  # Arabic-Indic 3
        ("ratings", 0, "rating", "^", "rating must be a whole number from 1 to 5"),
        ("ratings", 1, "item", "overall_rupture", "unknown rating item"),
        ("ratings", 1, "item", "", "required value is empty"),
        ("ratings", 0, "rating", "", "required value is empty"),
        ("ratings", 2, "session_number", "two", "whole number"),
        ("ratings", 2, "session_number", "0", "whole number"),
        ("ratings", 3, "dyad_id", "", "required value is empty"),
        ("sessions", 0, "session_date", "05/01/2026", "YYYY-MM-DD"),
        ("sessions", 0, "n_segments", "ten", "n_segments"),
        ("sessions", 3, "trainee", "maybe", "true or false"),
        ("sessions", 1, "therapist_id", "", "required value is empty"),
    ],
)
def test_bad_value_is_reported_with_location(con, tmp_path, table, row, column, value, fragment):
    frames = read_ok()
    frames[table].loc[row, column] = value
    problems = errors_for(con, write_folder(tmp_path / "bad", frames))
    p = find(problems, f"{table}.csv", row + 2, column, fragment)
    assert p.value in (value or None, f"{value} (n_segments: 10)")


def test_ratings_screen_lets_valid_odd_values_through(con, tmp_path):
    """'05' and ' 3 ' are odd to the summary's screen but valid: the full row check runs and finds nothing."""
    frames = read_ok()
    ratings = frames["ratings"]
    ratings.loc[0, "rating"] = "0" + str(ratings.loc[0, "rating"])
    ratings.loc[1, "rating"] = f" {ratings.loc[1, 'rating']} "
    # A global rating written '04': the metrics cache and the stored rating must read it as 4.
    tc = ratings.index[ratings.item.eq("therapist_contribution")][0]
    key, value = ratings.loc[tc, ["dyad_id", "session_number", "coder_id"]].tolist(), int(ratings.loc[tc, "rating"])
    ratings.loc[tc, "rating"] = f"0{value}"
    import_path(con, write_folder(tmp_path / "odd", frames))
    stored = con.execute("SELECT count(*) FROM rating").fetchall()[0][0]
    assert stored == len(ratings)
    where = "dyad_id = ? AND session_number = ?::INTEGER AND coder_id = ?"
    assert con.execute(f"SELECT therapist_contribution FROM v_coding_metrics WHERE {where}", key).fetchall() == [
        (value,)]
    assert con.execute(f"SELECT r.rating FROM rating r JOIN coding c USING (coding_id) WHERE {where} AND "
                       "r.item = 'therapist_contribution'", key).fetchall() == [(value,)]


def test_stray_spaces_are_trimmed_after_the_summary(con, tmp_path):
    """Marks and ratings are tidied only once their summary finds something odd; padded keys must still match."""
    frames = read_ok()
    ratings = frames["ratings"]
    for col in ("dyad_id", "session_number", "coder_id", "item", "rating"):
        ratings.loc[0, col] = f" {ratings.loc[0, col]}  "
    ratings.loc[2, "coder_id"] = f"{ratings.loc[2, 'coder_id']} "  # only a key padded: no odd item or value
    marks = frames["marks"]
    for col in ("dyad_id", "session_number", "coder_id", "segment", "code", "clarity"):
        marks.loc[0, col] = f" {marks.loc[0, col]} "
    marks.loc[1, "segment"] = f"{marks.loc[1, 'segment']} "
    marks.loc[2, "clarity"] = "\u2713"  # the scoresheet's check sign: odd to the screen, valid
    import_path(con, write_folder(tmp_path / "padded", frames))
    stored = con.execute("SELECT item FROM rating WHERE item LIKE '% %' OR item LIKE ' %'").fetchall()
    assert stored == [] and con.execute("SELECT count(*) FROM rating").fetchall()[0][0] == len(ratings)
    assert con.execute("SELECT count(*) FROM mark WHERE code LIKE '% %' OR code LIKE ' %'").fetchall() == [(0,)]
    assert con.execute("SELECT count(*) FROM mark").fetchall()[0][0] == len(marks)


def test_mark_for_unknown_session_and_duplicate_keys(con, tmp_path):
    frames = read_ok()
    marks = frames["marks"]
    marks.loc[len(marks)] = ["D9", "1", "C1", "1", "denial", "check"]
    marks.loc[len(marks)] = marks.loc[0].tolist()
    ratings = frames["ratings"]
    ratings.loc[len(ratings)] = ratings.loc[0].tolist()
    sessions = frames["sessions"]
    sessions.loc[len(sessions)] = sessions.loc[0].tolist()
    problems = errors_for(con, write_folder(tmp_path / "bad", frames))
    assert find(problems, "marks.csv", 9, "coder_id", "no row in sessions").value == "D9 / 1 / C1"
    find(problems, "marks.csv", 10, "code", "duplicate mark")
    find(problems, "ratings.csv", 15, "item", "duplicate rating")
    find(problems, "sessions.csv", 6, "coder_id", "duplicate row")


def test_numbers_written_two_ways_are_still_duplicates(con, tmp_path):
    """'02' is segment 2 and '01' is session 1 once stored: the same mark, or the same coding of a session,
    written both ways is a duplicate (the store keeps these keys unique without an index)."""
    frames = read_ok()
    marks = frames["marks"]
    marks.loc[len(marks)] = [*marks.loc[0, ["dyad_id", "session_number", "coder_id"]],
                             "0" + marks.loc[0, "segment"], *marks.loc[0, ["code", "clarity"]]]
    sessions = frames["sessions"]
    again = sessions.loc[0].copy()
    again["session_number"] = "0" + again["session_number"]
    sessions.loc[len(sessions)] = again.tolist()
    problems = errors_for(con, write_folder(tmp_path / "bad", frames))
    find(problems, "marks.csv", len(marks) + 1, "code", "duplicate mark")
    find(problems, "sessions.csv", len(sessions) + 1, "coder_id", "duplicate row")


def test_conflicting_session_fields_and_dyad_therapist(con, tmp_path):
    frames = read_ok()
    frames["sessions"].loc[2, "n_segments"] = "9"       # C2's row of D1/2 disagrees with C1's
    frames["sessions"].loc[1, "therapist_id"] = "T7"    # D1 with two therapists
    problems = errors_for(con, write_folder(tmp_path / "bad", frames))
    find(problems, "sessions.csv", 4, "n_segments", "different n_segments")
    find(problems, "sessions.csv", 3, "therapist_id", "different therapist_id")


def test_missing_column_empty_file_missing_file(con, tmp_path):
    frames = read_ok()
    frames["marks"] = frames["marks"].drop(columns=["clarity"])
    folder = write_folder(tmp_path / "bad", frames)
    (folder / "ratings.csv").write_text("")
    problems = errors_for(con, folder)
    find(problems, "marks.csv", 1, "clarity", "missing required column")
    find(problems, "ratings.csv", None, None, "the file is empty")
    # A byte-order mark and more whitespace than one read chunk is still an empty file.
    (folder / "ratings.csv").write_bytes(b"\xef\xbb\xbf" + b" \r\n\t" * 40000)
    find(errors_for(con, folder), "ratings.csv", None, None, "the file is empty")
    (folder / "ratings.csv").write_bytes(b" " * 70000 + b"dyad_id")  # not blank: read, then a header problem
    assert not any("the file is empty" in p.message for p in errors_for(con, folder) if p.file == "ratings.csv")
    (folder / "ratings.csv").unlink()
    find(errors_for(con, folder), "bad/ratings.csv", None, None, "file not found")


def test_sessions_header_only_is_an_error(con, tmp_path):
    folder = write_folder(tmp_path / "bad")
    (folder / "sessions.csv").write_text("dyad_id,therapist_id,session_number,coder_id,n_segments\n")
    find(errors_for(con, folder), "sessions.csv", None, None, "no sessions")


def test_wrong_sheet_names_in_workbook(con, tmp_path):
    frames = read_ok()
    frames["Codes"] = frames.pop("marks")
    problems = errors_for(con, write_xlsx(tmp_path / "book.xlsx", frames))
    p = find(problems, "book.xlsx", None, None, "no sheet named 'marks'")
    assert "Codes" in p.message


def test_workbook_cell_errors_name_the_sheet_and_row(con, tmp_path):
    frames = read_ok()
    frames["ratings"].loc[4, "rating"] = "9"
    problems = errors_for(con, write_xlsx(tmp_path / "book.xlsx", frames))
    assert find(problems, "book.xlsx [ratings]", 6, "rating", "1 to 5").value == "9"


def test_all_problems_reported_in_one_pass(con, tmp_path):
    frames = read_ok()
    frames["marks"].loc[0, "code"] = "nope"
    frames["ratings"].loc[0, "rating"] = "0"
    frames["sessions"].loc[0, "session_date"] = "yesterday"
    problems = errors_for(con, write_folder(tmp_path / "bad", frames))
    assert {p.file for p in problems} == {"marks.csv", "ratings.csv", "sessions.csv"}


def test_many_bad_rows_are_summarised(con, tmp_path):
    frames = read_ok()
    marks = frames["marks"]
    bad = marks.loc[[0] * 150].assign(code="bogus", segment=[str(i % 10 + 1) for i in range(150)])
    frames["marks"] = bad.reset_index(drop=True)
    problems = errors_for(con, write_folder(tmp_path / "bad", frames))
    unknown = [p for p in problems if "unknown code" in p.message]
    assert len(unknown) == 101 and "50 more rows" in unknown[-1].message


def test_problem_text_is_actionable():
    text = str(Problem("error", "marks.csv", 4, "code", "denail", "unknown code; allowed codes: denial"))
    assert text == "ERROR: marks.csv, row 4, column 'code' (value 'denail'): unknown code; allowed codes: denial"


def test_synthetic_only_refuses_unmarked_data_with_its_other_problems(con, tmp_path):
    """Demo mode (no sign-in) passes synthetic_only: unmarked data is refused, every other problem still shown."""
    frames = read_ok()
    frames["ratings"].loc[0, "rating"] = "9"
    folder = write_folder(tmp_path / "real", frames)
    before = counts(con)
    with pytest.raises(ValidationError) as info:
        import_path(con, folder, synthetic_only=True)
    assert counts(con) == before
    find(info.value.problems, "real", None, None, "not marked as synthetic demo data")
    find(info.value.problems, "ratings.csv", 2, "rating", "1 to 5")
    from rrrs_core import demo as generator

    demo = tmp_path / "demo"
    generator.write(demo, n_dyads=2)  # the generator's own output with its signed marker
    report = import_path(con, demo, synthetic_only=True)
    assert report.synthetic and report.counts.codings_new > 0
