"""`rrrs attach transcript|recording` and `rrrs transcript show|delete`: bad files print file, line, column
and value, exit 2, store nothing, and never show a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rrrs_core import audit, store
from rrrs_core.cli import main

VTT = """WEBVTT

00:00:01.000 --> 00:00:09.000
<v Dr Lee>What would you like to talk about today?

00:00:10.000 --> 00:00:20.000
<v Anna>I don't know. You tell me.

00:05:10.000 --> 00:05:20.000
<v Dr Lee>You sound annoyed with me.
"""


def _file(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def _count(db: Path, sql: str) -> int:
    con = store.connect(db)
    try:
        return int(store.scalar(con, sql))  # type: ignore[call-overload]
    finally:
        con.close()


def test_attach_show_and_delete(clinic_db, tmp_path, capsys):
    vtt = _file(tmp_path, "s3.vtt", VTT)
    db = str(clinic_db)
    assert main(["attach", "transcript", vtt, "--dyad", "D1", "--session", "3", "--db", db,
                 "--speaker", "Dr Lee=therapist", "--speaker", "anna=patient", "--by", "ann"]) == 0
    assert "Attached 3 turns with times to dyad D1, session 3" in capsys.readouterr().out
    assert main(["transcript", "show", "--dyad", "D1", "--session", "3", "--segment", "2", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "[05:10] therapist: You sound annoyed with me." in out and "tell me" not in out
    assert main(["transcript", "show", "--dyad", "D1", "--session", "3", "--csv", "--db", db]) == 0
    assert capsys.readouterr().out.startswith("turn,start,end,speaker,label,text\n1,1.0,9.0,therapist,Dr Lee,")
    assert main(["transcript", "delete", "--dyad", "D1", "--session", "3", "--db", db, "--by", "ann"]) == 0
    assert "3 turns" in capsys.readouterr().out
    assert _count(clinic_db, "SELECT count(*) FROM transcript_turn") == 0
    assert main(["transcript", "purge", "--db", db]) == 0
    assert "No copy of a deleted transcript" in capsys.readouterr().out
    con = store.connect(clinic_db)
    trail = audit.listing(con)
    con.close()
    assert trail.action.tolist()[:4] == ["delete transcript", "export transcript", "view transcript",
                                         "attach transcript"]
    assert set(trail.role[:4]) == {"cli"} and set(trail.os_user[:4]) == {audit.os_account()}


@pytest.mark.parametrize(("name", "text", "where"), [
    ("s.vtt", VTT, "s.vtt, line 3, column 'speaker' (value 'Dr Lee'): unknown speaker 'Dr Lee': map it, "
                   "e.g. --speaker 'Dr Lee=therapist'"),
    ("s.csv", "start,end,speaker,text\n1,2,T,ok\n5,3,P,no\n", "s.csv, line 3, column 'end' (value '3'): ends "
                                                              "before it starts"),
    ("s.csv", "start,end,speaker,text\n1:xx,2,T,ok\n", "s.csv, line 2, column 'start' (value '1:xx')"),
    ("s.srt", "", "s.srt: the file is empty"),
    ("s.csv", b"turn,speaker,text\n1,T,\xff\n", "s.csv, line 2, column 'byte 5' (value 'ff'): not UTF-8"),
    ("s.docx", "hello", "not a transcript format"),
])
def test_bad_files_exit_2_and_store_nothing(clinic_db, tmp_path, capsys, name, text, where):
    code = main(["attach", "transcript", _file(tmp_path, name, text), "--dyad", "D1", "--session", "3",
                 "--db", str(clinic_db)])
    err = capsys.readouterr().err
    assert code == 2 and where in err and "nothing was stored" in err
    assert _count(clinic_db, "SELECT count(*) FROM transcript_turn") == 0


@pytest.mark.parametrize(("args", "words"), [
    (["--dyad", "D1", "--session", "99", "--speaker", "Dr Lee=therapist"], "Dyad D1 has no session 99 (not found or not permitted)"),
    (["--dyad", "D1", "--session", "3", "--speaker", "Dr Lee"], "--speaker takes NAME=therapist"),
    (["--dyad", "D1", "--session", "3", "--speaker", "Dr Lee=boss"], "map a speaker to therapist, patient"),
])
def test_other_mistakes_are_one_line(clinic_db, tmp_path, capsys, args, words):
    code = main(["attach", "transcript", _file(tmp_path, "s.vtt", VTT), *args, "--speaker", "anna=patient",
                 "--db", str(clinic_db)])
    assert code in (1, 2) and words in capsys.readouterr().err


def test_a_missing_file_and_a_huge_one(clinic_db, tmp_path, capsys):
    assert main(["attach", "transcript", str(tmp_path / "none.vtt"), "--dyad", "D1", "--session", "3",
                 "--db", str(clinic_db)]) == 1
    assert "No transcript file" in capsys.readouterr().err
    huge = tmp_path / "huge.vtt"
    with huge.open("wb") as f:
        f.truncate(3_000_000)
    assert main(["attach", "transcript", str(huge), "--dyad", "D1", "--session", "3", "--db", str(clinic_db)]) == 1
    assert "larger than 2,000,000" in capsys.readouterr().err


def test_recording_outside_the_media_root_is_refused(clinic_db, tmp_path, capsys, monkeypatch):
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "s3.mp4").write_bytes(b"video")
    (tmp_path / "other.mp4").write_bytes(b"video")
    monkeypatch.setenv("RRRS_MEDIA_ROOT", str(tmp_path / "media"))
    base = ["--dyad", "D1", "--session", "3", "--db", str(clinic_db)]
    assert main(["attach", "recording", "../other.mp4", *base]) == 1
    assert "outside the media folder" in capsys.readouterr().err
    assert main(["attach", "recording", "s3.mp4", *base]) == 0
    assert "recording s3.mp4" in capsys.readouterr().out


def test_no_traceback_from_the_console_script(clinic_db, tmp_path):
    env = {**os.environ, "RRRS_DB": str(clinic_db)}
    res = subprocess.run([sys.executable, "-m", "rrrs_core.cli", "attach", "transcript",
                          _file(tmp_path, "bad.srt", "1\nnot a time\nT: hi\n"), "--dyad", "D1", "--session", "3"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 2 and "bad.srt, line" in res.stderr and "Traceback" not in res.stderr
