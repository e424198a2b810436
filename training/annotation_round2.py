"""Annotation round 2 (model v5): which articles, and why.

Round 1 (`news_annotations.sample_articles`) chose 230 articles. Round 2 draws from the PolNeAR
and PTC articles round 1 left, under the same pool rules (8 to 45 sentences, the source corpus's
own split, seeds never annotated):

- **test**: whole articles drawn at random only, so that the news test split keeps estimating
  ordinary news; round 1's test articles stay as they are (v4 and v5 are compared on them).
- **train and dev**: half *hard* (ranked by `hardness`: sentences v4 scores near its thresholds,
  and sentences matching the audit's codebook patterns, training/audit_patterns.yaml), half at
  random from the rest.

Hard articles never enter the test split. The chosen list is written to
`training/annotations/articles.jsonl` beside round 1's (field `round`: 2).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from redflags.scoring.segment import segment
from redflags.training.corpora.news_annotations import ARTICLES
from redflags.training.corpora.news_articles import article_text
from redflags.training.news_annotations import (
    Article,
    article_pool,
)

# Articles per split in round 2. The test split takes every random article it can up to its share.
PER_SPLIT = {"train": 330, "dev": 60, "test": 40}
NEAR = 0.15  # a probability within this distance of its marker's threshold counts as a near call


def near_threshold_share(probs: np.ndarray, thresholds: Sequence[float]) -> float:
    """Share of an article's sentences that v4 scores near a threshold for at least one marker."""
    if len(probs) == 0:
        return 0.0
    near = np.abs(probs - np.asarray(thresholds)[None, :]) <= NEAR
    return float(near.any(axis=1).mean())


def hardness(article: Article, probs: np.ndarray, thresholds: Sequence[float], pattern_hits: int) -> float:
    """Rank of a hard article: near calls plus codebook-pattern matches, both per sentence."""
    return near_threshold_share(probs, thresholds) + pattern_hits / len(article.sentences)


def sample_round2(
    taken: set[str],
    score: Callable[[list[str]], np.ndarray],
    thresholds: Sequence[float],
    count_patterns: Callable[[str], int],
    data_dir: Path | str | None = None,
    seed: int = 2027,
) -> list[Article]:
    """The round-2 articles: `taken` are round-1 keys; `score` gives v4's probabilities of sentences."""
    pool = article_pool(data_dir, exclude=taken)
    rng = random.Random(seed)
    chosen: list[Article] = []
    for split, n in PER_SPLIT.items():
        candidates = sorted(pool[split], key=lambda a: a.key)
        if split == "test":
            picked = rng.sample(candidates, min(n, len(candidates)))
            chosen += [Article(a.corpus, a.doc_id, split, "random", a.sentences) for a in picked]
            continue
        n_random = n // 2
        picked = rng.sample(candidates, min(n_random, len(candidates)))
        keys = {a.key for a in picked}
        rest = [a for a in candidates if a.key not in keys]
        ranked = sorted(rest, key=lambda a: (-_hardness_of(a, score, thresholds, count_patterns), a.key))
        chosen += [Article(a.corpus, a.doc_id, split, "random", a.sentences) for a in picked]
        chosen += [Article(a.corpus, a.doc_id, split, "hard", a.sentences) for a in ranked[: n - n_random]]
    return chosen


def _hardness_of(a: Article, score: Callable[[list[str]], np.ndarray], thresholds: Sequence[float],
                 count_patterns: Callable[[str], int]) -> float:
    texts = [s.text for s in a.sentences]
    return hardness(a, score(texts), thresholds, sum(count_patterns(t) for t in texts))


BATCH = 30  # articles per annotator task file


def write_round2(tasks_dir: Path, data_dir: Path | str | None = None) -> list[Article]:
    """Choose round 2 with the shipped model and the audit patterns; write task files and the article list.

    The task files (numbered sentences, i.e. corpus text) go to `tasks_dir`, outside the repository;
    the list of chosen articles (keys, split, sample, hardness; no text) is appended to
    training/annotations/articles.jsonl with `round: 2`.
    """
    import json

    from redflags.scoring.scorer import load
    from redflags.atomic import write_text
    from redflags.training.audit import count_matches, load_patterns
    from redflags.training.news_annotations import write_tasks

    rows = [json.loads(line) for line in ARTICLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    taken = {f"{r['corpus']}/{r['doc_id']}" for r in rows}
    scorer = load(dtype="float32")
    thresholds = [scorer.thresholds[m] for m in scorer.markers]
    patterns = load_patterns()
    chosen = sample_round2(taken, lambda texts: scorer.predict_proba(texts), thresholds,
                           lambda t: count_matches(t, patterns), data_dir)
    tasks_dir.mkdir(parents=True, exist_ok=True)
    order = random.Random(7).sample(chosen, len(chosen))  # batches mix splits and samples
    for i in range(0, len(order), BATCH):
        write_tasks(order[i:i + BATCH], tasks_dir / f"batch{i // BATCH + 1:02d}.txt")
    new = [{"corpus": a.corpus, "doc_id": a.doc_id, "split": a.split, "sample": a.sample,
            "sentences": len(a.sentences), "round": 2} for a in chosen]
    rows = [dict(r, round=r.get("round", 1)) for r in rows]
    write_text(ARTICLES, "".join(json.dumps(r) + "\n" for r in rows + new))
    return chosen


def round_articles(round_no: int, data_dir: Path | str | None = None, keys: set[str] | None = None) -> list[Article]:
    """One round's articles listed in articles.jsonl (only `keys` when given), re-cut by the segmenter."""
    import json

    out = []
    for line in ARTICLES.read_text(encoding="utf-8").splitlines():
        r = json.loads(line) if line.strip() else None
        if not r or r.get("round", 1) != round_no or (keys is not None and f"{r['corpus']}/{r['doc_id']}" not in keys):
            continue
        sents = tuple(segment(article_text(r["corpus"], r["doc_id"], data_dir)))
        out.append(Article(r["corpus"], r["doc_id"], r["split"], r["sample"], sents))
    return out


def check_answer_file(path: Path, annotation_pass: str = "a", round_no: int = 2) -> int:
    """Validate an annotator's answer file against its articles; returns the number of sentences it labels."""
    from redflags.training.news_annotations import import_answers, read_answers

    keys = {answer["doc"] for _, answer in read_answers(path)}
    return len(import_answers([path], round_articles(round_no, keys=keys), annotation_pass))


if __name__ == "__main__":  # annotators check their answers: python -m redflags.training.annotation_round2 FILE
    import sys

    print(f"{sys.argv[1]}: OK, {check_answer_file(Path(sys.argv[1]))} sentences")
