"""glue.chart: chart datasets go to the browser as compact Arrow with the same values, and the spec cache is
keyed on the frames' content (cheaply) so an equal frame hits it and a changed one does not."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pyarrow as pa

from rrrs_ui import glue

BUILDS: list[int] = []


def build(frame: pd.DataFrame) -> alt.Chart:
    """A chart builder that counts its calls (a cache hit does not call it)."""
    BUILDS.append(len(frame))
    return alt.Chart(frame).mark_point().encode(x="n:Q", y="label:N")


def _rows(data: bytes) -> pd.DataFrame:
    return pa.ipc.open_stream(data).read_all().to_pandas()


def test_compact_keeps_the_values_and_encodes_repeated_text() -> None:
    rows = [{"n": i, "label": "Session 1 - TC 5" if i % 2 else "Session 2", "share": i / 10, "note": f"n{i}",
             "flag": i % 3 == 0, "gap": None if i == 1 else "x"} for i in range(8)]
    table = pa.ipc.open_stream(glue.compact(rows)).read_all()
    assert pa.types.is_dictionary(table.schema.field("label").type)       # 2 distinct in 8 rows
    assert pa.types.is_dictionary(table.schema.field("gap").type)
    assert not pa.types.is_dictionary(table.schema.field("note").type)    # all distinct: plain text
    assert table.schema.field("n").type == pa.int8()
    back = table.to_pandas()
    assert [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in back.astype(object).to_dict("records")] \
        == rows


def test_chart_spec_is_arrow_and_cached_on_frame_content() -> None:
    glue._chart_spec.clear()
    BUILDS.clear()
    frame = pd.DataFrame({"n": [1, 2, 3], "label": ["a", "b", "a"]})
    spec = glue.chart(build, frame)
    (data,) = spec["datasets"].values()
    assert _rows(data).astype(object).to_dict("records") == frame.astype(object).to_dict("records")
    assert glue.chart(build, frame.copy()) == spec and BUILDS == [3]      # an equal frame: cached
    changed = frame.assign(n=[1, 2, 4])
    assert glue.chart(build, changed) != spec and BUILDS == [3, 3]         # a changed value: built anew
