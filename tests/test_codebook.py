"""The codebook is the single source of truth: exact keys, families, scales and anchors."""

from __future__ import annotations

from rrrs_core import codebook as cb

WITHDRAWAL = ["denial", "minimal_response", "abstract_communication", "avoidant_storytelling", "deferential",
              "content_affect_split", "self_criticism"]
CONFRONTATION = ["complaint_therapist", "reject_intervention", "complaint_activities", "complaint_parameters",
                 "complaint_progress", "defends_self", "control_pressure"]
RESOLUTION = ["clarify_misunderstanding", "change_task", "illustrate_task", "invite_feelings",
              "acknowledge_contribution", "disclose_experience", "link_therapist_pattern",
              "link_other_relationships", "validate_defensive_posture", "redirect_refocus"]


def test_exact_keys_by_family():
    book = cb.CODEBOOK_3RS_2015
    assert [c.key for c in book.family("withdrawal")] == WITHDRAWAL
    assert [c.key for c in book.family("confrontation")] == CONFRONTATION
    assert [c.key for c in book.family("resolution")] == RESOLUTION
    assert len(book.keys) == 24 == len(set(book.keys))


def test_every_code_has_label_definition_and_check_minus_guidance():
    for code in cb.DEFAULT.codes:
        assert code.label and len(code.definition) > 40 and len(code.check_minus) > 20, code.key


def test_metacommunicative_strategies():
    meta = {c.key for c in cb.DEFAULT.codes if c.metacommunicative}
    assert meta == {"invite_feelings", "acknowledge_contribution", "disclose_experience", "link_therapist_pattern",
                    "link_other_relationships"}


def test_global_items_and_scales():
    book = cb.DEFAULT
    assert book.global_keys == ("overall_withdrawal", "overall_confrontation", "overall_resolution",
                                "therapist_contribution")
    assert book.scale_for("denial") is cb.SIGNIFICANCE
    assert book.scale_for("overall_withdrawal") is cb.SIGNIFICANCE
    assert book.scale_for("overall_resolution") is cb.RESOLUTION
    assert book.scale_for("therapist_contribution") is cb.CONTRIBUTION
    for scale in (cb.SIGNIFICANCE, cb.RESOLUTION, cb.CONTRIBUTION):
        assert sorted(scale.anchors) == [1, 2, 3, 4, 5]
    assert "no or only very minor ruptures" in cb.RESOLUTION.anchor(3)
    assert "caused or exacerbated" in cb.CONTRIBUTION.anchor(5)
    assert cb.RESOLUTION.anchor(None) == "Ratings pending"
    assert len(book.rating_items) == 28


def test_lookup_by_stored_id_and_version():
    assert cb.get("3rs", "2015") is cb.CODEBOOK_3RS_2015


def test_scoresheet_signs_map_to_clarity():
    assert cb.CLARITY_ALIASES["✓"] == "check"
    assert cb.CLARITY_ALIASES["✓-"] == cb.CLARITY_ALIASES["✓−"] == "check_minus"
