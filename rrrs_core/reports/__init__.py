"""PDF supervision reports (ReportLab platypus): dyad, therapist and clinic reports, and a batch of all.

```python
dyad_report(con, dyad_id, *, generated_by, scope=CLINIC, threshold=4, now=None) -> bytes
therapist_report(con, therapist_id, *, generated_by, scope=CLINIC, threshold=4, now=None) -> bytes
clinic_report(con, *, generated_by, now=None, period="quarter") -> bytes
reliability_report(con, design=ROUTINE, *, generated_by, now=None) -> bytes
report_all(db_path, out_dir, *, generated_by, workers=2, progress=None, threshold=4, now=None) -> list[Path]
```

Unknown or out-of-scope ids raise `rrrs_core.errors.NotFoundError`; the same data and the same `now` give
byte-identical PDFs. The functions load on first use, so `import rrrs_core.reports.commands` (the CLI)
does not pull in ReportLab, Altair and vl-convert.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rrrs_core.reports.batch import report_all
    from rrrs_core.reports.clinic import clinic_report
    from rrrs_core.reports.dyad import dyad_report
    from rrrs_core.reports.reliability import reliability_report
    from rrrs_core.reports.therapist import therapist_report

_WHERE = {"dyad_report": "dyad", "therapist_report": "therapist", "clinic_report": "clinic",
          "report_all": "batch", "reliability_report": "reliability"}
__all__ = ["clinic_report", "dyad_report", "reliability_report", "report_all", "therapist_report"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"rrrs_core.reports.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'rrrs_core.reports' has no attribute {name!r}")
