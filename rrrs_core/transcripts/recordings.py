"""Session recordings: a reference to a file under the clinic's media folder, never the file itself.

The media folder is `$RRRS_MEDIA_ROOT`. A path is taken relative to it (or absolute inside it), resolved with
every symlink and `..` followed, and refused unless the real file lies inside the real media folder: a link
planted in the folder cannot make rrrs serve /etc/passwd or another clinic's videos. The check is repeated
on every read, since links and folders can change after the reference was stored. What is stored is the
resolved path relative to the media folder, so the folder can move. Each play is audited.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from rrrs_core.access import Principal
from rrrs_core.errors import RrrsError
from rrrs_core.store import one, writing
from rrrs_core.transcripts import lake, rules

ENV = "RRRS_MEDIA_ROOT"
MEDIA_TYPES = (".mp4", ".webm", ".ogg", ".ogv", ".mp3", ".m4a", ".wav", ".mov")


def media_root() -> Path:
    """The configured media folder, resolved; RrrsError when it is not set or not a folder."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        raise RrrsError(f"Recordings need a media folder: set ${ENV} to the folder that holds the session "
                        "recordings.")
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        raise RrrsError(f"${ENV} is {value}, which is not a folder.")
    return root


def inside(root: Path, path: str | os.PathLike[str]) -> Path:
    """The real file `path` names (relative to `root`, or absolute), refused unless it is a file inside it."""
    given = Path(path).expanduser()
    real = (given if given.is_absolute() else root / given).resolve()
    if not real.is_relative_to(root):
        raise RrrsError(f"The recording {path} is outside the media folder (${ENV}); only files inside it may "
                        "be referenced (links and '..' are followed before this check).")
    if not real.is_file():
        raise RrrsError(f"No recording file {path} in the media folder (${ENV}).")
    if real.suffix.lower() not in MEDIA_TYPES:
        raise RrrsError(f"{path} is not a recording the browser can play ({', '.join(MEDIA_TYPES)}).")
    return real


def set_recording(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, session_number: int,
                  path: str | os.PathLike[str]) -> str:
    """Reference the session's recording (replacing any earlier reference); returns the stored relative path."""
    rules.require_attach(con, who, dyad_id, session_number)
    root = media_root()
    relative = inside(root, path).relative_to(root).as_posix()
    key = [dyad_id, int(session_number)]
    lake.no_inlining(con)
    with writing(con):
        rules.require_attach(con, who, dyad_id, session_number)
        con.execute("DELETE FROM recording WHERE dyad_id = ? AND session_number = ?", key)
        con.execute("INSERT INTO recording VALUES (?, ?, ?, ?, current_localtimestamp())",
                    [*key, relative, who.subject])
    rules.record(con, who, "attach recording", f"{dyad_id}/{session_number}",
                 f"a {Path(relative).suffix or 'media'} file in the media folder")
    return relative


def has_recording(con: duckdb.DuckDBPyConnection, dyad_id: str, session_number: int) -> bool:
    """Whether a recording is referenced for the session (no path, not audited)."""
    return one(con, "SELECT 1 FROM recording WHERE dyad_id = ? AND session_number = ?",
               [dyad_id, int(session_number)]) is not None


def recording_path(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str,
                   session_number: int) -> Path | None:
    """The recording's real path for a principal who may see the session; None when none is referenced.
    Checked again against the media folder (RrrsError when it moved outside or is gone)."""
    rules.require_read(con, who, dyad_id, session_number)
    row = one(con, "SELECT path FROM recording WHERE dyad_id = ? AND session_number = ?",
              [dyad_id, int(session_number)])
    if row is None:
        return None
    return inside(media_root(), str(row[0]))


def log_play(con: duckdb.DuckDBPyConnection, who: Principal, dyad_id: str, session_number: int,
             start: float) -> None:
    """Audit one play of the session's recording from `start` seconds (call it before serving the video)."""
    rules.require_read(con, who, dyad_id, session_number)
    at = max(0.0, float(start))
    rules.record(con, who, "play recording", f"{dyad_id}/{session_number}",
                 f"from {int(at // 60)}:{int(at % 60):02d}")
