"""3RS code suggestions (issue #19): a model trained only on the manual's definitions and definitional
examples suggests, for each transcript turn, up to three codes a trained coder may accept or reject.

    frame = suggest(turns)  # turn, speaker, code, family, score
    record_decision(con, who, "D1", 3, segment=2, turn=14, code="denial", accepted=True)
    acceptance(con, who)    # accepted / rejected per code, for the Reliability page

Modules: `manual_data` (the dataset and its extractor), `minilm` (numpy sentence embeddings), `models`,
`evaluate` (`make eval-suggest`), `engine` (suggest), `decisions` (the coder's accept/reject record),
`command` (`rrrs suggest`). Names load on first use so the CLI parser stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_WHERE = {
    "suggest": "rrrs_core.suggest.engine", "COLUMNS": "rrrs_core.suggest.engine",
    "record_decision": "rrrs_core.suggest.decisions", "acceptance": "rrrs_core.suggest.decisions",
    "FIGURES": "rrrs_core.suggest.figures",
}
__all__ = ["COLUMNS", "FIGURES", "acceptance", "record_decision", "suggest"]

if TYPE_CHECKING:
    from rrrs_core.suggest.decisions import acceptance, record_decision
    from rrrs_core.suggest.engine import COLUMNS, suggest
    from rrrs_core.suggest.figures import FIGURES


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module 'rrrs_core.suggest' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
