"""Annotation round 3 (issue 21, after v5): the rest of the train pool.

Rounds 1 and 2 left 274 train articles in the pool (PolNeAR and PTC, 8 to 45 sentences, the source
corpus's own split). Round 3 takes every one of them, so there is no selection to describe: their
`sample` is "rest". The dev and test pools are not touched (round 2 used up what they had), so the
dev split that picks the best step and the test split that v4 and v5 were compared on stay as they are.

A tenth of the round's articles, drawn at random, get a second independent pass (`DOUBLE`).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from redflags.training.annotation_round2 import ROUND1_ARTICLES
from redflags.training.news_annotations import Article, article_pool, write_tasks

ROUND = 3
BATCH = 20  # articles per annotator task file: one helper reads one in about 15 minutes
DOUBLE = 0.1  # share of the round's articles annotated twice


def rest_of_pool(data_dir: Path | str | None = None) -> list[Article]:
    """Every train article of the pool that no earlier round took, in key order."""
    rows = [json.loads(line) for line in ROUND1_ARTICLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    taken = {f"{r['corpus']}/{r['doc_id']}" for r in rows}
    pool = article_pool(data_dir, exclude=taken)
    return [Article(a.corpus, a.doc_id, "train", "rest", a.sentences) for a in sorted(pool["train"], key=lambda a: a.key)]


def write_round3(tasks_dir: Path, data_dir: Path | str | None = None, seed: int = 2028) -> list[Article]:
    """Write the round's task files (corpus text, outside the repository) and append its article list.

    Task files: `batchNN.txt` for the first pass and `double.txt` for the second; the article list
    (keys, split, sample, size; no text) goes to training/annotations/articles.jsonl with `round: 3`.
    """
    from redflags.atomic import write_text

    chosen = rest_of_pool(data_dir)
    rng = random.Random(seed)
    order = rng.sample(chosen, len(chosen))
    tasks_dir.mkdir(parents=True, exist_ok=True)
    for i in range(0, len(order), BATCH):
        write_tasks(order[i:i + BATCH], tasks_dir / f"batch{i // BATCH + 1:02d}.txt")
    double = rng.sample(chosen, round(len(chosen) * DOUBLE))
    write_tasks(double, tasks_dir / "double.txt")
    rows = [json.loads(line) for line in ROUND1_ARTICLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    new = [{"corpus": a.corpus, "doc_id": a.doc_id, "split": a.split, "sample": a.sample,
            "sentences": len(a.sentences), "round": ROUND, "double": a in double} for a in chosen]
    write_text(ROUND1_ARTICLES, "".join(json.dumps(r) + "\n" for r in rows + new))
    return chosen
