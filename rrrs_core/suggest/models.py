"""The two suggestion models: a lexical baseline and a sentence-embedding model, behind one small interface.

Each model is really two classifiers, because the speaker decides the candidate codes: patient turns are
scored against the 14 rupture markers, therapist turns against the 10 resolution strategies. A model is
trained on the manual's definitions (the codebook's and the manual's own first paragraph) and example
utterances; `scores` gives, for each text, one score per candidate code (higher = more like that code).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rrrs_core.codebook import DEFAULT

SPEAKER_FAMILIES = {"patient": ("withdrawal", "confrontation"), "therapist": ("resolution",)}


def candidate_codes(speaker: str) -> tuple[str, ...]:
    """The codes a turn by this speaker can get ('other' gets none)."""
    families = SPEAKER_FAMILIES.get(speaker, ())
    return tuple(c.key for c in DEFAULT.codes if c.family in families)


@dataclass
class Example:
    text: str
    code: str  # a code key, or "none" for an uncoded turn
    speaker: str
    kind: str = "example"  # example | definition | uncoded


def training_rows(rows: Sequence[dict[str, str]]) -> list[Example]:
    """The dataset's rows plus each code's codebook definition (already shipped in rrrs_core.codebook)."""
    out = [Example(r["text"], r["code"], r["speaker"], r["kind"]) for r in rows]
    for c in DEFAULT.codes:
        speaker = "therapist" if c.family == "resolution" else "patient"
        out.append(Example(c.definition, c.key, speaker, "definition"))
    return out


class _SpeakerModel:
    """Logistic regression over features, one class per candidate code (uncoded turns are not a class:
    the manual has too few of them; they only set the threshold)."""

    def __init__(self, codes: tuple[str, ...], c: float) -> None:
        self.codes = codes
        self.c = c

    def fit(self, x: np.ndarray, y: list[str]) -> None:
        from sklearn.linear_model import LogisticRegression

        self.present = sorted(set(y))
        self.clf = LogisticRegression(C=self.c, max_iter=3000)
        self.clf.fit(x, y)

    def scores(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros((x.shape[0], len(self.codes)))
        if x.shape[0] == 0:
            return out
        proba = self.clf.predict_proba(x)
        for j, code in enumerate(self.clf.classes_):
            out[:, self.codes.index(code)] = proba[:, j]
        return out


@dataclass
class SuggestionModel:
    """Base: featurise, fit one classifier per speaker, score."""

    name: str = "base"
    c: float = 10.0
    _models: dict[str, _SpeakerModel] = field(default_factory=dict)

    def features(self, texts: list[str], fit: bool = False) -> np.ndarray:
        raise NotImplementedError

    def fit(self, examples: Sequence[Example]) -> SuggestionModel:
        coded = [e for e in examples if e.code != "none"]
        self.features([e.text for e in coded], fit=True)
        for speaker in SPEAKER_FAMILIES:
            mine = [e for e in coded if e.speaker == speaker]
            m = _SpeakerModel(candidate_codes(speaker), self.c)
            m.fit(self.features([e.text for e in mine]), [e.code for e in mine])
            self._models[speaker] = m
        return self

    def scores(self, texts: list[str], speaker: str) -> np.ndarray:
        """(len(texts), len(candidate_codes(speaker))) scores; an unknown speaker gets zero columns."""
        if speaker not in self._models:
            return np.zeros((len(texts), 0))
        return self._models[speaker].scores(self.features(texts))


@dataclass
class LexicalModel(SuggestionModel):
    """TF-IDF over words and word pairs + logistic regression: every weight can be read as 'this word
    points to that code', and a turn sharing no words with the manual scores flat (no suggestion)."""

    name: str = "lexical (TF-IDF + logistic regression)"
    c: float = 20.0

    def features(self, texts: list[str], fit: bool = False) -> np.ndarray:
        if fit:
            from sklearn.feature_extraction.text import TfidfVectorizer

            self.vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, strip_accents="unicode")
            self.vec.fit(texts)
        return self.vec.transform(texts)


@dataclass
class EmbeddingModel(SuggestionModel):
    """all-MiniLM-L6-v2 sentence embeddings (numpy, rrrs_core.suggest.minilm) + logistic regression."""

    name: str = "embedding (all-MiniLM-L6-v2 + logistic regression)"
    c: float = 10.0
    cache: dict[str, np.ndarray] = field(default_factory=dict)

    def features(self, texts: list[str], fit: bool = False) -> np.ndarray:
        from rrrs_core.suggest import minilm

        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        if fit and not self.cache:
            self.cache.update(stored_embeddings())
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        fresh = dict(zip(missing, minilm.load().encode(missing), strict=True)) if missing else {}
        if fit:  # training texts are kept; a session's turns are not
            self.cache.update(fresh)
        return np.stack([self.cache[t] if t in self.cache else fresh[t] for t in texts])

    def precompute(self, texts: list[str]) -> None:
        """Embed texts once (the evaluation refits on many folds of the same texts)."""
        self.features(texts, fit=True)


EMBEDDINGS = Path(__file__).with_name("data") / "train_embeddings.npz"


def stored_embeddings() -> dict[str, np.ndarray]:
    """The manual texts' embeddings under the packaged weights, as `make eval-suggest` stored them (embedding
    ~170 texts takes 5-30 s on a busy 2-core machine); none when the clinic configured other weights."""
    import os

    from rrrs_core.suggest.minilm import ENV

    if os.environ.get(ENV) or not EMBEDDINGS.is_file():
        return {}
    with np.load(EMBEDDINGS, allow_pickle=False) as z:
        return dict(zip([str(t) for t in z["texts"]], z["vectors"], strict=True))


def store_embeddings(texts: list[str]) -> None:
    from rrrs_core.suggest import minilm

    texts = list(dict.fromkeys(texts))
    np.savez_compressed(EMBEDDINGS, texts=np.array(texts), vectors=minilm.load().encode(texts).astype(np.float32))


MODELS = {"lexical": LexicalModel, "embedding": EmbeddingModel}
