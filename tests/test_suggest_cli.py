"""`rrrs suggest`: good files give the CSV, bad files a message with file/line/value and a non-zero exit."""

from __future__ import annotations

import pandas as pd

from rrrs_core.cli import main

GOOD = "turn,speaker,text\n1,T,How was the homework?\n2,P,I think I want to quit.\n3,Mum,She is tired.\n"


def test_suggest_writes_the_csv(tmp_path, capsys):
    src, out = tmp_path / "s.csv", tmp_path / "out.csv"
    src.write_text(GOOD)
    assert main(["suggest", str(src), "--out", str(out), "--speaker", "Mum=other"]) == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["turn", "speaker", "code", "family", "score"]
    assert set(frame.turn) <= {1, 2} and 2 in set(frame.turn)
    assert frame.groupby("turn").size().max() <= 3
    assert "Suggestions only" in capsys.readouterr().err


def test_suggest_vtt(tmp_path):
    src, out = tmp_path / "s.vtt", tmp_path / "out.csv"
    src.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v P>I think I want to quit.\n")
    assert main(["suggest", str(src), "--out", str(out)]) == 0
    assert pd.read_csv(out).turn.tolist()[0] == 1


def test_bad_file_names_file_line_and_value(tmp_path, capsys):
    src, out = tmp_path / "bad.csv", tmp_path / "out.csv"
    src.write_text(GOOD)  # 'Mum' is not mapped
    assert main(["suggest", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv, line 4" in err and "'Mum'" in err and "Traceback" not in err
    assert not out.exists()


def test_missing_file_and_missing_out_folder(tmp_path, capsys):
    assert main(["suggest", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o.csv")]) == 1
    assert "No transcript file" in capsys.readouterr().err
    src = tmp_path / "s.csv"
    src.write_text("turn,speaker,text\n1,P,Hello\n")
    assert main(["suggest", str(src), "--out", str(tmp_path / "no" / "o.csv")]) == 1
    assert "does not exist" in capsys.readouterr().err
