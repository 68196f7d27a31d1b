"""New 3RS tables for the multi-process tests: tests/data/tables_ok (2 dyads, 3 sessions, 4 codings) under ids of
their own (dyads, therapists, supervisor, patients), so an import of them creates every kind of row."""

from __future__ import annotations

import pandas as pd

from tests.tables import read_ok


def renamed(tag: str) -> dict[str, pd.DataFrame]:
    """Dyads `<tag>-1`, `<tag>-2` of therapists `<tag>-T1`, `<tag>-T2`, supervised by `<tag>-S1`."""
    frames = read_ok()
    for frame in frames.values():
        frame["dyad_id"] = frame.dyad_id.map({"D1": f"{tag}-1", "D2": f"{tag}-2"})
    sessions = frames["sessions"]
    sessions["therapist_id"] = sessions.therapist_id.map({"T1": f"{tag}-T1", "T2": f"{tag}-T2"})
    sessions["supervisor_id"] = sessions.supervisor_id.replace({"S1": f"{tag}-S1"})
    sessions["patient_id"] = sessions.patient_id + f"-{tag}"
    return frames
