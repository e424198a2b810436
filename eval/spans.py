"""Span metrics: how well a system finds the evidence words of each marker, and names the technique.

Gold spans come with the examples (`Example.extra["spans"]`, offsets into the sentence, and
`extra["span_markers"]`, the markers whose words were marked in that sentence; every other word
of the sentence is then not evidence for them). A marker is measured only on the sentences that
mark it, per corpus and pooled:

- **word level**: precision, recall and F1 over the sentence's words (runs of letters and digits);
  a word is positive when it overlaps a span;
- **span level**, with partial-overlap credit (the span identification measure of SemEval-2020
  Task 11): precision = sum over predicted spans s and gold spans t of |s ∩ t| / |s|, divided by
  the number of predicted spans; recall the same with |t| and the gold count; F1 their harmonic mean;
- **techniques** of sensational framing, classified on the gold spans that name one: micro-F1
  (= accuracy, one label per span) and macro-F1 over the techniques present in the gold.

Systems: the model's token head on every sentence ("model"), the same restricted to the markers
the sentence head flags ("model, flagged only": what reports show), and the corpora's own cue
lists matched as spans ("lexicon"); for techniques, the majority technique and TF-IDF + logistic
regression on the span text, both trained on the training split's gold spans.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, defaultdict
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from redflags.eval.interchange import Example
from redflags.markers import MARKERS
from redflags.training.metrics import overlap_prf
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")
Spans = list[tuple[int, int]]  # (start, end) character offsets into one sentence


def has_spans(example: Example) -> bool:
    """Whether an example marks evidence words for at least one marker."""
    return bool(example.extra.get("span_markers"))


def gold_spans(example: Example, marker: str) -> Spans | None:
    """The gold (start, end) spans of a marker in an example; None when the example does not mark it."""
    if marker not in (example.extra.get("span_markers") or ()):
        return None
    return [(int(s["start"]), int(s["end"])) for s in example.extra.get("spans") or () if s["marker"] == marker]


def word_prf(texts: Sequence[str], pred: Sequence[Spans], gold: Sequence[Spans]) -> dict[str, Any]:
    """Precision, recall, F1 over words (runs of \\w): a word is positive when it overlaps a span."""
    tp = fp = fn = 0
    for text, ps, gs in zip(texts, pred, gold):
        for m in _WORD.finditer(text):
            a, b = m.span()
            in_p = any(s < b and e > a for s, e in ps)
            in_g = any(s < b and e > a for s, e in gs)
            tp += in_p and in_g
            fp += in_p and not in_g
            fn += in_g and not in_p
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "positives": tp + fn}


def span_metrics(examples: Sequence[Example], predicted: Mapping[str, Sequence[Mapping[str, Spans]]],
                 markers: Sequence[str] = MARKERS) -> dict[str, Any]:
    """Per system, marker and corpus ("all" pooled): word-level and span-level figures."""
    out: dict[str, Any] = {}
    for name, preds in predicted.items():
        per_marker: dict[str, Any] = {}
        for m in markers:
            groups: dict[str, list[int]] = defaultdict(list)
            for i, ex in enumerate(examples):
                if gold_spans(ex, m) is not None:
                    groups[ex.corpus].append(i)
                    groups["all"].append(i)
            if not groups:
                continue
            per_marker[m] = {}
            for corpus in sorted(groups, key=lambda c: (c != "all", c)):
                idx = groups[corpus]
                gold = [gold_spans(examples[i], m) or [] for i in idx]
                pred = [list(preds[i].get(m, [])) for i in idx]
                per_marker[m][corpus] = {"sentences": len(idx), "words": word_prf([examples[i].text for i in idx], pred, gold),
                                         "spans": overlap_prf(pred, gold)}
        out[name] = per_marker
    return out


# --- systems ------------------------------------------------------------------------------------------


def model_spans(scorer: Any, examples: Sequence[Example], batch_size: int = 64
                ) -> tuple[list[dict[str, Spans]], list[dict[str, Spans]]]:
    """The model's evidence spans per example and marker: on every marker, and on the flagged markers only
    (what reports show), from one pass."""
    probs, found = scorer.predict_spans([e.text for e in examples], batch_size=batch_size, return_proba=True)
    flags = probs >= np.array([scorer.thresholds[m] for m in scorer.markers])
    every, flagged = [], []
    for spans, row in zip(found, flags):
        per: dict[str, Spans] = defaultdict(list)
        for sp in spans:
            per[sp.marker].append((sp.start, sp.end))
        every.append(dict(per))
        flagged.append({m: v for m, v in per.items() if row[list(scorer.markers).index(m)]})
    return every, flagged


def lexicon_spans(lexicon: Any, examples: Sequence[Example], markers: Sequence[str] = MARKERS) -> list[dict[str, Spans]]:
    """Every match of a marker's cue list (the lexicon baseline's patterns) as a span."""
    out = []
    for e in examples:
        per = {}
        for m in markers:
            pat = lexicon.patterns_.get(m)
            per[m] = [mt.span() for mt in pat.finditer(e.text)] if pat is not None else []
        out.append(per)
    return out


def technique_items(examples: Iterable[Example]) -> list[tuple[int, tuple[int, int], str, str, str]]:
    """(example index, span, span text, gold technique, corpus) of every sensational-framing gold span that names one."""
    items = []
    for i, e in enumerate(examples):
        if "sensational_framing" not in (e.extra.get("span_markers") or ()):
            continue
        for s in e.extra.get("spans") or ():
            if s["marker"] == "sensational_framing" and s.get("technique"):
                items.append((i, (int(s["start"]), int(s["end"])), e.text[s["start"]:s["end"]], s["technique"], e.corpus))
    return items


class MajorityTechnique:
    """The most frequent technique of the training spans, for every span."""

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "MajorityTechnique":
        self.label_ = Counter(labels).most_common(1)[0][0] if labels else "loaded_language"
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [self.label_] * len(texts)


class TfidfTechnique:
    """TF-IDF (word 1-2 grams and character 2-4 grams would overfit this little data: words only)
    + balanced logistic regression on the span's text."""

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "TfidfTechnique":
        self.pipe_ = Pipeline([("tfidf", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)),
                               ("lr", LogisticRegression(max_iter=2000, class_weight="balanced"))])
        if len(set(labels)) < 2:
            self.pipe_ = MajorityTechnique().fit(texts, labels)  # type: ignore[assignment]
        else:
            self.pipe_.fit(list(texts), list(labels))
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return list(self.pipe_.predict(list(texts)))


def technique_metrics(gold: Sequence[str], pred: Sequence[str | None], corpora: Sequence[str]) -> dict[str, Any]:
    """Micro- and macro-F1 (over the gold techniques present) per corpus and pooled ("all")."""
    out: dict[str, Any] = {}
    groups: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(corpora):
        groups[c].append(i)
        groups["all"].append(i)
    for corpus in sorted(groups, key=lambda c: (c != "all", c)):
        idx = groups[corpus]
        g = [gold[i] for i in idx]
        p = [pred[i] or "none" for i in idx]
        labels = sorted(set(g))
        out[corpus] = {"spans": len(idx), "micro_f1": float(np.mean([a == b for a, b in zip(g, p)])),
                       "macro_f1": float(f1_score(g, p, labels=labels, average="macro", zero_division=0)),
                       "techniques": dict(Counter(g))}
    return out


def evaluate_spans(scorer: Any, examples: Sequence[Example], *, lexicon: Any = None,
                   train: Sequence[Example] | None = None, batch_size: int = 64,
                   markers: Sequence[str] = MARKERS) -> dict[str, Any] | None:
    """Span and technique metrics of the model beside the baselines; None when nothing can be measured."""
    if not getattr(scorer, "has_evidence", False):
        return None
    idx = [i for i, e in enumerate(examples) if has_spans(e)]
    if not idx:
        return None
    ex = [examples[i] for i in idx]
    log.info("span metrics on %d sentences with evidence spans", len(ex))
    every, flagged = model_spans(scorer, ex, batch_size)
    predicted = {"model": every, "model, flagged only": flagged}
    if lexicon is not None:
        predicted["lexicon"] = lexicon_spans(lexicon, ex, markers)
    result: dict[str, Any] = {"sentences": len(ex), "span_thresholds": dict(scorer.span_thresholds),
                              "systems": span_metrics(ex, predicted, markers)}
    items = technique_items(ex)
    if items and getattr(scorer.config, "techniques", None):
        gold = [it[3] for it in items]
        corpora = [it[4] for it in items]
        by_sentence: dict[int, list[int]] = defaultdict(list)
        for k, it in enumerate(items):
            by_sentence[it[0]].append(k)
        order = sorted(by_sentence)
        found = scorer.predict_span_techniques([ex[i].text for i in order],
                                               [[items[k][1] for k in by_sentence[i]] for i in order], batch_size)
        pred: list[str | None] = [None] * len(items)
        for i, row in zip(order, found):
            for k, got in zip(by_sentence[i], row):
                pred[k] = got[0] if got else None
        techniques = {"model": technique_metrics(gold, pred, corpora)}
        train_items = technique_items(train or ())
        if train_items:
            texts, labels = [it[2] for it in train_items], [it[3] for it in train_items]
            span_texts = [it[2] for it in items]
            for name, system in (("majority", MajorityTechnique()), ("tfidf_logreg", TfidfTechnique())):
                techniques[name] = technique_metrics(gold, system.fit(texts, labels).predict(span_texts), corpora)
            result["technique_training_spans"] = len(train_items)
        result["techniques"] = techniques
    return result
