"""The self-reports export: one row per session, respondent, instrument and scale, with the alerts that fired.

Columns `dyad_id, session_number, respondent, instrument, scale, value, alert`: `scale` is `total` or a
subscale's key in lower case (`task`, `bond`, `goal`; the rupture items' `rupture`, `tension`, `resolution`);
`alert` is empty or the names of the rules carried by that scale at that session joined by `;` (such as
`below_cutoff;drop`). Scoped like every export of identified data, and made safe to open in a spreadsheet
(`export.neutralise_formulas`).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from rrrs_core import export
from rrrs_core.scope import CLINIC, Scope

COLUMNS = ["dyad_id", "session_number", "respondent", "instrument", "scale", "value", "alert"]


def frame(con: duckdb.DuckDBPyConnection, scope: Scope = CLINIC) -> pd.DataFrame:
    """Every scored scale of the dyads in scope (COLUMNS), by dyad, session, respondent, instrument, scale
    (`total` first)."""
    where, params = scope.sql("d.therapist_id")
    return con.execute(f"""
        WITH a AS (SELECT dyad_id, session_number, respondent, instrument, scale,
                          string_agg(rule, ';' ORDER BY rule) AS alert
                   FROM v_selfreport_alert GROUP BY ALL)
        SELECT s.dyad_id, s.session_number, s.respondent, s.instrument, s.scale, s.value,
            coalesce(a.alert, '') AS alert
        FROM v_selfreport_scale s JOIN dyad d ON d.dyad_id = s.dyad_id AND {where}
        LEFT JOIN a ON a.dyad_id = s.dyad_id AND a.session_number = s.session_number
            AND a.respondent = s.respondent AND a.instrument = s.instrument AND a.scale = s.scale
        ORDER BY s.dyad_id, s.session_number, s.respondent, s.instrument, s.scale <> 'total', s.scale""",
                       params).df()[COLUMNS]


def to_csv(rows: pd.DataFrame) -> bytes:
    """The CSV bytes, with formula-leading text neutralised like every other export."""
    return export.to_csv(rows)
