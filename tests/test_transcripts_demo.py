"""The demo clinic's synthetic transcripts and sample recording: labelled synthetic, following the demo's own
coded marks (not the manual's examples), attached by the demo import, and the codings unchanged."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from rrrs_core import demo, demo_transcripts, store
from rrrs_core.cli import main
from rrrs_core.codebook import DEFAULT
from rrrs_core.transcripts import parse, recording_path, turns
from rrrs_core.transcripts import rules as tx_rules

MANUAL = Path("/work/shared/reference/3rs-manual.txt")
FAMILY = {c.key: c.family for c in DEFAULT.codes}


@pytest.fixture(scope="module")
def tables() -> demo.DemoTables:
    return demo.generate(12, 7)


@pytest.fixture(scope="module")
def written(tables, tmp_path_factory) -> tuple[Path, list[Path], Path | None]:
    out = tmp_path_factory.mktemp("demo-tx")
    files, video = demo_transcripts.write(out, tables.marks, tables.sessions)
    return out, files, video


def test_a_few_sessions_labelled_synthetic_and_readable(written):
    out, files, _ = written
    assert 2 <= len(files) <= demo_transcripts.N_SESSIONS
    assert len({f.stem.split("_")[0] for f in files}) == len(files)  # different dyads
    for path in files:
        text = path.read_text()
        assert text.startswith("WEBVTT - synthetic demo transcript") and "NOTE Synthetic transcript" in text
        turns_ = parse(path.read_bytes(), path.name)
        assert {t.speaker for t in turns_} == {"therapist", "patient"} and turns_[0].start is not None


def test_dialogue_follows_the_demos_coded_marks(tables, written):
    _, files, _ = written
    for path in files:
        dyad, session = path.stem.rsplit("_", 1)
        said = pd.DataFrame([t.__dict__ for t in parse(path.read_bytes(), path.name)])
        said["segment"] = (said.start // 300).astype(int) + 1
        same_segment = said.segment.eq(said.segment.shift())
        assert not (said.speaker.eq(said.speaker.shift()) & same_segment).any(), "a speaker talks twice in a row"
        marks = tables.marks[(tables.marks.dyad_id == dyad) & (tables.marks.session_number == int(session))]
        assert not marks.empty
        for mark in marks.itertuples():
            lines = said[said.segment == mark.segment]
            who = "therapist" if FAMILY[mark.code] == "resolution" else "patient"
            spoken = set(lines[lines.speaker == who].text)
            assert spoken & set(demo_transcripts.SAYS[mark.code]), (path.name, mark.segment, mark.code)


def test_deterministic(tables, written, tmp_path):
    _, files, _ = written
    again, _ = demo_transcripts.write(tmp_path, tables.marks, tables.sessions)
    assert [f.read_bytes() for f in again] == [f.read_bytes() for f in files]


@pytest.mark.skipif(not MANUAL.is_file(), reason="the 3RS manual is not on this machine")
def test_no_line_is_taken_from_the_manual():
    manual = " ".join(MANUAL.read_text(errors="replace").split()).lower()
    lines = [line for says in demo_transcripts.SAYS.values() for line in says if len(line) > 20]
    lines += [line for line in demo_transcripts.PATIENT_TALK + demo_transcripts.THERAPIST_TALK if len(line) > 20]
    assert not [line for line in lines if line.lower() in manual]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="Debian's ffmpeg is not installed")
def test_sample_recording_is_a_small_real_video(written):
    _, files, video = written
    assert video is not None and video.stem == files[0].stem and video.stat().st_size < 2_000_000
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_type",
                            "-of", "csv=p=0", str(video)], capture_output=True, text=True, check=True).stdout
    assert "video" in probe and "audio" in probe
    assert abs(float(probe.strip().splitlines()[-1]) - demo_transcripts.RECORDING_SECONDS) < 2


def test_without_ffmpeg_the_recording_is_skipped_with_a_note(tables, tmp_path, monkeypatch):
    monkeypatch.setattr(demo_transcripts.shutil, "which", lambda _name: None)
    said = demo_transcripts.write_and_say(tmp_path, tables.marks, tables.sessions)
    assert "no sample recording: ffmpeg is not installed" in said and not (tmp_path / "media").exists()


def test_rrrs_demo_then_import_attaches_them_and_codings_stay_the_same(tmp_path, monkeypatch, capsys):
    out, db = tmp_path / "demo", tmp_path / "rrrs.duckdb"
    assert main(["demo", "--out", str(out), "--dyads", "6"]) == 0
    assert "synthetic session transcripts" in capsys.readouterr().out
    plain = tmp_path / "plain"
    demo.write(plain, n_dyads=6)
    for name in ("sessions", "marks", "ratings", "selfreports", "SYNTHETIC"):
        ext = ".txt" if name == "SYNTHETIC" else ".csv"
        assert (out / f"{name}{ext}").read_bytes() == (plain / f"{name}{ext}").read_bytes()
    monkeypatch.setenv("RRRS_MEDIA_ROOT", str(out / "media"))
    assert main(["import", str(out), "--db", str(db)]) == 0
    assert "[synthetic demo data]" in capsys.readouterr().out
    con = store.connect(db)
    try:
        first = sorted((out / "transcripts").glob("*.vtt"))[0].stem
        dyad, session = first.rsplit("_", 1)
        who = tx_rules.cli()
        assert len(turns(con, who, dyad, int(session))) > 20
        if shutil.which("ffmpeg"):
            assert recording_path(con, who, dyad, int(session)) == (out / "media" / f"{first}.mp4").resolve()
        n = store.scalar(con, "SELECT count(*) FROM transcript")
        assert n == len(list((out / "transcripts").glob("*.vtt")))
    finally:
        con.close()
