"""Session self-reports (issue 18): instruments as data, their scoring and alerts in SQL, the entry form.

The API the pages, charts and reports use:
- `catalog(con).current` -> {id: Instrument} (items, scales, rules, `cutoff()`); `.problems`: refused files.
- `scales(con, dyad_id, scope)`, `alerts(con, dyad_id, scope)`, `answers(con, dyad_id, session, scope)`,
  `form_values(...)`, `reported_sessions(con, dyad_id, scope)`, `caseload(con, scope)` / `CASELOAD_SQL`.
- `save_form(con, principal, dyad_id, session_number, respondent, instrument, values, completed_on)`.
- `export_frame(con, scope)` for `rrrs export selfreports`.
"""

from rrrs_core.selfreport.definition import Instrument, Item, Rule, Scale
from rrrs_core.selfreport.entry import SavedForm, may_enter, save_form
from rrrs_core.selfreport.read import (
    CASELOAD_SQL,
    alerts,
    answers,
    caseload,
    form_values,
    reported_sessions,
    scales,
)
from rrrs_core.selfreport.schema import Catalog, catalog

__all__ = ["CASELOAD_SQL", "Catalog", "Instrument", "Item", "Rule", "SavedForm", "Scale", "alerts", "answers",
           "caseload", "catalog", "form_values", "may_enter", "reported_sessions", "save_form", "scales"]
