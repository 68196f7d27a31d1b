"""Long cells on the pages stay readable: flags and markers one label each, episode text wrapped, instead of
cut off at the column's edge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.apptest import caseload_dyads, column_type, headers, open_page


def test_caseload_flags_are_one_label_each(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = open_page(monkeypatch, clinic_db, "caseload")
    table = at.dataframe[0]
    assert headers(table)[:5] == ["Dyad", "Status", "Concern", "Last session", "Concern flags"]
    assert column_type(table, "flag_list") == "multiselect"
    flags = dict(zip(caseload_dyads(table.value), table.value.flag_list, strict=True))
    assert list(flags["D1"]) == ["Unresolved ruptures", "Confrontation rising"]
    assert list(flags["D3"]) == ["Ratings pending"] and list(flags["D2"]) == []


def test_contribution_markers_are_one_label_each(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = open_page(monkeypatch, clinic_db, "contribution")
    table = at.dataframe[0]
    assert headers(table) == ["Severity", "Date", "Dyad", "Session", "Therapist", "Contribution", "Resolution",
                              "vs own mean", "Rupture markers"]
    widths = {c: cfg.get("width") for c, cfg in json.loads(table.proto.columns).items()}
    assert sum(w for c, w in widths.items() if isinstance(w, int)) <= 935  # every column in view at 1400 px
    assert column_type(table, "markers") == "multiselect" and column_type(table, "link") == "link"
    assert list(table.value.markers[0]) == ["Complaint/concern about the therapist ×4",
                                            "Efforts to control/pressure therapist"]
    config = json.loads(table.proto.columns)["markers"]
    options = config["type_config"]["options"]
    assert {o["value"] for o in options} >= set(table.value.markers[0])  # each label has its family's colour


def test_session_episodes_wrap_instead_of_running_off(monkeypatch: pytest.MonkeyPatch, clinic_db: Path) -> None:
    at = open_page(monkeypatch, clinic_db, "session", {"dyad": "D1", "session": "3"})
    episodes = at.dataframe[0]
    assert headers(episodes) == ["#", "Minutes", "Window", "Status", "Rupture markers", "Strategies within window",
                                 "Unclear strategies"]
    assert episodes.proto.row_height > 64  # Streamlit wraps cell text only in rows taller than 4rem
    widths = {c: cfg.get("width") for c, cfg in json.loads(episodes.proto.columns).items()}
    assert sum(w for w in widths.values() if isinstance(w, int)) <= 950  # every column on a laptop screen
