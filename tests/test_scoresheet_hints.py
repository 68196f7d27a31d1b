"""The scoresheet's hints: what to fill in next and what the first save will create."""

from __future__ import annotations

from rrrs_core.coding_edit import CodingDraft
from rrrs_ui import scoresheet_hints as hints


def test_new_coding_hint_says_what_to_do_and_what_the_first_save_creates() -> None:
    draft = CodingDraft("D9", 1, "C7", therapist_id="T9", n_segments=12, segment_minutes=5)
    text = hints.new_coding(draft, {})
    assert "coder C7 has not coded this session yet" in text
    assert "✓** meets criteria" in text and "✓-** unclear" in text
    assert "**Save draft**" in text and "**Save final**" in text and "never reach the dashboards" in text
    assert "creates dyad D9 (therapist T9) and session 1 (12 segments of 5 min)" in text
    stored = {"therapist_id": "T9", "n_segments": 12}
    assert "creates" not in hints.new_coding(draft, stored)
    assert "creates session 1" in hints.new_coding(draft, {"therapist_id": "T9"})


def test_coders_are_not_told_to_create() -> None:
    assert hints.NEW not in hints.start(may_create=False) + hints.session("D1", False) + hints.coder(False)
    assert hints.NEW in hints.start(may_create=True) and hints.NEW in hints.session("D1", True)
