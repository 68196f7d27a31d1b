"""Session self-reports (issue 18): instruments as data, their scoring and alerts in SQL, the entry form.

The API the pages, charts and reports use:
- `catalog(con).current` -> {id: Instrument} (items, scales, rules, `cutoff()`); `.problems`: refused files.
- `scales(con, dyad_id, scope)`, `alerts(con, dyad_id, scope)`, `answers(con, dyad_id, session, scope)`,
  `form_values(...)`, `reported_sessions(con, dyad_id, scope)`, `caseload(con, scope)` / `CASELOAD_SQL`.
- `save_form(con, principal, dyad_id, session_number, respondent, instrument, values, completed_on)`.
- `export.frame(con, scope)` for `rrrs export selfreports`.

Names are loaded on first use (PEP 562), so the CLI's parser can import `selfreport.command` without DuckDB
or pandas (`rrrs --help` starts light).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_WHERE = {
    "Instrument": "definition", "Item": "definition", "Rule": "definition", "Scale": "definition",
    "SavedForm": "entry", "may_enter": "entry", "save_form": "entry",
    "CASELOAD_SQL": "read", "alerts": "read", "answers": "read", "caseload": "read", "form_values": "read",
    "reported_sessions": "read", "scales": "read",
    "Catalog": "schema", "catalog": "schema",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'rrrs_core.selfreport' has no attribute {name!r}")
    return getattr(import_module(f"rrrs_core.selfreport.{_WHERE[name]}"), name)
