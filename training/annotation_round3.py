"""Annotation rounds 3 and 4 (issue 21, after v5): the rest of the train pool.

- **Round 3** (model v6): rounds 1 and 2 left 274 train articles of 8 to 45 sentences (PolNeAR and
  PTC, the source corpus's own split); round 3 takes every one of them.
- **Round 4** (for the model after v6): the longer train articles, 46 to 120 sentences (250 articles;
  26 longer ones are left), read in smaller batches.

Neither round selects, so their `sample` is "rest". The dev and test pools are not touched, so the
dev split that picks the best step and the test split every model is compared on stay as they are.
A tenth of each round's articles, drawn at random, get a second independent pass. A training config
picks the rounds it learns from (`news_annotations: {rounds: [...]}`), so adding a round changes no
earlier model's data.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from redflags.training.corpora.news_annotations import ARTICLES
from redflags.training.news_annotations import MAX_SENTENCES, MIN_SENTENCES, Article, article_pool, write_tasks

# Per round: the article sizes (sentences) it takes, and the articles per annotator task file (a
# helper reads one in about a quarter of an hour).
ROUNDS = {3: ((MIN_SENTENCES, MAX_SENTENCES), 20), 4: ((MAX_SENTENCES + 1, 120), 8)}
DOUBLE = 0.1  # share of a round's articles annotated twice
SEEDS = {3: 2028, 4: 2029}


def rest_of_pool(sizes: tuple[int, int], data_dir: Path | str | None = None) -> list[Article]:
    """Every train article of `sizes` sentences that no earlier round took, in key order."""
    rows = [json.loads(line) for line in ARTICLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    taken = {f"{r['corpus']}/{r['doc_id']}" for r in rows}
    pool = article_pool(data_dir, exclude=taken, sizes=sizes)
    return [Article(a.corpus, a.doc_id, "train", "rest", a.sentences) for a in sorted(pool["train"], key=lambda a: a.key)]


def write_round(round_no: int, tasks_dir: Path, data_dir: Path | str | None = None) -> list[Article]:
    """Write a round's task files (corpus text, outside the repository) and append its article list.

    Task files: `batchNN.txt` for the first pass and `double.txt` for the second; the article list
    (keys, split, sample, size; no text) goes to training/annotations/articles.jsonl with `round`.
    """
    from redflags.atomic import write_text

    sizes, batch = ROUNDS[round_no]
    chosen = rest_of_pool(sizes, data_dir)
    rng = random.Random(SEEDS[round_no])
    order = rng.sample(chosen, len(chosen))
    tasks_dir.mkdir(parents=True, exist_ok=True)
    for i in range(0, len(order), batch):
        write_tasks(order[i:i + batch], tasks_dir / f"batch{i // batch + 1:02d}.txt")
    double = rng.sample(chosen, round(len(chosen) * DOUBLE))
    write_tasks(double, tasks_dir / "double.txt")
    rows = [json.loads(line) for line in ARTICLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    new = [{"corpus": a.corpus, "doc_id": a.doc_id, "split": a.split, "sample": a.sample,
            "sentences": len(a.sentences), "round": round_no, "double": a in double} for a in chosen]
    write_text(ARTICLES, "".join(json.dumps(r) + "\n" for r in rows + new))
    return chosen
