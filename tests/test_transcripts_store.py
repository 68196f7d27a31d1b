"""Transcripts in the store, on the embedded file and the shared store: attach replaces whole, reads by
minutes and segment, search is literal and scoped to the dyad, delete removes the rows."""

from __future__ import annotations

import pytest

from rrrs_core import store
from rrrs_core.access import Principal
from rrrs_core.errors import NotFoundError, PermissionDeniedError, RrrsError
from rrrs_core.transcripts import (
    Turn,
    attach,
    delete,
    has_transcript,
    info,
    parse,
    search,
    segment_turns,
    to_turns,
    turns,
)

pytestmark = pytest.mark.both_backends

ADMIN = Principal("admin@clinic", "admin")
CSV = b"""start,end,speaker,text
0,20,T,What brings you in today?
280,310,P,I don't know why I keep coming here.
305,330,T,It sounds like you're frustrated with me.
610,640,P,Whatever. It's fine.
"""


def _attach(con, data: bytes = CSV, dyad: str = "D1", session: int = 3, name: str = "s3.csv") -> int:
    return attach(con, ADMIN, dyad, session, parse(data, name), name)


def test_attach_and_read_back(clinic_con):
    assert not has_transcript(clinic_con, "D1", 3)
    assert _attach(clinic_con) == 4
    assert has_transcript(clinic_con, "D1", 3) and not has_transcript(clinic_con, "D1", 2)
    frame = turns(clinic_con, ADMIN, "D1", 3)
    assert list(frame.columns) == ["turn", "start", "end", "speaker", "label", "text", "segment"]
    assert frame.turn.tolist() == [1, 2, 3, 4]
    assert frame.segment.tolist() == [1, 1, 2, 3]  # 5-minute segments: 0-300 s is segment 1
    assert frame.speaker.tolist() == ["therapist", "patient", "therapist", "patient"]
    assert info(clinic_con, "D1", 3)["n_turns"] == 4


def test_demo_mode_without_sign_in_refuses_a_transcript(clinic_con):
    """Demo mode takes only the demo's synthetic data; a transcript is clinical text nothing guards there."""
    with pytest.raises(PermissionDeniedError, match="Demo mode"):
        attach(clinic_con, ADMIN, "D1", 3, parse(CSV, "s3.csv"), "s3.csv", synthetic_only=True)
    assert not has_transcript(clinic_con, "D1", 3)


def test_stored_turns_read_back_as_the_parsed_ones(clinic_con):
    parsed = parse(CSV, "s3.csv")
    _attach(clinic_con)
    assert to_turns(turns(clinic_con, ADMIN, "D1", 3)) == parsed
    untimed = parse(b"turn,speaker,text\n1,T,Hello\n", "x.csv")
    attach(clinic_con, ADMIN, "D1", 2, untimed, "x.csv")
    assert to_turns(turns(clinic_con, ADMIN, "D1", 2)) == untimed


def test_segments_and_minutes_take_every_overlapping_turn(clinic_con):
    _attach(clinic_con)
    assert segment_turns(clinic_con, ADMIN, "D1", 3, 1).turn.tolist() == [1, 2]
    assert segment_turns(clinic_con, ADMIN, "D1", 3, 2).turn.tolist() == [2, 3]  # turn 2 runs 280-310 s
    assert segment_turns(clinic_con, ADMIN, "D1", 3, 3).turn.tolist() == [4]
    assert segment_turns(clinic_con, ADMIN, "D1", 3, 4).empty
    for bad in (0, -1, 1.5, "2"):
        with pytest.raises(RrrsError, match="numbered from 1"):
            segment_turns(clinic_con, ADMIN, "D1", 3, bad)
    assert turns(clinic_con, ADMIN, "D1", 3, start=300, end=320).turn.tolist() == [2, 3]
    assert turns(clinic_con, ADMIN, "D1", 3, start=20, end=280).empty  # turn 1 ends at 20: not in [20, 280)


def test_untimed_transcript_is_stored_without_segments(clinic_con):
    attach(clinic_con, ADMIN, "D1", 2, parse(b"turn,speaker,text\n1,T,Hello\n2,P,Hi\n", "x.csv"), "x.csv")
    frame = turns(clinic_con, ADMIN, "D1", 2)
    assert frame.turn.tolist() == [1, 2] and frame.segment.isna().all() and frame.start.isna().all()
    assert segment_turns(clinic_con, ADMIN, "D1", 2, 1).empty
    assert info(clinic_con, "D1", 2)["timed"] is False


def test_attach_replaces_the_earlier_transcript_whole(clinic_con):
    _attach(clinic_con)
    _attach(clinic_con, b"turn,speaker,text\n1,P,Only this now.\n")
    frame = turns(clinic_con, ADMIN, "D1", 3)
    assert frame.text.tolist() == ["Only this now."]
    assert store.scalar(clinic_con, "SELECT count(*) FROM transcript WHERE dyad_id = 'D1'") == 1


def test_unknown_session_and_bad_turns_store_nothing(clinic_con):
    with pytest.raises(NotFoundError, match="no session 99"):
        _attach(clinic_con, session=99)
    with pytest.raises(NotFoundError, match="No dyad ZZ"):
        _attach(clinic_con, dyad="ZZ")
    with pytest.raises(RrrsError, match="speaker 'mother'"):
        attach(clinic_con, ADMIN, "D1", 3, [Turn(1, None, None, "mother", "M", "hi")], "x")
    with pytest.raises(RrrsError, match="at least one turn"):
        attach(clinic_con, ADMIN, "D1", 3, [], "x")
    assert store.scalar(clinic_con, "SELECT count(*) FROM transcript_turn") == 0


def test_search_is_literal_case_blind_and_within_the_dyad(clinic_con):
    _attach(clinic_con)
    _attach(clinic_con, b"turn,speaker,text\n1,P,I keep coming back to 100% of it_all\n", session=4)
    _attach(clinic_con, b"turn,speaker,text\n1,P,I keep coming to D2 too\n", dyad="D2", session=1)
    found = search(clinic_con, ADMIN, "D1", "KEEP coming")
    assert list(found.columns) == ["session_number", "turn", "start", "speaker", "text"]
    assert found[["session_number", "turn"]].values.tolist() == [[3, 2], [4, 1]]
    assert search(clinic_con, ADMIN, "D1", "100%").session_number.tolist() == [4]
    assert search(clinic_con, ADMIN, "D1", "%").session_number.tolist() == [4]  # a literal percent sign
    assert search(clinic_con, ADMIN, "D1", "of_it").empty  # "_" is literal: it would match "of it"
    assert search(clinic_con, ADMIN, "D1", "'; DROP TABLE transcript_turn; --").empty
    with pytest.raises(RrrsError, match="Type a word"):
        search(clinic_con, ADMIN, "D1", "   ")


def test_delete_removes_the_rows_and_is_admin_only(clinic_con):
    _attach(clinic_con)
    _attach(clinic_con, session=4)
    with pytest.raises(PermissionDeniedError, match="administrator"):
        delete(clinic_con, Principal("s1", "supervisor", therapist_id="S1"), "D1", 3)
    assert delete(clinic_con, ADMIN, "D1", 3) == 4
    assert not has_transcript(clinic_con, "D1", 3)
    rows = store.scalar(clinic_con, "SELECT count(*) FROM transcript_turn WHERE dyad_id = 'D1' "
                                    "AND session_number = 3")
    assert rows == 0  # gone, not flagged
    assert store.scalar(clinic_con, "SELECT count(*) FROM transcript_turn WHERE text LIKE '%frustrated%'") == 1
    with pytest.raises(NotFoundError, match="has no transcript"):
        delete(clinic_con, ADMIN, "D1", 3)


def _catalog_holds(con, word: str) -> list[str]:
    """The DuckLake catalog tables (PostgreSQL) whose rows hold `word` in plaintext."""
    from rrrs_core.storage.lake import metadata

    meta = metadata(con)
    tables = con.execute(f"SELECT * FROM postgres_query('{meta}', 'SELECT table_name FROM "
                         "information_schema.tables WHERE table_name LIKE ''ducklake_inlined_data%''')").fetchall()
    return [t for (t,) in tables
            if word in repr(con.execute(f"SELECT * FROM postgres_query('{meta}', 'SELECT * FROM {t}')").fetchall())]


def test_deleted_text_is_gone_from_old_snapshots_files_and_catalog(clinic_con, backend):
    many = "".join(f"{i},{i + 1},P,Gone{i} giraffe\n" for i in range(300)).encode()
    _attach(clinic_con, b"start,end,speaker,text\n" + many, session=3)
    _attach(clinic_con, b"start,end,speaker,text\n1,2,T,one giraffe only\n", session=2)
    _attach(clinic_con, b"start,end,speaker,text\n1,2,T,the elephant stays\n", session=4)
    if backend == "lake":
        assert not _catalog_holds(clinic_con, "giraffe"), "transcript text was inlined into the catalog"
        name = store.scalar(clinic_con, "SELECT current_database()")
        before = store.scalar(clinic_con, f"SELECT max(snapshot_id) FROM ducklake_snapshots('{name}')")
    delete(clinic_con, ADMIN, "D1", 3)
    delete(clinic_con, ADMIN, "D1", 2)
    assert store.scalar(clinic_con, "SELECT count(*) FROM transcript_turn WHERE text LIKE '%giraffe%'") == 0
    assert turns(clinic_con, ADMIN, "D1", 4).text.tolist() == ["the elephant stays"]
    if backend == "lake":
        with pytest.raises(Exception, match="No snapshot found"):
            clinic_con.execute(f"SELECT count(*) FROM transcript_turn AT (VERSION => {before})").fetchall()
        files = clinic_con.execute(f"SELECT data_file FROM ducklake_list_files('{name}', 'transcript_turn')"
                                   ).fetchall()
        assert len(files) == 1  # only the file of the transcript kept; the deleted ones' files are removed
        assert not _catalog_holds(clinic_con, "giraffe")
