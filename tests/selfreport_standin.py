"""Stand-in for sr-core's migration 10 and self-report views, written from its contract, until that branch is
merged: the `selfreport` table and `v_selfreport_scale` / `v_selfreport_alert` (SRS total and its alerts,
WAI-SR subscale means, the post-session rupture items' unresolved alert). Created only where the real
migration has not made them. Delete this module once `sr-core` is merged."""

from __future__ import annotations

import duckdb

TABLE = """
CREATE TABLE IF NOT EXISTS selfreport (
    dyad_id VARCHAR NOT NULL, session_number INTEGER NOT NULL, respondent VARCHAR NOT NULL,
    instrument VARCHAR NOT NULL, instrument_version VARCHAR NOT NULL, item VARCHAR NOT NULL,
    value DOUBLE NOT NULL, completed_on DATE, batch_id BIGINT, entered_by VARCHAR, entered_at TIMESTAMP
)"""

SCALE = """
CREATE OR REPLACE VIEW v_selfreport_scale AS
WITH s AS (SELECT * FROM selfreport)
SELECT dyad_id, session_number, respondent, instrument, 'total' AS scale, sum(value) AS value,
    count(*) AS n_items, max(completed_on) AS completed_on
FROM s WHERE instrument = 'srs' GROUP BY ALL
UNION ALL
SELECT dyad_id, session_number, respondent, instrument,
    CASE WHEN item IN ('1', '2', '10', '12') THEN 'task' WHEN item IN ('3', '5', '7', '9') THEN 'bond'
         ELSE 'goal' END AS scale, avg(value), count(*), max(completed_on)
FROM s WHERE instrument = 'wai_sr' GROUP BY ALL
UNION ALL
SELECT dyad_id, session_number, respondent, instrument, 'total', avg(value), count(*), max(completed_on)
FROM s WHERE instrument = 'wai_sr' GROUP BY ALL
"""

ALERT = """
CREATE OR REPLACE VIEW v_selfreport_alert AS
WITH srs AS (
    SELECT dyad_id, session_number, respondent, value,
        lag(value) OVER (PARTITION BY dyad_id, respondent ORDER BY session_number) AS prev
    FROM v_selfreport_scale WHERE instrument = 'srs' AND scale = 'total'
),
psq AS (
    SELECT dyad_id, session_number, respondent, instrument,
        max(value) FILTER (WHERE item = 'rupture') AS rupture,
        max(value) FILTER (WHERE item = 'resolution') AS resolution
    FROM selfreport WHERE instrument = 'psq' GROUP BY ALL
)
SELECT dyad_id, session_number, respondent, 'srs' AS instrument, 'below_cutoff' AS rule FROM srs WHERE value < 36
UNION ALL
SELECT dyad_id, session_number, respondent, 'srs', 'drop' FROM srs WHERE prev - value >= 1
UNION ALL
SELECT dyad_id, session_number, respondent, instrument, 'rupture_unresolved' FROM psq
WHERE rupture = 1 AND resolution <= 2
"""


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """The table and views, unless the store already has them (the real migration)."""
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "selfreport" not in have:
        con.execute(TABLE)
    if "v_selfreport_scale" not in have:
        con.execute(SCALE)
    if "v_selfreport_alert" not in have:
        con.execute(ALERT)
