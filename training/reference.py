"""The reference profile of a model: how often ordinary news articles carry each marker.

`redflags profile-reference --model DIR` scores a seeded random sample of whole news articles from
the TRAIN split of the public corpora, takes per article and marker the share of flagged sentences,
and writes the sorted shares to DIR/reference_profile.json (see redflags.scoring.profile). Reports of that
model then say where an article stands: "more than 96% of reference news articles".

Articles: PolNeAR (US political news from several outlets, both its compartments) and BASIL (Fox
News, New York Times and HuffPost on the same events). PTC is left out: its articles were chosen
for propaganda, so they are not ordinary news. The split of an article is the one the model's
training data config gives it (`redflags.training.dataset.split_of`, the model's seed and fractions),
so no article of a dev or test split is used, and neither are the news annotations' dev and test
articles (they keep their source corpus's split). No text is stored, only shares.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import random
from pathlib import Path
from typing import Any, Optional

from redflags.atomic import write_text
from redflags.scoring.profile import REFERENCE_FILE, REFERENCE_FORMAT
from redflags.training.config import SplitConfig
from redflags.training.corpora import basil_fan2019
from redflags.training.corpora.news_articles import POLNEAR, article_text, polnear_files
from redflags.training.dataset import split_of

log = logging.getLogger(__name__)

CORPORA = (POLNEAR, basil_fan2019.NAME)
EXCLUDED = {"ptc_semeval2020_task11": "its articles were chosen for propaganda techniques, not ordinary news"}
DEFAULT_MAX_ARTICLES = 600
DEFAULT_SEED = 2026


def reference_articles(data_dir: Optional[Path], seed: int, fractions: SplitConfig, split: str = "train",
                       max_articles: int = DEFAULT_MAX_ARTICLES, sample_seed: int = DEFAULT_SEED
                       ) -> tuple[list[tuple[str, str, str]], dict[str, int]]:
    """A seeded random sample of (corpus, doc_id, text) of the split, and the articles available per corpus."""
    candidates: list[tuple[str, str, Optional[str]]] = [
        (POLNEAR, p.stem, None) for p in polnear_files(data_dir) if split_of(POLNEAR, p.stem, seed, fractions) == split]
    candidates += [(c, d, t) for c, d, t in basil_fan2019.article_texts(data_dir) if split_of(c, d, seed, fractions) == split]
    available = {c: sum(1 for x in candidates if x[0] == c) for c in CORPORA}
    picked = random.Random(sample_seed).sample(candidates, min(max_articles, len(candidates)))
    out = [(c, d, t if t is not None else article_text(c, d, data_dir)) for c, d, t in picked]
    return out, available


def build_reference(model_dir: Path, data_dir: Optional[Path] = None, max_articles: int = DEFAULT_MAX_ARTICLES,
                    sample_seed: int = DEFAULT_SEED, batch_size: int = 64, show_progress: bool = False,
                    command: str = "") -> dict[str, Any]:
    """Score the sample with the model and return the reference_profile.json content."""
    from redflags.scoring.scorer import load

    scorer = load(model_dir, dtype="float32")
    data_cfg = (scorer.config.training_config or {}).get("data") or {}
    seed = int(data_cfg.get("seed", 13))
    fractions = SplitConfig(**(data_cfg.get("split") or {}))
    articles, available = reference_articles(data_dir, seed, fractions, "train", max_articles, sample_seed)
    log.info("reference: %d articles sampled of %s available (train split)", len(articles), available)
    reports = scorer.score_many([t for _, _, t in articles], batch_size=batch_size, show_progress=show_progress)
    shares: dict[str, list[float]] = {m: [] for m in scorer.markers}
    used: dict[str, int] = {c: 0 for c in CORPORA}
    n_sentences = 0
    for (corpus, _, _), report in zip(articles, reports):
        if not report.sentences:
            continue
        used[corpus] += 1
        n_sentences += len(report.sentences)
        for m, s in report.summary.items():
            shares[m].append(round(s.share, 6))
    n = sum(used.values())
    return {
        "format": REFERENCE_FORMAT,
        "description": (f"{n} news articles drawn at random from the train split of PolNeAR (US political news) "
                        f"and BASIL (Fox News, New York Times, HuffPost)"),
        "corpora": {c: {"articles": used[c], "available_in_split": available[c]} for c in CORPORA},
        "excluded": EXCLUDED,
        "split": {"name": "train", "rule": "redflags.training.dataset.split_of by document, the model's data "
                  "config", "seed": seed, "fractions": {"train": fractions.train, "dev": fractions.dev,
                                                        "test": fractions.test}},
        "sample": {"seed": sample_seed, "max_articles": max_articles, "articles": n, "sentences": n_sentences},
        "model": {"name": scorer.model_name, "version": scorer.model_version, "thresholds": scorer.thresholds},
        "percentile": "share of reference articles whose share of flagged sentences is strictly lower",
        "created": _dt.date.today().isoformat(),
        "command": command,
        "shares": {m: sorted(v) for m, v in shares.items()},
    }


def write_reference(model_dir: Path, content: dict[str, Any]) -> Path:
    """Write reference_profile.json into the model directory atomically."""
    head = json.dumps({k: v for k, v in content.items() if k != "shares"}, indent=1)
    shares = ",\n".join(f"  {json.dumps(m)}: {json.dumps(v)}" for m, v in content["shares"].items())
    return write_text(model_dir / REFERENCE_FILE, head[:-2] + ',\n "shares": {\n' + shares + "\n }\n}\n")
