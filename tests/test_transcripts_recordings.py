"""Recordings: a path under $RRRS_MEDIA_ROOT, never the file; '..', absolute paths and links that lead outside
are refused, on attach and again on every read; each play is audited."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rrrs_core import audit, store
from rrrs_core.access import Principal
from rrrs_core.errors import NotFoundError, PermissionDeniedError, RrrsError
from rrrs_core.transcripts import has_recording, log_play, recording_path, set_recording

pytestmark = pytest.mark.both_backends

ADMIN = Principal("admin@clinic", "admin")
THERAPIST = Principal("t1@clinic", "therapist", therapist_id="T1")


@pytest.fixture
def media(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "media"
    (root / "d1").mkdir(parents=True)
    (root / "d1" / "s3.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    (tmp_path / "outside.mp4").write_bytes(b"secret video of another clinic")
    monkeypatch.setenv("RRRS_MEDIA_ROOT", str(root))
    return root


def test_a_path_under_the_media_root_is_stored_relative(clinic_con, media):
    assert set_recording(clinic_con, ADMIN, "D1", 3, "d1/s3.mp4") == "d1/s3.mp4"
    assert set_recording(clinic_con, ADMIN, "D1", 3, media / "d1" / "s3.mp4") == "d1/s3.mp4"  # absolute inside
    assert store.scalar(clinic_con, "SELECT count(*) FROM recording") == 1  # replaced, not added
    assert store.scalar(clinic_con, "SELECT path FROM recording") == "d1/s3.mp4"  # the path only, no bytes
    assert recording_path(clinic_con, THERAPIST, "D1", 3) == (media / "d1" / "s3.mp4").resolve()
    assert has_recording(clinic_con, "D1", 3) and recording_path(clinic_con, ADMIN, "D1", 2) is None


@pytest.mark.parametrize("given", ["../outside.mp4", "d1/../../outside.mp4", "{tmp}/outside.mp4",
                                   "d1/link.mp4", "/etc/passwd"])
def test_paths_leading_outside_are_refused(clinic_con, media, tmp_path, given):
    os.symlink(tmp_path / "outside.mp4", media / "d1" / "link.mp4")
    with pytest.raises(RrrsError, match="outside the media folder"):
        set_recording(clinic_con, ADMIN, "D1", 3, given.format(tmp=tmp_path))
    assert store.scalar(clinic_con, "SELECT count(*) FROM recording") == 0


def test_a_link_swapped_in_after_attaching_is_refused_on_read(clinic_con, media, tmp_path):
    set_recording(clinic_con, ADMIN, "D1", 3, "d1/s3.mp4")
    (media / "d1" / "s3.mp4").unlink()
    os.symlink(tmp_path / "outside.mp4", media / "d1" / "s3.mp4")
    with pytest.raises(RrrsError, match="outside the media folder"):
        recording_path(clinic_con, ADMIN, "D1", 3)


def test_a_link_inside_the_root_is_stored_as_its_target(clinic_con, media):
    os.symlink(media / "d1" / "s3.mp4", media / "alias.mp4")
    assert set_recording(clinic_con, ADMIN, "D1", 3, "alias.mp4") == "d1/s3.mp4"


@pytest.mark.parametrize(("given", "words"), [("d1/none.mp4", "No recording file"), ("d1", "No recording file"),
                                              ("notes.txt", "not a recording")])
def test_missing_and_unplayable_files(clinic_con, media, given, words):
    (media / "notes.txt").write_text("x")
    with pytest.raises(RrrsError, match=words):
        set_recording(clinic_con, ADMIN, "D1", 3, given)


def test_without_a_media_root_recordings_are_refused(clinic_con, media, monkeypatch):
    monkeypatch.delenv("RRRS_MEDIA_ROOT")
    with pytest.raises(RrrsError, match="set \\$RRRS_MEDIA_ROOT"):
        set_recording(clinic_con, ADMIN, "D1", 3, "d1/s3.mp4")


def test_moving_the_media_root_keeps_the_reference(clinic_con, media, tmp_path, monkeypatch):
    set_recording(clinic_con, ADMIN, "D1", 3, "d1/s3.mp4")
    shutil.move(media, tmp_path / "moved")
    monkeypatch.setenv("RRRS_MEDIA_ROOT", str(tmp_path / "moved"))
    assert recording_path(clinic_con, ADMIN, "D1", 3) == (tmp_path / "moved" / "d1" / "s3.mp4").resolve()


def test_plays_are_audited_and_scoped(clinic_con, media):
    set_recording(clinic_con, ADMIN, "D1", 3, "d1/s3.mp4")
    log_play(clinic_con, THERAPIST, "D1", 3, 605.2)
    row = audit.listing(clinic_con).iloc[0]
    assert (row.actor, row.action, row.target, row.detail) == ("t1@clinic", "play recording", "D1/3", "from 10:05")
    with pytest.raises(NotFoundError):
        log_play(clinic_con, Principal("t2@clinic", "therapist", therapist_id="T2"), "D1", 3, 0)
    with pytest.raises(NotFoundError):
        recording_path(clinic_con, Principal("t2@clinic", "therapist", therapist_id="T2"), "D1", 3)
    with pytest.raises(PermissionDeniedError, match="QI role"):
        recording_path(clinic_con, Principal("qi@clinic", "qi"), "D1", 3)
    with pytest.raises(PermissionDeniedError):
        set_recording(clinic_con, Principal("c1", "coder", coder_id="C1"), "D1", 3, "d1/s3.mp4")
