"""Session transcripts and recordings (issue #19): read a transcript file, store it scoped and audited, read
it back by minutes or segment, search a dyad's, delete it; reference a recording under $RRRS_MEDIA_ROOT.

    turns = transcripts.parse(data, "s3.vtt", {"Dr Lee": "therapist"})
    transcripts.attach(con, who, "D1", 3, turns, "s3.vtt")
    transcripts.segment_turns(con, who, "D1", 3, segment=2)

Modules: `model` (Turn, times, speakers), `formats` (parse), `rules` (who may; audit), `stored` (the store),
`recordings`, `command` (the CLI). The names below load on first use, so that the CLI's parser (which imports
`command`) pulls in no DuckDB or pandas (tests/test_cli_start.py).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_WHERE = {
    "TranscriptError": "rrrs_core.errors",
    "FORMATS": "rrrs_core.transcripts.formats", "parse": "rrrs_core.transcripts.formats",
    "SPEAKERS": "rrrs_core.transcripts.model", "Turn": "rrrs_core.transcripts.model",
    **dict.fromkeys(("has_recording", "log_play", "media_root", "recording_path", "set_recording"),
                    "rrrs_core.transcripts.recordings"),
    **dict.fromkeys(("attach", "delete", "export_csv", "has_transcript", "info", "search", "segment_turns",
                     "to_turns", "turns"), "rrrs_core.transcripts.stored"),
}
__all__ = ["FORMATS", "SPEAKERS", "TranscriptError", "Turn", "attach", "delete", "export_csv", "has_recording",
           "has_transcript", "info", "log_play", "media_root", "parse", "recording_path", "search",
           "segment_turns", "set_recording", "to_turns", "turns"]

if TYPE_CHECKING:
    from rrrs_core.errors import TranscriptError
    from rrrs_core.transcripts.formats import FORMATS, parse
    from rrrs_core.transcripts.model import SPEAKERS, Turn
    from rrrs_core.transcripts.recordings import (
        has_recording,
        log_play,
        media_root,
        recording_path,
        set_recording,
    )
    from rrrs_core.transcripts.stored import (
        attach,
        delete,
        export_csv,
        has_transcript,
        info,
        search,
        segment_turns,
        to_turns,
        turns,
    )


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module 'rrrs_core.transcripts' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
