"""Dyad and session charts render offline (vl-convert), use the palette and highlight the right sessions."""

from __future__ import annotations

import json

import altair as alt
import duckdb
import pytest

from rrrs_core import episodes
from rrrs_core.charts import dyad as dc
from rrrs_core.charts import render
from rrrs_core.charts import session as sc
from rrrs_core.palette import FAMILY_COLOURS, GLOBAL_COLOURS, HIGHLIGHT, LIGHT
from rrrs_core.queries import dyad as dq
from rrrs_core.queries import session as sq
from rrrs_core.scope import CLINIC

PNG = b"\x89PNG\r\n\x1a\n"


def spec(chart: alt.TopLevelMixin) -> str:
    return json.dumps(chart.to_dict())


def datasets(chart: alt.TopLevelMixin) -> list[list[dict]]:
    return list(chart.to_dict()["datasets"].values())


def band_sessions(layers: list[alt.Chart]) -> list[int]:
    return [row["session_number"] for chart in layers for d in datasets(chart) for row in d if "lo" in row]


@pytest.mark.parametrize("dyad_id", ["D1", "D3", "D4"])
def test_dyad_charts_render(clinic_con: duckdb.DuckDBPyConnection, dyad_id: str) -> None:
    traj = dq.trajectory(clinic_con, CLINIC, dyad_id, 4)
    strip = dq.segment_strip(clinic_con, CLINIC, dyad_id)
    for chart in (dc.rupture_share_chart(traj, 4), dc.ratings_chart(traj, 4),
                  dc.segment_strip_chart(strip, traj, 4), dc.segment_strip_chart(strip, traj, 4, selectable=True)):
        assert render.to_png(chart, scale=1).startswith(PNG)


def test_session_3_highlighted_on_every_dyad_chart(clinic_con: duckdb.DuckDBPyConnection) -> None:
    traj = dq.trajectory(clinic_con, CLINIC, "D1", 4)
    strip = dq.segment_strip(clinic_con, CLINIC, "D1")
    for chart in (dc.rupture_share_chart(traj, 4), dc.ratings_chart(traj, 4),
                  dc.segment_strip_chart(strip, traj, 4)):
        assert HIGHLIGHT in spec(chart)
    assert band_sessions(dc.highlight_band(traj, 4)) == [3]
    frame_rows = [r for d in datasets(dc.segment_strip_chart(strip, traj, 4)) for r in d if "end" in r]
    assert [r["row"] for r in frame_rows] == ["Session 3 - TC 5"] and frame_rows[0]["end"] == 50
    assert "Session 2 - pending" in spec(dc.segment_strip_chart(
        dq.segment_strip(clinic_con, CLINIC, "D3"), dq.trajectory(clinic_con, CLINIC, "D3"), 4))


def test_no_empty_layers_when_nothing_is_highlighted_or_pending(clinic_con: duckdb.DuckDBPyConnection) -> None:
    """A dyad with no session at the threshold and none pending gets no band, frame or "pending" layer (each an
    empty layer the browser would still compile, four times over in the ratings panels); one with them does."""
    def layers(chart: alt.TopLevelMixin) -> int:
        d = chart.to_dict()
        return len(d.get("spec", d)["layer"])

    quiet = dq.trajectory(clinic_con, CLINIC, "D1", 5).assign(high_contribution=False, ratings_pending=False)
    busy = dq.trajectory(clinic_con, CLINIC, "D3", 4)
    assert busy.ratings_pending.any()
    strip = dq.segment_strip(clinic_con, CLINIC, "D1")
    assert dc.highlight_band(quiet, 5) == []
    assert layers(dc.rupture_share_chart(quiet, 5)) == 1 and HIGHLIGHT not in spec(dc.rupture_share_chart(quiet, 5))
    assert layers(dc.ratings_chart(quiet, 5)) == 3 and '"pending"' not in spec(dc.ratings_chart(quiet, 5))
    assert layers(dc.segment_strip_chart(strip, quiet, 5)) == 1
    traj = dq.trajectory(clinic_con, CLINIC, "D1", 4)
    assert layers(dc.rupture_share_chart(traj, 4)) == 2 and layers(dc.segment_strip_chart(strip, traj, 4)) == 2
    assert layers(dc.ratings_chart(traj, 4)) == 4 and layers(dc.ratings_chart(busy, 4)) == 4
    assert render.to_png(dc.ratings_chart(quiet, 5), scale=1).startswith(PNG)


def test_threshold_moves_the_highlight(clinic_con: duckdb.DuckDBPyConnection) -> None:
    traj = dq.trajectory(clinic_con, CLINIC, "D1", 3)
    assert band_sessions(dc.highlight_band(traj, 3)) == [2, 3]


def test_family_colours_and_check_minus_tint(clinic_con: duckdb.DuckDBPyConnection) -> None:
    traj = dq.trajectory(clinic_con, CLINIC, "D1")
    s = spec(dc.segment_strip_chart(dq.segment_strip(clinic_con, CLINIC, "D1"), traj))
    for fam, colour in FAMILY_COLOURS.items():
        assert colour in s and LIGHT[fam] in s
    share = spec(dc.rupture_share_chart(traj))
    assert FAMILY_COLOURS["withdrawal"] in share and FAMILY_COLOURS["confrontation"] in share


def test_selection_is_optional(clinic_con: duckdb.DuckDBPyConnection) -> None:
    traj = dq.trajectory(clinic_con, CLINIC, "D1")
    strip = dq.segment_strip(clinic_con, CLINIC, "D1")
    assert '"pick"' not in spec(dc.segment_strip_chart(strip, traj))
    assert '"pick"' in spec(dc.segment_strip_chart(strip, traj, selectable=True))


def test_pending_marked_in_ratings_chart(clinic_con: duckdb.DuckDBPyConnection) -> None:
    s = spec(dc.ratings_chart(dq.trajectory(clinic_con, CLINIC, "D3")))
    assert '"pending"' in s and "datum.ratings_pending" in s


@pytest.mark.parametrize(("dyad_id", "session"), [("D1", 3), ("D2", 1), ("D3", 2), ("D4", 1)])
def test_timeline_renders(clinic_con: duckdb.DuckDBPyConnection, dyad_id: str, session: int) -> None:
    marks = sq.marks(clinic_con, CLINIC, dyad_id, session, "C1")
    eps, _ = episodes.session_episodes(clinic_con, CLINIC, dyad_id, session, "C1")
    head = sq.session_header(clinic_con, CLINIC, dyad_id, session)
    chart = sc.timeline_chart(marks, head["n_segments"], head["segment_minutes"], eps)
    assert render.to_png(chart, scale=1).startswith(PNG)
    assert render.to_png(sc.timeline_chart(marks, head["n_segments"]), scale=1).startswith(PNG)


def test_timeline_check_minus_differs_and_definitions_on_hover(clinic_con: duckdb.DuckDBPyConnection) -> None:
    marks = sq.marks(clinic_con, CLINIC, "D1", 3, "C1")
    chart = sc.timeline_chart(marks, 10, 5)
    s = spec(chart)
    assert sc.mark_kind("resolution", "check_minus") in s and LIGHT["resolution"] in s
    assert '"strokeDash"' in s
    rows = [r for d in datasets(chart) for r in d if "definition" in r]
    assert {r["clarity"] for r in rows} == {"check", "check_minus"}
    assert any(r["check_minus_guidance"] for r in rows)
    svg = render.to_svg(chart)
    assert 'stroke-dasharray="3,2"' in svg                   # the check-minus outline really is dashed


def test_timeline_episode_row(clinic_con: duckdb.DuckDBPyConnection) -> None:
    eps, _ = episodes.session_episodes(clinic_con, CLINIC, "D1", 3, "C1")
    chart = sc.timeline_chart(sq.marks(clinic_con, CLINIC, "D1", 3, "C1"), 10, 5, eps)
    rows = [r for d in datasets(chart) for r in d if "status" in r]
    assert [(r["start"], r["rupture_end"], r["end"], r["status"]) for r in rows] == [
        (0, 15, 25, "unaddressed"), (25, 35, 45, "unaddressed")]


def test_comparison_chart(clinic_con: duckdb.DuckDBPyConnection) -> None:
    a = sq.marks(clinic_con, CLINIC, "D1", 3, "C1")
    b = sq.marks(clinic_con, CLINIC, "D1", 3, "C2")
    chart = sc.comparison_chart(a, b, 10, 5)
    assert render.to_png(chart, scale=1).startswith(PNG)
    y = chart.to_dict()["layer"][1]["encoding"]["y"]["scale"]["domain"]
    assert y[:2] == ["Complaint/concern about the therapist - C1", "Complaint/concern about the therapist - C2"]


def test_report_strip_drawing_matches_the_strip_chart(clinic_con: duckdb.DuckDBPyConnection) -> None:
    """The PDF draws the segment strip natively; it must say what the app's strip chart says."""
    from reportlab.lib import colors

    from rrrs_core.reports.strip import segment_strip

    traj = dq.trajectory(clinic_con, CLINIC, "D1", 4)
    strip = dq.segment_strip(clinic_con, CLINIC, "D1")
    sketch = segment_strip(strip, traj, 4)
    assert [t for t in sketch.texts() if t.startswith("Session ")] == [
        f"Session {n}" + (" - TC 5" if n == 3 else "") for n in traj.session_number]
    frames = [b for b in sketch.boxes() if b.fill is None]
    assert len(frames) == 1 and frames[0].stroke == colors.HexColor(HIGHLIGHT)
    fills = {b.fill.hexval() for b in sketch.boxes() if b.fill is not None}
    scale = dc.kind_scale().to_dict()
    colour = dict(zip(scale["domain"], scale["range"], strict=True))
    used = {colour[dc.strip_kind(f, c)] for f, c in zip(strip.family, strip.clarity, strict=True)}
    assert {colors.HexColor(c).hexval() for c in used} <= fills
    assert colors.HexColor(FAMILY_COLOURS["confrontation"]).hexval() in fills
    d3 = segment_strip(dq.segment_strip(clinic_con, CLINIC, "D3"), dq.trajectory(clinic_con, CLINIC, "D3"), 4)
    assert "Session 2 - pending" in d3.texts()


def test_house_style_is_the_same_however_it_is_applied() -> None:
    """`configure` and `house_config` (one copy of the chart) give the config of the chained configure_* calls."""
    import pandas as pd

    from rrrs_core.charts.theme import configure, house_config

    base = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    chained = (base.configure_axis(labelFontSize=11, titleFontSize=12, gridColor="#e6e6e6")
               .configure_legend(labelFontSize=11, titleFontSize=12, orient="bottom")
               .configure_view(stroke=None).configure_title(fontSize=14, anchor="start")).to_dict()
    assert configure(base).to_dict() == chained
    assert alt.layer(base, config=house_config()).to_dict()["config"] == chained["config"]
    assert configure(base.properties(config=alt.Config(background="#fff"))).to_dict()["config"] == {
        **chained["config"], "background": "#fff"}


def test_ratings_chart_has_a_titled_panel_per_rating_and_the_threshold_on_contribution_only(
        clinic_con: duckdb.DuckDBPyConnection) -> None:
    from rrrs_core import codebook as cb

    d = dc.ratings_chart(dq.trajectory(clinic_con, CLINIC, "D1", 4), 4).to_dict()
    labels = [cb.DEFAULT.global_item(k).label for k in cb.DEFAULT.global_keys]
    rows = [r for ds in d["datasets"].values() for r in ds]
    assert d["facet"]["sort"] == labels and {r["item"] for r in rows} == set(labels)
    assert {r["hint"] for r in rows} == set(dc.SCALE_HINTS.values())
    assert {r["session_number"] for r in rows if r["high_contribution"]} == {3}
    rule = next(layer for layer in d["spec"]["layer"] if layer["mark"]["type"] == "rule")
    assert "therapist_contribution" in json.dumps(rule["transform"]) and rule["encoding"]["y"]["datum"] == 4
    colours = next(layer for layer in d["spec"]["layer"] if layer["mark"]["type"] == "line")["encoding"]["color"]
    assert colours["scale"]["range"] == [GLOBAL_COLOURS[k] for k in cb.DEFAULT.global_keys]
