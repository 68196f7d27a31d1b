"""Coder reliability (issue #16): how far the numbers rrrs shows agree between coders.

- `design`: which codings are compared (a fully crossed set of coders, or routine double-coding).
- `extract`: per-session values and per-segment presence of the compared codings, aggregated in SQL.
- `icc`, `categorical`: the statistics; `bands`: how to read them; `table`: one row per item and statistic.
- `view`: the page's and the PDF's tables; `pairs`: coder pairs, disputed marks and definitions (the
  drill-down); `calibration`: reference codings and the criterion; `drift`: agreement per coder over time.
- `coder_line`: one coder's current reliability, shown beside the figures (dyad and session pages, dyad PDF).
- `command`: `rrrs reliability`.
"""
