"""`suggest(turns)`: the code suggestions a coder is shown for each turn of a transcript.

The default model is trained once per process on the committed manual dataset, and its threshold is
chosen by cross-validation on that data (rrrs_core.suggest.evaluate.choose_threshold), never on clinic
transcripts. Which model is default, and why, is in the README ("Code suggestions"); `RRRS_SUGGEST_METHOD`
(lexical | embedding) overrides it, `RRRS_SUGGEST_MODEL` points the embedding model at other weights.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from rrrs_core.codebook import DEFAULT
from rrrs_core.errors import RrrsError
from rrrs_core.suggest.models import MODELS, SuggestionModel, candidate_codes, training_rows

DEFAULT_METHOD = "embedding"
METHOD_ENV = "RRRS_SUGGEST_METHOD"
COLUMNS = ["turn", "speaker", "code", "family", "score"]
TOP = 3
THRESHOLDS = Path(__file__).with_name("data") / "thresholds.json"


@dataclass(frozen=True)
class Trained:
    model: SuggestionModel
    threshold: float
    method: str


def method() -> str:
    chosen = os.environ.get(METHOD_ENV, DEFAULT_METHOD).strip().lower()
    if chosen not in MODELS:
        raise RrrsError(f"{METHOD_ENV}={chosen!r}: use one of {', '.join(sorted(MODELS))}")
    return chosen


@lru_cache(maxsize=4)
def trained(kind: str | None = None, model_path: str | None = None) -> Trained:
    """The model fitted on the whole manual dataset, with its cross-validated threshold (cached)."""
    from rrrs_core.suggest.evaluate import choose_threshold
    from rrrs_core.suggest.manual_data import load

    kind = kind or method()
    examples = training_rows(load())
    definitions = [e for e in examples if e.kind == "definition"]
    items = [e for e in examples if e.kind != "definition"]
    shared = MODELS[kind]()
    if hasattr(shared, "precompute"):
        shared.precompute([e.text for e in examples])

    def make() -> SuggestionModel:
        m = MODELS[kind]()
        if hasattr(shared, "cache"):
            m.cache = shared.cache
        return m

    stored = thresholds()
    threshold = stored[kind] if kind in stored and not model_path else choose_threshold(make, definitions, items)
    return Trained(make().fit(definitions + items), threshold, kind)


def thresholds() -> dict[str, float]:
    """The thresholds `make eval-suggest` chose by cross-validation on the manual data (saves ~1 min per
    process); a clinic's own weights (RRRS_SUGGEST_MODEL) get theirs recomputed."""
    import json

    path = THRESHOLDS
    return {k: float(v) for k, v in json.loads(path.read_text()).items()} if path.is_file() else {}


def suggest(turns: Sequence, kind: str | None = None) -> pd.DataFrame:
    """Up to 3 suggestions a turn above the model's threshold, best first: patient turns get rupture markers,
    therapist turns resolution strategies, any other speaker nothing. `turns` are transcripts.Turn (or
    anything with turn, speaker, text)."""
    rows: list[tuple[int, str, str, str, float]] = []
    if turns:
        t = trained(kind or method(), os.environ.get("RRRS_SUGGEST_MODEL"))
        for speaker in ("patient", "therapist"):
            mine = [x for x in turns if x.speaker == speaker and str(x.text).strip()]
            if not mine:
                continue
            codes = candidate_codes(speaker)
            scores = t.model.scores([str(x.text) for x in mine], speaker)
            for x, row in zip(mine, scores, strict=True):
                order = sorted(range(len(codes)), key=lambda j: -row[j])[:TOP]
                for j in order:
                    if row[j] >= t.threshold and row[j] > 0:
                        code = DEFAULT.code(codes[j])
                        rows.append((int(x.turn), speaker, code.key, code.family, round(float(row[j]), 3)))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame = frame.sort_values(["turn", "score"], ascending=[True, False], kind="stable").reset_index(drop=True)
    return frame.astype({"turn": "int64", "score": "float64"})
