"""Baseline systems scored side by side with the model.

Every system here quacks like the scorer: `name`, `markers`, `thresholds` (dict) and
`predict_proba(texts) -> (n, M)` probabilities, so metrics and reports treat them the same way.

- `LexiconBaseline`: per marker, the corpora's own word and phrase lists (hedge words,
  anonymous-source phrases, bias / hyperbole lists) from `redflags.training.lexicons.lexicon_for`;
  score = 1 - 0.5**hits (0 hits -> 0, 1 -> 0.5, 2 -> 0.75 ...), flagged at >= 0.5, i.e. any hit.
  Matching is case-insensitive on whole words; single-word entries also match -s/-es/-d/-ed/-ing.
- `TfidfLogRegBaseline`: per marker a sklearn Pipeline (TF-IDF word 1-2 grams -> balanced logistic
  regression) fit on the rows annotated for that marker; threshold = best F1 on dev.
- `MajorityBaseline`: per marker the training prevalence as a constant probability, flagged only
  when positives are the majority (so it predicts the majority class).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from redflags.eval.interchange import Example, label_matrix
from redflags.training.metrics import best_f1_threshold
from redflags.markers import MARKERS
from redflags.training.lexicons import lexicon_for
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)

SEED = 0
_INFLECT = r"(?:s|es|d|ed|ing)?"


class LexiconBaseline:
    """Flags a sentence for a marker when it contains a word or phrase from that marker's lists."""
    name = "lexicon"

    def __init__(self, lexicons: Mapping[str, Iterable[str]], markers: Sequence[str] = MARKERS) -> None:
        self.markers = tuple(markers)
        self.thresholds = {m: 0.5 for m in self.markers}
        self.lexicons = {m: sorted({p.strip().lower() for p in lexicons.get(m, ()) if p and p.strip()}) for m in self.markers}
        self.patterns_: dict[str, re.Pattern | None] = {}
        for m, phrases in self.lexicons.items():
            if not phrases:
                log.warning("lexicon baseline: no list for %s; it scores 0 everywhere", m)
                self.patterns_[m] = None
                continue
            # Longest first so "sources close to" wins over "sources"; \b-bounded on word characters
            # only, so phrases ending in punctuation still match. Whitespace inside phrases is flexible.
            # Single words also match common inflections (the hedge list has "suggest", text has "suggests").
            alts = [r"\s+".join(map(re.escape, p.split())) + (_INFLECT if " " not in p and p[-1:].isalpha() else "")
                    for p in sorted(phrases, key=len, reverse=True)]
            self.patterns_[m] = re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)", re.IGNORECASE)

    @classmethod
    def from_corpora(cls, data_dir: Path | str | None = None, markers: Sequence[str] = MARKERS) -> "LexiconBaseline":
        """Build from the corpora's own lists (nothing hand-picked here)."""
        return cls({m: list(lexicon_for(m, data_dir) or ()) for m in markers}, markers)

    def hits(self, text: str, marker: str) -> int:
        pat = self.patterns_[marker]
        return 0 if pat is None else len(pat.findall(text))

    def predict_proba(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        out = np.zeros((len(texts), len(self.markers)))
        for j, m in enumerate(self.markers):
            counts = np.array([self.hits(t, m) for t in texts], dtype=float)
            out[:, j] = 1.0 - 0.5**counts
        return out

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "lexicon_sizes": {m: len(v) for m, v in self.lexicons.items()}}


class TfidfLogRegBaseline:
    """Per-marker TF-IDF + logistic regression, thresholds tuned on dev for best F1."""
    name = "tfidf_logreg"

    def __init__(self, markers: Sequence[str] = MARKERS, *, max_features: int = 100_000, C: float = 1.0,
                 seed: int = SEED) -> None:
        self.markers = tuple(markers)
        self.max_features = max_features
        self.C = C
        self.seed = seed
        self.thresholds: dict[str, float] = {m: 0.5 for m in self.markers}
        self.models_: dict[str, Pipeline | float] = {}
        self.train_counts_: dict[str, dict[str, int]] = {}

    def _pipeline(self) -> Pipeline:
        return Pipeline([
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), min_df=1, max_features=self.max_features,
                                      sublinear_tf=True, lowercase=True)),
            # liblinear is deterministic given random_state; balanced weights because most markers are rare.
            ("lr", LogisticRegression(C=self.C, class_weight="balanced", solver="liblinear",
                                      max_iter=1000, random_state=self.seed)),
        ])

    def fit(self, train: Sequence[Example], dev: Sequence[Example] | None = None) -> "TfidfLogRegBaseline":
        y = label_matrix(train, self.markers)
        texts = np.array([e.text for e in train], dtype=object)
        for j, m in enumerate(self.markers):
            rows = y[:, j] >= 0
            pos = int((y[rows, j] == 1).sum())
            self.train_counts_[m] = {"n": int(rows.sum()), "positives": pos}
            if rows.sum() == 0 or pos in (0, rows.sum()):
                # One class only (or no labels): a constant prior is all there is to learn.
                self.models_[m] = float(pos / rows.sum()) if rows.sum() else 0.0
                log.warning("tfidf baseline: %s has %d rows, %d positive; using a constant", m, rows.sum(), pos)
                continue
            self.models_[m] = self._pipeline().fit(list(texts[rows]), y[rows, j])
        if dev:
            self.tune_thresholds(dev)
        return self

    def _proba(self, texts: Sequence[str], marker: str) -> np.ndarray:
        model = self.models_[marker]
        if isinstance(model, float):
            return np.full(len(texts), model)
        return model.predict_proba(list(texts))[:, 1]

    def predict_proba(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        if not self.models_:
            raise RuntimeError("TfidfLogRegBaseline.predict_proba called before fit")
        if len(texts) == 0:
            return np.zeros((0, len(self.markers)))
        return np.stack([self._proba(texts, m) for m in self.markers], axis=1)

    def tune_thresholds(self, dev: Sequence[Example]) -> None:
        """Per marker, the threshold with the best F1 on the dev rows annotated for it."""
        y = label_matrix(dev, self.markers)
        prob = self.predict_proba([e.text for e in dev])
        for j, m in enumerate(self.markers):
            rows = y[:, j] >= 0
            t, _ = best_f1_threshold(y[rows, j], prob[rows, j]) if rows.any() else (None, None)
            self.thresholds[m] = 0.5 if t is None else t

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "C": self.C, "max_features": self.max_features, "ngram_range": [1, 2],
                "class_weight": "balanced", "thresholds": "best F1 on dev", "train_counts": self.train_counts_}


class MajorityBaseline:
    """Constant probability = training prevalence; predicts the majority class."""
    name = "majority"

    def __init__(self, markers: Sequence[str] = MARKERS) -> None:
        self.markers = tuple(markers)
        self.prevalence_: dict[str, float] = {}
        self.thresholds: dict[str, float] = {}

    def fit(self, train: Sequence[Example], dev: Sequence[Example] | None = None) -> "MajorityBaseline":
        y = label_matrix(train, self.markers)
        for j, m in enumerate(self.markers):
            rows = y[:, j] >= 0
            p = float(y[rows, j].mean()) if rows.any() else 0.0
            self.prevalence_[m] = p
            # Threshold just above the constant when negatives are the majority, so nothing is flagged;
            # at or below it otherwise, so everything is.
            self.thresholds[m] = 0.5 if p >= 0.5 else p + 1e-9
        return self

    def predict_proba(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        if not self.prevalence_:
            raise RuntimeError("MajorityBaseline.predict_proba called before fit")
        return np.tile([self.prevalence_[m] for m in self.markers], (len(texts), 1)).astype(float)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "prevalence": self.prevalence_}
