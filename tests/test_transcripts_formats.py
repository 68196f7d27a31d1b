"""Transcript files: WebVTT, SubRip and CSV read into the same turns; every bad file names file, line, column
and value, and yields no turns at all."""

from __future__ import annotations

import pytest

from rrrs_core.errors import RrrsError, TranscriptError, ValidationError
from rrrs_core.transcripts import Turn, parse
from rrrs_core.transcripts.model import MAX_BYTES, MAX_TURNS, seconds

VTT = b"""WEBVTT

1
00:00:01.000 --> 00:00:04.500
<v Dr Lee>How has the week been?</v>

00:05.000 --> 00:12.250
P: Fine, I guess.
Same as always.

00:01:00.000 --> 00:01:03.000
<v Therapist>You sound unsure.
"""

SRT = b"""1
00:00:01,000 --> 00:00:04,500
Therapist: How has the week been?

2
00:00:05,000 --> 00:00:12,250
P: Fine, I guess.
Same as always.
"""

CSV_TIMED = b"""start,end,speaker,text
0:01,0:04.5,T,How has the week been?
5,12.25,patient,"Fine, I guess. Same as always."
1:00:00,1:00:03,t,One hour in.
"""

CSV_UNTIMED = b"""turn,speaker,text
1,Therapist,How has the week been?
2,Client,"Fine, I guess."
"""


def test_webvtt_voice_tags_prefixes_and_multiline_cues():
    turns = parse(VTT, "s1.vtt", {"dr lee": "therapist"})
    assert turns == [
        Turn(1, 1.0, 4.5, "therapist", "Dr Lee", "How has the week been?"),
        Turn(2, 5.0, 12.25, "patient", "P", "Fine, I guess. Same as always."),
        Turn(3, 60.0, 63.0, "therapist", "Therapist", "You sound unsure."),
    ]


def test_subrip_reads_like_webvtt():
    turns = parse(SRT, "s1.srt")
    assert [(t.turn, t.start, t.end, t.speaker, t.text) for t in turns] == [
        (1, 1.0, 4.5, "therapist", "How has the week been?"), (2, 5.0, 12.25, "patient", "Fine, I guess. Same as always.")]


def test_csv_times_as_seconds_or_clock_and_labels_in_any_case():
    turns = parse(CSV_TIMED, "s1.CSV")
    assert [(t.start, t.end, t.speaker) for t in turns] == [(1.0, 4.5, "therapist"), (5.0, 12.25, "patient"),
                                                            (3600.0, 3603.0, "therapist")]


def test_csv_without_times_keeps_file_order():
    turns = parse(CSV_UNTIMED, "notes.csv")
    assert [(t.turn, t.start, t.end, t.speaker) for t in turns] == [(1, None, None, "therapist"),
                                                                    (2, None, None, "patient")]


def test_names_map_to_therapist_patient_or_other():
    data = b"turn,speaker,text\n1,Dr Lee,Hello\n2,Anna,Hi\n3,Interpreter,She says hi\n"
    turns = parse(data, "x.csv", {"Dr Lee": "therapist", "ANNA": "patient", "interpreter": "other"})
    assert [(t.speaker, t.label) for t in turns] == [("therapist", "Dr Lee"), ("patient", "Anna"),
                                                     ("other", "Interpreter")]


@pytest.mark.parametrize(("text", "expected"), [
    ("754.5", 754.5), ("12:34.5", 754.5), ("1:02:03", 3723.0), ("00:12:34,500", 754.5), ("75:00", 4500.0),
    ("-3", None), ("1:60", None), ("1:61:00", None), ("abc", None), ("25:00:00", None), ("", None)])
def test_times(text, expected):
    assert seconds(text) == expected


def _error(data: bytes, name: str, speaker_map: dict[str, str] | None = None) -> TranscriptError:
    with pytest.raises(TranscriptError) as caught:
        parse(data, name, speaker_map)
    assert isinstance(caught.value, ValidationError) and isinstance(caught.value, RrrsError)
    assert str(caught.value).endswith("nothing was stored")
    return caught.value


@pytest.mark.parametrize(("name", "data", "line", "column", "value", "words"), [
    ("a.csv", b"start,end,speaker,text\n1,2,T,ok\n3,2,P,back in time\n", 3, "end", "2", "ends before it starts"),
    ("a.csv", b"start,end,speaker,text\n1,2,T,ok\nsoon,4,P,what\n", 3, "start", "soon", "not a time"),
    ("a.csv", b"start,end,speaker,text\n1,2,Anna,hi\n", 2, "speaker", "Anna", "--speaker 'Anna=therapist'"),
    ("a.csv", b"start,end,speaker,text\n1,2,T,\n", 2, "text", "", "no words"),
    ("a.csv", b"start,end,speaker,text\n1,2,T,ok\n,,P,untimed\n", 3, "start", "", "give every turn a start"),
    ("a.csv", b"turn,speaker,text\n1,T,ok\n3,P,skipped\n", 3, "turn", "3", "expected 2"),
    ("a.csv", b"when,who,what\n1,T,ok\n", 1, None, "when,who,what", "header must be"),
    ("a.csv", b"start,end,speaker,text\n1,2,T\n", 2, None, "1,2,T", "3 fields"),
    ("a.csv", b"turn,speaker,text\n1,T,caf\xe9\n", 2, "byte 8", "e9", "not UTF-8"),
    ("a.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nT: ok\n\n00:00:xx.000 --> 00:00:05.000\nP: hey\n",
     6, "start", "00:00:xx.000", "not a WebVTT cue timing"),
    ("a.vtt", b"WEBVTT\n\n00:00:05.000 --> 00:00:04.000\nT: ok\n", 3, "end", "00:00:04.000", "ends before"),
    ("a.vtt", b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nhello with no speaker\n", 3, "speaker", "",
     "no speaker"),
    ("a.vtt", b"Hello\n\n00:00:01.000 --> 00:00:02.000\nT: ok\n", 1, None, "Hello", "not a WebVTT file"),
    ("a.srt", b"1\n00:00:01,000 --> 00:00:02,000\nT: ok\n\n2\n00:00:0x,000 --> 00:00:02,000\nP: no\n", 5, None,
     "2", "not a SubRip cue"),
])
def test_bad_files_name_line_column_and_value(name, data, line, column, value, words):
    err = _error(data, name)
    first = err.problems[0]
    assert (first.file, first.row, first.column, first.value) == (name, line, column, value)
    assert words in first.message or words in str(first)
    assert f"line {line}" in str(err)


@pytest.mark.parametrize(("data", "name", "words"), [
    (b"", "a.vtt", "the file is empty"), (b"  \n\n", "a.csv", "the file is empty"),
    (b"\xef\xbb\xbf", "a.srt", "the file is empty"), (b"WEBVTT\n\n", "a.vtt", "no turns"),
    (b"turn,speaker,text\n", "a.csv", "no turns"), (b"hello", "a.txt", "not a transcript format"),
    (b"x" * (MAX_BYTES + 1), "a.vtt", "larger than"),
])
def test_empty_huge_and_unknown_files(data, name, words):
    assert words in str(_error(data, name))


def test_too_many_turns():
    data = b"turn,speaker,text\n" + b"".join(b"%d,T,w\n" % i for i in range(1, MAX_TURNS + 2))
    assert f"more than {MAX_TURNS} turns" in str(_error(data, "a.csv"))


def test_every_problem_is_listed_in_one_pass():
    err = _error(b"start,end,speaker,text\n1,0,T,a\n2,3,Bob,b\nx,4,P,c\n", "a.csv")
    assert [(p.row, p.column) for p in err.problems] == [(2, "end"), (3, "speaker"), (4, "start")]
    assert "and 2 more problems" in str(err)


def test_a_mapping_to_something_else_is_refused():
    assert "therapist, patient or other" in str(_error(CSV_UNTIMED, "a.csv", {"Anna": "mother"}))


def test_an_unknown_label_is_reported_once_where_it_first_appears():
    err = _error(b"turn,speaker,text\n1,Bob,a\n2,T,b\n3,bob,c\n4,Eve,d\n", "a.csv")
    assert [(p.row, p.value) for p in err.problems] == [(2, "Bob"), (5, "Eve")]


def test_what_recording_tools_write_bom_crlf_notes_settings_tags_and_dashes():
    vtt = (b"\xef\xbb\xbfWEBVTT\r\n\r\nNOTE exported by a tool\r\n\r\n00:00:01.000 --> 00:00:04.500 align:start "
           b"position:10%\r\n<v Dr Lee>Hello <i>there</i></v>\r\n\r\n00:00:05.000 --> 00:00:06.000\r\n- T: and you?\r\n")
    assert [(t.label, t.speaker, t.text) for t in parse(vtt, "a.vtt", {"Dr Lee": "therapist"})] == [
        ("Dr Lee", "therapist", "Hello there"), ("T", "therapist", "and you?")]
    srt = (b"\xef\xbb\xbf1\r\n00:00:01,000 --> 00:00:02,000\r\nP: hi <i>there</i>\r\n\r\n2\r\n"
           b"00:00:03,000 --> 00:00:04,000\r\n<b>Therapist:</b> ok\r\n")
    assert [(t.label, t.text) for t in parse(srt, "a.srt")] == [("P", "hi there"), ("Therapist", "ok")]
    assert [t.speaker for t in parse(b"Start;End;Speaker;Text\r\n1;2;T;a\r\n3;4;P;b\r\n", "a.csv")] == [
        "therapist", "patient"]
