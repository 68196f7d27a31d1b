"""Readable cells without a page: lists fitted to their column, wrap heights, flag lists, tints."""

from __future__ import annotations

import pandas as pd

from rrrs_core import palette
from rrrs_core.queries.caseload import FLAGS, SELF_REPORT_FLAGS
from rrrs_ui import cells

LONG = ["Complaint/concern about the therapist ×4", "Efforts to control/pressure therapist", "Denial",
        "Self-criticism / hopelessness", "Minimal response ×4", "Complaint/concern about activities ×2",
        "Patient defends self against therapist", "Rejects therapist intervention"]


def test_a_list_that_fits_is_left_whole() -> None:
    assert cells.fit(LONG[:2], cells.MARKERS_PX, 2) == LONG[:2]
    assert cells.fit([], cells.MARKERS_PX, 2) == []


def test_a_list_too_long_ends_in_a_count_of_the_rest_and_fits() -> None:
    shown = cells.fit(LONG, cells.MARKERS_PX, 2)
    assert shown[-1] == f"+{len(LONG) - len(shown) + 1} more" and shown[:-1] == LONG[:len(shown) - 1]
    assert cells._label_lines(shown, cells.MARKERS_PX) <= 2
    assert cells.fit(LONG, 60, 1) == [f"+{len(LONG)} more"]  # nothing fits: only the count


def test_markers_most_marked_first_ties_in_codebook_order() -> None:
    text = pd.Series(["Denial; Minimal response ×3; Deferential and appeasing ×3", "", None])
    assert cells.marker_lists(text).tolist() == [
        ["Minimal response ×3", "Deferential and appeasing ×3", "Denial"], [], []]


def test_row_height_wraps_only_when_needed_and_is_capped() -> None:
    short = pd.DataFrame({"a": ["none", "Denial"]})
    assert cells.row_height(short, {"a": 240}) is None  # one line: Streamlit's default row
    long = pd.DataFrame({"a": ["; ".join(LONG)]})
    assert cells.row_height(long, {"a": 240}) == 140  # capped
    two = pd.DataFrame({"a": ["Complaint/concern about the therapist; Efforts to control/pressure therapist"]})
    assert cells.row_height(two, {"a": 240}) >= cells.WRAP_MIN_PX  # Streamlit wraps only above 64 px
    labels = pd.DataFrame({"a": [LONG[:4]]})
    assert cells.row_height(labels, {"a": cells.MARKERS_PX}) == 2 * cells.LINE_PX["list"] + 10
    assert cells.height(3, None) == "auto" and cells.height(30, 66) == cells.HEADER_PX + 66 * 10 + 3


def test_flag_lists_follow_the_flag_columns() -> None:
    frame = pd.DataFrame({f.key: [True, False] for f in FLAGS})
    frame.loc[0, ["confrontation_rising", "ended_after_rupture"]] = False
    assert cells.flag_lists(frame).tolist() == [
        ["Unresolved ruptures", "Patient-reported rupture unresolved", "+4 more"], []]
    longest = sorted(cells.FLAG_LABELS, key=len)[-2:]
    assert cells._label_lines([*longest, "+9 more"], cells.FLAGS_PX) == 1  # any two flags and a count
    coded = sorted((f.label for f in FLAGS if f.key not in SELF_REPORT_FLAGS), key=len)[-3:]
    assert cells._label_lines(coded, cells.FLAGS_PX) == 1  # three of the coded flags
    all_four = cells.flag_lists(pd.DataFrame({f.key: [True] for f in FLAGS})).iloc[0]
    assert all_four[0] == "Ended after rupture" and all_four[-1].endswith(" more")  # heaviest first, rest counted


def test_tint_adds_an_alpha_channel() -> None:
    assert palette.tint("#7F7F7F", 0.5) == "#7F7F7F80" and palette.tint("#000000", 2) == "#000000FF"
