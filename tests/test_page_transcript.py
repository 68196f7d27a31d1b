"""The session page's transcript pane and recording player, and the dyad page's transcript search, in AppTest.

Fixture: the small clinic with a timed transcript of D1 session 3 (two turns in each 5-minute segment, whose
words name their segment) and, where a test asks, a generated video under a media folder.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from rrrs_core import access, store, transcripts
from rrrs_core.errors import RrrsError
from rrrs_ui import demo_view
from tests.apptest import APP, all_text

SESSION = "pages/session.py"
DYAD = "pages/dyad.py"


def vtt(n_segments: int = 10, minutes: int = 5) -> str:
    """Two turns a segment: the patient, then the therapist; segment 2's patient turn says 'pointless'."""
    cues = ["WEBVTT", ""]
    for s in range(1, n_segments + 1):
        base = (s - 1) * minutes * 60
        said = "This is pointless, honestly." if s == 2 else f"Patient words in segment {s}."
        for offset, who, text in ((10, "P", said), (40, "T", f"Therapist words in segment {s}.")):
            a, b = base + offset, base + offset + 20
            cues += [f"00:{a // 60:02d}:{a % 60:02d}.000 --> 00:{b // 60:02d}:{b % 60:02d}.000",
                     f"<v {who}>{text}", ""]
    return "\n".join(cues)


def add_transcript(db: Path, dyad: str = "D1", session: int = 3, text: str | None = None,
                   name: str = "d1s3.vtt") -> None:
    con = store.connect(db)
    try:
        turns = transcripts.parse((text or vtt()).encode(), name)
        transcripts.attach(con, access.DEMO, dyad, session, turns, source=name)
    finally:
        con.close()


def make_video(path: Path, seconds: int = 3000) -> Path:
    """A tiny silent video with a running clock (Debian's ffmpeg), long enough for a 50-minute session."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg not installed (make install-deps / apt-get install ffmpeg)")
    subprocess.run([ffmpeg, "-y", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=0x406080:s=192x108:r=1",
                    "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-crf", "40", "-g", "30",
                    "-pix_fmt", "yuv420p", "-an", str(path)], check=True)
    return path


def add_recording(db: Path, media: Path, dyad: str = "D1", session: int = 3) -> Path:
    media.mkdir(exist_ok=True)
    video = make_video(media / "d1s3.mp4")
    con = store.connect(db)
    try:
        transcripts.set_recording(con, access.DEMO, dyad, session, "d1s3.mp4")
    finally:
        con.close()
    return video


@pytest.fixture
def tx_db(clinic_db: Path) -> Path:
    add_transcript(clinic_db)
    return clinic_db


def run(monkeypatch: pytest.MonkeyPatch, db: Path, page: str, role: str | None = None, **params: str) -> AppTest:
    """The app's first run (as `role` in the demo switcher), then `page` with URL params; no exception."""
    monkeypatch.setenv("RRRS_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    if role:
        at.session_state[demo_view.KEY] = role
    at.run()
    at.switch_page(page)
    at.query_params.update(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def picker(at: AppTest):
    return next(s for s in at.selectbox if s.label == "Minutes shown")


def audit_actions(db: Path) -> list[tuple[str, str]]:
    con = store.connect(db)
    try:
        return [(a, t) for a, t in con.execute("SELECT action, target FROM audit ORDER BY audit_id").fetchall()]
    finally:
        con.close()


# --- the pane -----------------------------------------------------------------------------------------

def test_empty_database_has_no_pane(monkeypatch: pytest.MonkeyPatch,
                                    empty_db: tuple[Path, duckdb.DuckDBPyConnection]) -> None:
    at = run(monkeypatch, empty_db[0], SESSION, dyad="D1", session="3")
    assert "No coded sessions yet" in all_text(at) and "Minutes shown" not in [s.label for s in at.selectbox]


def test_session_without_transcript_has_no_pane(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = run(monkeypatch, clinic_db, SESSION, dyad="D1", session="3")
    assert "Minutes shown" not in [s.label for s in at.selectbox]
    assert "Transcript" not in [h.value for h in at.subheader]
    assert [e.label for e in at.expander if e.label == "Attach a transcript"]     # the admin may attach one


def test_pane_opens_at_the_first_rupture_segment_with_its_marks(monkeypatch: pytest.MonkeyPatch,
                                                                  tx_db: Path) -> None:
    at = run(monkeypatch, tx_db, SESSION, dyad="D1", session="3")
    box = picker(at)
    assert box.value == "s1" and box.options[:2] == ["Episode 1: 0-15 min (unaddressed)",
                                                     "Episode 2: 25-35 min (unaddressed)"]
    body = all_text(at)
    assert "`0:10` **Patient:** Patient words in segment 1." in body
    assert "`0:40` **Therapist:** Therapist words in segment 1." in body
    assert "segment 2." not in body                                               # only segment 1's turns
    assert "**Coded in segment 1**\n\n- Complaint/concern about the therapist (confrontation, check)" in body
    assert ("view transcript", "D1/3") in audit_actions(tx_db)


def test_picking_an_episode_shows_each_segment_with_its_marks(monkeypatch: pytest.MonkeyPatch,
                                                              tx_db: Path) -> None:
    at = run(monkeypatch, tx_db, SESSION, dyad="D1", session="3")
    picker(at).set_value("e2").run()
    body = all_text(at)
    for s in (6, 7):
        assert f"**Segment {s}, {(s - 1) * 5}-{s * 5} min**" in body
        assert f"Patient words in segment {s}." in body
    assert "Patient words in segment 8." not in body
    assert "**Coded in segment 7**\n\n- Efforts to control/pressure therapist (confrontation, check)" in body
    picker(at).set_value("s9").run()
    assert "**Coded in segment 9**\n\nNo codes marked in these minutes." in all_text(at)


def test_a_timeline_click_moves_the_pane(monkeypatch: pytest.MonkeyPatch, tx_db: Path) -> None:
    from rrrs_ui import transcript_pane as tp

    spans = __import__("rrrs_core.queries.transcript", fromlist=["spans"])
    all_spans = [spans.Span("e1", 1, 3, 5, ""), spans.Span("s8", 8, 8, 5, "")]
    assert tp.clicked_span({"selection": {"seg": [{"segment": 8}], "episode": []}}, all_spans) == "s8"
    assert tp.clicked_span({"selection": {"seg": [], "episode": [{"first_segment": 1, "last_segment": 3}]}},
                           all_spans) == "e1"
    assert tp.clicked_span({"selection": {}}, all_spans) is None and tp.clicked_span(None, all_spans) is None


def test_a_search_link_opens_the_segment_of_its_turn(monkeypatch: pytest.MonkeyPatch, tx_db: Path) -> None:
    at = run(monkeypatch, tx_db, SESSION, dyad="D1", session="3", at="310")
    assert picker(at).value == "s2" and "This is pointless, honestly." in all_text(at)


def test_untimed_transcript_is_shown_whole_and_says_why(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    add_transcript(clinic_db, text="turn,speaker,text\n1,T,How was your week?\n2,P,Fine I guess.\n",
                   name="d1s3.csv")
    at = run(monkeypatch, clinic_db, SESSION, dyad="D1", session="3")
    body = all_text(at)
    assert "This transcript has no times, so it cannot be aligned to the segments: all 2 turns" in body
    assert "**Therapist:** How was your week?" in body and "**Patient:** Fine I guess." in body


# --- recording ----------------------------------------------------------------------------------------

def test_player_starts_at_the_picked_minutes_and_each_play_is_audited(
        monkeypatch: pytest.MonkeyPatch, tx_db: Path, tmp_path: Path) -> None:
    media = tmp_path / "media"
    monkeypatch.setenv("RRRS_MEDIA_ROOT", str(media))
    add_recording(tx_db, media)
    at = run(monkeypatch, tx_db, SESSION, dyad="D1", session="3")
    assert not at.get("video")                                                    # nothing plays on opening
    play = next(b for b in at.button if b.label == "Play the recording from 0:00")
    play.click().run()
    videos = at.get("video")
    assert len(videos) == 1 and videos[0].proto.start_time == 0
    picker(at).set_value("e2").run()                                              # a pick plays from there
    assert at.get("video")[0].proto.start_time == 25 * 60
    at.run()                                                                      # a rerun is no new play
    plays = [a for a in audit_actions(tx_db) if a[0] == "play recording"]
    assert plays == [("play recording", "D1/3"), ("play recording", "D1/3")]


def test_missing_media_folder_warns_and_keeps_the_transcript(monkeypatch: pytest.MonkeyPatch, tx_db: Path,
                                                             tmp_path: Path) -> None:
    media = tmp_path / "media"
    monkeypatch.setenv("RRRS_MEDIA_ROOT", str(media))
    add_recording(tx_db, media)
    monkeypatch.delenv("RRRS_MEDIA_ROOT")
    at = run(monkeypatch, tx_db, SESSION, dyad="D1", session="3")
    assert "This session's recording cannot be played" in at.warning[0].value
    assert "Patient words in segment 1." in all_text(at) and not at.get("video")


# --- who sees it ----------------------------------------------------------------------------------------

def test_qi_sees_no_transcript(monkeypatch: pytest.MonkeyPatch, tx_db: Path) -> None:
    """A QI user gets neither page (they are not in its navigation), and the data layer refuses them too."""
    monkeypatch.setenv("RRRS_DB", str(tx_db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[demo_view.KEY] = "qi"
    at.query_params.update({"dyad": "D1", "session": "3"})
    at.run()
    for page in (SESSION, DYAD):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    assert "segment 1." not in all_text(at) and "pointless" not in all_text(at)
    con = store.connect(tx_db)
    try:
        qi = access.demo_as(con, "qi")
        for read in (lambda: transcripts.turns(con, qi, "D1", 3), lambda: transcripts.search(con, qi, "D1", "the")):
            with pytest.raises(RrrsError):
                read()
    finally:
        con.close()


def test_out_of_scope_is_not_found(monkeypatch: pytest.MonkeyPatch, tx_db: Path) -> None:
    add_transcript(tx_db, dyad="D2", session=1, name="d2s1.vtt")
    at = run(monkeypatch, tx_db, SESSION, role="therapist", dyad="D2", session="1")   # T1 treats D1 only
    assert [w.value for w in at.main.warning] == ["Not found or not permitted."]
    assert "segment 1." not in all_text(at)
    at = run(monkeypatch, tx_db, DYAD, role="therapist", dyad="D2")
    assert "Search the transcripts" not in all_text(at)


def test_therapist_reads_and_replaces_own_transcript_but_may_not_delete(monkeypatch: pytest.MonkeyPatch,
                                                                         tx_db: Path) -> None:
    at = run(monkeypatch, tx_db, SESSION, role="therapist", dyad="D1", session="3")
    assert "Patient words in segment 1." in all_text(at)
    labels = [e.label for e in at.expander]
    assert "Replace the transcript" in labels and "Delete the transcript" not in labels


# --- attach and delete ---------------------------------------------------------------------------------

def attach_file(at: AppTest, name: str, data: bytes, speakers: str = "") -> AppTest:
    at.file_uploader[0].set_value((name, data, "text/plain")).run()
    if speakers:
        at.text_input(key="tx_speakers").input(speakers).run()
    next(b for b in at.button if b.label == "Attach").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_demo_mode_proper_offers_no_attaching(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    monkeypatch.delenv("RRRS_FORCE_DEMO", raising=False)  # no sign-in: only the demo's synthetic data comes in
    at = run(monkeypatch, clinic_db, SESSION, dyad="D1", session="3")
    assert "Demo mode (no sign-in) takes only the demo's synthetic data" in " ".join(i.value for i in at.info)
    assert not at.file_uploader and not [b for b in at.button if b.label == "Attach"]


def test_attach_a_transcript_with_a_speaker_mapping(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")  # demo mode proper attaches nothing (test above)
    at = run(monkeypatch, clinic_db, SESSION, dyad="D1", session="3")
    named = vtt().replace("<v P>", "<v Ben>").replace("<v T>", "<v Dr Lee>").encode()
    attach_file(at, "named.vtt", named, "Dr Lee=therapist, Ben=patient")
    body = all_text(at)
    assert "Attached 20 turns from named.vtt, aligned to the segments." in body
    assert "`0:40` **Therapist:** Therapist words in segment 1." in body
    assert not at.file_uploader[0].value                                          # emptied: no double attach


def test_attach_errors_name_file_line_and_value(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    monkeypatch.setenv("RRRS_FORCE_DEMO", "1")  # demo mode proper attaches nothing
    at = run(monkeypatch, clinic_db, SESSION, dyad="D1", session="3")
    bad = b"WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n<v Dr Lee>Hello.\n"
    attach_file(at, "bad.vtt", bad)
    error = at.error[0].value
    assert "The transcript was not attached (nothing was stored)" in error
    assert "bad.vtt, line 3, column 'speaker' (value 'Dr Lee')" in error, error   # the cue's first line
    assert not at.exception and "Traceback" not in all_text(at)
    attach_file(at, "bad.vtt", bad, "Dr Lee=doctor")                              # a bad mapping names itself
    assert "speaker names" in at.error[0].value and "Dr Lee=doctor" in at.error[0].value
    assert not transcripts_stored(clinic_db)


def transcripts_stored(db: Path) -> int:
    con = store.connect(db)
    try:
        return int(con.execute("SELECT count(*) FROM transcript_turn").fetchone()[0])
    finally:
        con.close()


def test_supervisor_may_attach_but_only_an_admin_deletes(monkeypatch: pytest.MonkeyPatch, tx_db: Path) -> None:
    at = run(monkeypatch, tx_db, SESSION, role="supervisor", dyad="D1", session="3")
    labels = [e.label for e in at.expander]
    assert "Replace the transcript" in labels and "Delete the transcript" not in labels


def test_admin_deletes_after_confirming(monkeypatch: pytest.MonkeyPatch, tx_db: Path) -> None:
    at = run(monkeypatch, tx_db, SESSION, dyad="D1", session="3")
    delete = next(b for b in at.button if b.label == "Delete transcript")
    assert delete.disabled                                                        # until confirmed
    at.checkbox(key="tx_delete_sure").check().run()
    next(b for b in at.button if b.label == "Delete transcript").click().run()
    assert "The transcript of session 3 was deleted." in all_text(at)
    assert "Patient words in segment 1." not in all_text(at)
    assert transcripts_stored(tx_db) == 0
    assert ("delete transcript", "D1/3") in audit_actions(tx_db)


# --- dyad search ---------------------------------------------------------------------------------------

def search(at: AppTest, words: str) -> AppTest:
    at.text_input(key="tx_search_words").input(words)
    next(b for b in at.button if b.label == "Search").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_dyad_search_links_to_the_session_at_the_turn(monkeypatch: pytest.MonkeyPatch, tx_db: Path) -> None:
    at = run(monkeypatch, tx_db, DYAD, dyad="D1")
    search(at, "POINTLESS")
    table = next(d.value for d in at.dataframe if "Text" in d.value.columns)
    assert table.Text.tolist() == ["This is pointless, honestly."]
    assert table.Session.tolist() == ["session?dyad=D1&session=3&at=310"]
    assert table.Time.tolist() == ["5:10"] and table.Speaker.tolist() == ["Patient"]
    assert ("search transcripts", "D1") in audit_actions(tx_db)
    search(at, "nowhere said")
    assert "No turn of this dyad's transcripts contains these words." in all_text(at)


def test_dyad_without_transcripts_offers_no_search(monkeypatch: pytest.MonkeyPatch, tx_db: Path) -> None:
    at = run(monkeypatch, tx_db, DYAD, dyad="D2")
    assert "Search the transcripts" not in all_text(at)


def test_session_without_codes_still_shows_its_turns(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    add_transcript(clinic_db, dyad="D4", session=1, name="d4s1.vtt")
    at = run(monkeypatch, clinic_db, SESSION, dyad="D4", session="1")
    body = all_text(at)
    assert "No codes were marked in this session" in body
    assert picker(at).value == "s1"                                               # no rupture: segment 1
    assert "Patient words in segment 1." in body and "No codes marked in these minutes." in body
