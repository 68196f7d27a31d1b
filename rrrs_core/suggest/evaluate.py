"""Held-out evaluation of the suggestion models on the manual's own examples (`make eval-suggest`).

The split: 5-fold cross-validation over example *texts*, stratified by code (each code's texts are
shuffled with seed 19 and dealt to the folds in turn; an utterance the manual files under two codes is
one text, held out together), because most codes have only 2-8 examples. For each fold the model is
trained on the other folds' examples plus all definitions, and its threshold is chosen on those training
items alone (an inner 4-fold split, same seed, the threshold maximising the F1 of top suggestions), so a
held-out item never influences its own threshold. Uncoded turns (therapist prompts in marker examples,
patient turns the manual calls 'not a rupture') are evaluated too: any suggestion on them is a false one.

Figures (all on held-out items, at the model's threshold, at most 3 suggestions a turn):
- code macro F1: top suggestion vs the manual's code, F1 per code averaged over the 24 codes;
- family macro F1: the same on withdrawal / confrontation / resolution;
- top-3 recall: share of coded items whose code is among their suggestions;
- uncoded with a suggestion: share of uncoded turns that got any suggestion (lower is better).
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rrrs_core.codebook import DEFAULT
from rrrs_core.suggest.manual_data import load
from rrrs_core.suggest.models import MODELS, Example, SuggestionModel, candidate_codes, training_rows

SEED = 19
OUTER_FOLDS = 5
INNER_FOLDS = 4
TOP = 3
GRID = np.round(np.arange(0.0, 0.95, 0.01), 2)


def group_key(text: str) -> str:
    return re.sub(r"[^a-z]+", "", text.lower())[:60]


def ranked(scores: np.ndarray, codes: Sequence[str], threshold: float, top: int = TOP) -> list[list[tuple[str, float]]]:
    """Per row: up to `top` (code, score) pairs at or above the threshold, best first."""
    out = []
    for row in scores:
        order = np.argsort(-row, kind="stable")[:top]
        out.append([(codes[j], float(row[j])) for j in order if row[j] >= threshold and row[j] > 0])
    return out


def _score_items(model: SuggestionModel, items: Sequence[Example]) -> list[np.ndarray]:
    out: list[np.ndarray] = [np.zeros(0)] * len(items)
    for speaker in ("patient", "therapist"):
        idx = [i for i, e in enumerate(items) if e.speaker == speaker]
        if idx:
            s = model.scores([items[i].text for i in idx], speaker)
            for k, i in enumerate(idx):
                out[i] = s[k]
    return out


def folds(items: Sequence[Example], k: int) -> dict[str, int]:
    """Text group -> fold: per code, groups shuffled with SEED and dealt round-robin (stratified)."""
    rng = np.random.default_rng(SEED)
    by_code: dict[str, list[str]] = {}
    for e in items:
        key = group_key(e.text)
        if all(key not in g for g in by_code.values()):
            by_code.setdefault(e.code, []).append(key)
    out: dict[str, int] = {}
    turn = 0
    for code in sorted(by_code):
        for key in rng.permutation(sorted(by_code[code])):
            out[str(key)] = turn % k
            turn += 1
    return out


def _tops(items: Sequence[Example], scores: Sequence[np.ndarray]) -> list[list[tuple[str, float]]]:
    return [ranked(s[None, :], candidate_codes(e.speaker), -1.0)[0] for e, s in zip(items, scores, strict=True)]


def _suggestion_f1(items: Sequence[Example], tops: Sequence[list[tuple[str, float]]], threshold: float) -> float:
    hit = made = coded = 0
    for e, top in zip(items, tops, strict=True):
        coded += e.code != "none"
        if top and top[0][1] >= threshold and top[0][1] > 0:
            made += 1
            hit += top[0][0] == e.code
    p = hit / made if made else 0.0
    r = hit / coded if coded else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def _cross_scores(factory, definitions: Sequence[Example], items: Sequence[Example], k: int) -> list[np.ndarray]:
    fold_of = folds(items, k)
    scores: list[np.ndarray] = [np.zeros(0)] * len(items)
    for f in range(k):
        test = [i for i, e in enumerate(items) if fold_of[group_key(e.text)] == f]
        train = [e for i, e in enumerate(items) if fold_of[group_key(e.text)] != f]
        if not test:
            continue
        model = factory().fit(list(definitions) + train)
        for i, s in zip(test, _score_items(model, [items[i] for i in test]), strict=True):
            scores[i] = s
    return scores


def choose_threshold(factory, definitions: Sequence[Example], items: Sequence[Example]) -> float:
    """The threshold maximising the F1 of top suggestions over an inner cross-validation of `items`."""
    tops = _tops(items, _cross_scores(factory, definitions, items, INNER_FOLDS))
    return float(max(GRID, key=lambda t: (_suggestion_f1(items, tops, t), -t)))


@dataclass
class Result:
    name: str
    code_f1: float
    family_f1: float
    top3_recall: float
    uncoded_flagged: float
    n_coded: int
    n_uncoded: int
    seconds: float


def _macro_f1(gold: list[str], pred: list[str], labels: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(gold, pred, labels=list(labels), average="macro", zero_division=0))


def evaluate(kind: str, rows: list[dict[str, str]] | None = None) -> Result:
    started = time.perf_counter()
    examples = training_rows(rows if rows is not None else load())
    definitions = [e for e in examples if e.kind == "definition"]
    items = [e for e in examples if e.kind != "definition"]
    factory = MODELS[kind]
    shared = factory()
    if hasattr(shared, "precompute"):
        shared.precompute([e.text for e in examples])

    def make() -> SuggestionModel:
        m = factory()
        if hasattr(shared, "cache"):
            m.cache = shared.cache
        return m

    gold: list[str] = []
    pred: list[str] = []
    top3 = coded = flagged = uncoded = 0
    fold_of = folds(items, OUTER_FOLDS)
    for f in range(OUTER_FOLDS):
        held = [e for e in items if fold_of[group_key(e.text)] == f]
        train = [e for e in items if fold_of[group_key(e.text)] != f]
        threshold = choose_threshold(make, definitions, train)
        model = make().fit(definitions + train)
        for e, s in zip(held, _score_items(model, held), strict=True):
            got = ranked(s[None, :], candidate_codes(e.speaker), threshold)[0]
            gold.append(e.code)
            pred.append(got[0][0] if got else "none")
            if e.code == "none":
                uncoded += 1
                flagged += bool(got)
            else:
                coded += 1
                top3 += e.code in [c for c, _ in got]
    fam = {c.key: c.family for c in DEFAULT.codes} | {"none": "none"}
    return Result(
        name=factory().name,
        code_f1=_macro_f1(gold, pred, DEFAULT.keys),
        family_f1=_macro_f1([fam[g] for g in gold], [fam[p] for p in pred], ("withdrawal", "confrontation", "resolution")),
        top3_recall=top3 / coded if coded else 0.0,
        uncoded_flagged=flagged / uncoded if uncoded else 0.0,
        n_coded=coded, n_uncoded=uncoded, seconds=time.perf_counter() - started,
    )


def table(results: Sequence[Result]) -> str:
    lines = ["| model | code macro F1 | family macro F1 | top-3 recall | uncoded turns with a suggestion |",
             "| --- | --- | --- | --- | --- |"]
    for r in results:
        lines.append(f"| {r.name} | {r.code_f1:.2f} | {r.family_f1:.2f} | {r.top3_recall:.2f} | "
                     f"{r.uncoded_flagged:.2f} |")
    n = results[0]
    lines.append(f"\n{n.n_coded} coded and {n.n_uncoded} uncoded held-out turns from the manual's marker and "
                 "strategy chapters; 5-fold stratified by code (seed 19), threshold chosen on the training folds only.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate the code-suggestion models (held-out manual examples)")
    parser.add_argument("--model", choices=sorted(MODELS), action="append")
    parser.add_argument("--write", action="store_true",
                        help="store each model's threshold (cross-validated on all the manual data), the figures "
                             "shown in the app and the training texts' embeddings (rrrs_core/suggest/data/)")
    args = parser.parse_args(argv)
    results = [evaluate(kind) for kind in (args.model or ["lexical", "embedding"])]
    print(table(results))
    if args.write:
        import json

        from rrrs_core.suggest.engine import THRESHOLDS, trained
        from rrrs_core.suggest.models import store_embeddings

        store_embeddings([e.text for e in training_rows(load())])
        from rrrs_core.suggest.figures import FIGURES_FILE

        trained.cache_clear()
        THRESHOLDS.unlink(missing_ok=True)
        chosen = {kind: trained(kind).threshold for kind in sorted(MODELS)}
        THRESHOLDS.write_text(json.dumps(chosen, indent=1) + "\n")
        FIGURES_FILE.write_text(json.dumps({kind: {
            "name": r.name, "code_f1": round(r.code_f1, 2), "family_f1": round(r.family_f1, 2),
            "top3_recall": round(r.top3_recall, 2), "uncoded_flagged": round(r.uncoded_flagged, 2),
            "n_coded": r.n_coded, "n_uncoded": r.n_uncoded,
        } for kind, r in zip(args.model or ["lexical", "embedding"], results, strict=True)}, indent=1) + "\n")
        print(f"thresholds {chosen} -> {THRESHOLDS}; figures -> {FIGURES_FILE}")
    for r in results:
        print(f"{r.name}: evaluated in {r.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
