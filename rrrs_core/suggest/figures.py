"""The measured figures of the suggestion models, as `make eval-suggest` wrote them, for the app to show
next to the suggestions (the README carries the same table)."""

from __future__ import annotations

import json
from pathlib import Path

FIGURES_FILE = Path(__file__).with_name("data") / "evaluation.json"


def figures() -> dict[str, dict]:
    return json.loads(FIGURES_FILE.read_text()) if FIGURES_FILE.is_file() else {}


def summary(kind: str) -> str:
    """One sentence for the UI: what the model achieved on held-out manual examples."""
    f = figures().get(kind)
    if not f:
        return "No evaluation figures are stored for this model (run make eval-suggest)."
    return (f"On {f['n_coded']} held-out examples from the 3RS manual, the right code was among the suggestions "
            f"{f['top3_recall']:.0%} of the time (top-3 recall); code-level macro F1 {f['code_f1']:.2f}, "
            f"family-level {f['family_f1']:.2f}; {f['uncoded_flagged']:.0%} of {f['n_uncoded']} uncoded turns "
            "still got a suggestion.")


FIGURES = figures()
