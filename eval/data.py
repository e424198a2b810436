"""Evaluation data: `--data SPEC` resolution, the model's own training records, and data identity.

A SPEC is either a path to a JSONL interchange file (see `interchange`) or `corpus:split`, where
corpus is a registered corpus name or `all` and split is train, dev, test or all.

Corpus splits are built with the *model's* data config (its corpora, seed, split fractions and
caps, read from the training config stored in the model directory) so that de-duplication and the
train/dev/test assignment are exactly those the model was trained with; `corpus:split` then keeps
the rows of that corpus. A corpus the model never saw is built on its own with the same seed and
fractions (a document's split depends only on corpus, doc_id and seed), and sentences that occur
in the model's train split are removed from it (counted in the identity). `all` means every corpus
the model was trained on, or every registered corpus when the model records no training config.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from redflags.eval.interchange import Example, from_dataset, read_jsonl
from redflags.training.config import CorpusSpec, DataConfig, from_dict
from redflags.training.corpora import (
    CORPORA,
    corpus_folder,
    default_data_dir,
    news_annotations,
)
from redflags.training.dataset import build_dataset, remove_overlap

log = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "dev", "test", "all")
NEWS = "news_annotations"
# The halves of the sample (articles.jsonl `sample`), and the annotation rounds (`round`: round1 is the
# set v4 was compared on, kept as it was; round2 added articles for v5, its test articles drawn at random;
# round3, all "rest", is every train article of the pool the first two rounds left).
NEWS_SAMPLES = ("random", "enriched", "hard", "rest", "round1", "round2", "round3")


def display_path(path: Path | str) -> str:
    """A path as a report records it: relative to the data folder ("<data>/babe") or to the working
    directory, never this machine's absolute path (reports are committed and read elsewhere)."""
    p = Path(path).resolve()
    for base, label in ((default_data_dir().resolve(), "<data>"), (Path.cwd().resolve(), ".")):
        if p.is_relative_to(base):
            rel = p.relative_to(base).as_posix()
            return f"{label}/{rel}" if rel != "." else label
    return p.name


def sampled_articles(sample: str) -> set[str]:
    """doc_ids ("<corpus>/<id>") of the news articles drawn in one half of the sample (articles.jsonl)."""
    rows = [json.loads(line) for line in news_annotations.ARTICLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    if sample.startswith("round"):
        return {f"{r['corpus']}/{r['doc_id']}" for r in rows if f"round{r.get('round', 1)}" == sample}
    return {f"{r['corpus']}/{r['doc_id']}" for r in rows if r["sample"] == sample}


class DataSpecError(ValueError):
    """A --data SPEC cannot be resolved; the message says why and what is accepted."""


@dataclass
class EvalData:
    """Examples from one SPEC and where they came from."""
    spec: str
    examples: list[Example]
    identity: dict[str, Any] = field(default_factory=dict)


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_folder(folder: Path | str) -> dict[str, Any]:
    """One hash over every file in a folder: sha256 of the sorted 'relative path  file-sha256' lines."""
    folder = Path(folder)
    lines = [f"{p.relative_to(folder).as_posix()}  {sha256_file(p)}" for p in sorted(folder.rglob("*")) if p.is_file()]
    return {"path": display_path(folder), "files": len(lines), "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest()}


def examples_sha256(examples: list[Example]) -> str:
    """Content hash of the evaluated examples (ids, texts, labels, corpora) in order."""
    h = hashlib.sha256()
    for e in examples:
        h.update(repr((e.id, e.text, sorted(e.labels.items()), e.corpus, e.article)).encode("utf-8"))
    return h.hexdigest()


def model_data_config(training_config: Mapping[str, Any] | None, data_dir: Path | str | None = None) -> Any | None:
    """The `DataConfig` the model was trained with (None if the model does not record one).

    `data_dir` overrides the stored data folder (the model may have been trained on another machine).
    """
    if not training_config or not training_config.get("data"):
        return None

    cfg = copy.deepcopy(from_dict(dict(training_config)).data)
    if data_dir is not None:
        cfg.data_dir = str(data_dir)
    return cfg


def build_splits(cfg: Any) -> Any:
    """The train/dev/test DatasetDict of a DataConfig (cached by the training code)."""
    return build_dataset(cfg)


def _split(dd: Any, split: str) -> Any:
    if split == "all":
        import datasets

        return datasets.concatenate_datasets([dd[s] for s in ("train", "dev", "test") if s in dd])
    return dd[split]


def _single_corpus_config(name: str, model_cfg: Any | None, data_dir: Path | str | None) -> Any:
    if model_cfg is not None:
        cfg = copy.deepcopy(model_cfg)
        cfg.corpora = {name: CorpusSpec()}
    else:
        cfg = DataConfig(corpora={name: CorpusSpec()})
    if data_dir is not None:
        cfg.data_dir = str(data_dir)
    cfg.check("data")
    return cfg


def corpus_identity(names: list[str], data_dir: Path | str | None) -> dict[str, Any]:
    out = {}
    for n in names:
        info = CORPORA[n]
        if info.fingerprint is not None:  # labels kept in the repository, texts in other corpora's folders
            out[n] = {"labels_sha256": info.fingerprint(), "texts": {r: sha256_folder(corpus_folder(r, data_dir))
                                                                   for r in info.required if r in CORPORA}}
        else:
            out[n] = sha256_folder(corpus_folder(n, data_dir))
    return out


def resolve_spec(spec: str, training_config: Mapping[str, Any] | None = None,
                 data_dir: Path | str | None = None) -> EvalData:
    """Examples for one `--data` SPEC (JSONL path or corpus:split)."""
    path = Path(spec)
    if spec.endswith(".jsonl") or path.is_file():
        examples = read_jsonl(path)
        return EvalData(spec, examples, {"kind": "jsonl", "path": display_path(path), "sha256": sha256_file(path),
                                         "examples": len(examples), "examples_sha256": examples_sha256(examples)})
    if ":" not in spec:
        raise DataSpecError(f"--data {spec!r}: expected a .jsonl file or corpus:split (e.g. ptc_semeval2020_task11:test, all:dev)")
    name, split = spec.rsplit(":", 1)
    if split not in SPLIT_NAMES:
        raise DataSpecError(f"--data {spec!r}: split must be one of {', '.join(SPLIT_NAMES)}, got {split!r}")
    name, _, sample = name.partition("@")
    if sample and (name != NEWS or sample not in NEWS_SAMPLES):
        raise DataSpecError(f"--data {spec!r}: only {NEWS} has samples ({NEWS}@SAMPLE:SPLIT, SAMPLE one of "
                            f"{', '.join(NEWS_SAMPLES)})")

    model_cfg = model_data_config(training_config, data_dir)
    trained_on = list(model_cfg.corpora) if model_cfg is not None else []
    if name == "all":
        if model_cfg is not None:
            cfg, keep = model_cfg, None
        else:
            cfg, keep = all_corpora_config(data_dir), None
    elif name not in CORPORA:
        raise DataSpecError(f"--data {spec!r}: unknown corpus {name!r}; known: {', '.join(sorted(CORPORA))} or all")
    elif name in trained_on:
        cfg, keep = model_cfg, name
    else:
        cfg, keep = _single_corpus_config(name, model_cfg, data_dir), name
    ds = _split(build_splits(cfg), split)
    removed = None
    if model_cfg is not None and cfg is not model_cfg:
        # A corpus the model never saw was split on its own, not de-duplicated against the model's
        # training corpora: drop the sentences the model trained on, so the test stays unseen.
        ds, removed = remove_overlap(ds, build_splits(model_cfg)["train"])
        if removed:
            log.warning("%s: removed %d sentences that occur in the model's train split", spec, removed)
    # Ids come from the whole split (corpus/doc/row), so a subset spec (one corpus, one sample) gives
    # its examples the same ids as the full split and the two merge instead of counting twice.
    examples = from_dataset(ds)
    if keep is not None:
        examples = [e for e in examples if e.corpus == keep]
    if sample:  # the articles of one half of the news sample (random: ordinary news; enriched: rare markers)
        docs = sampled_articles(sample)
        examples = [e for e in examples if e.article in docs]
    if not examples:
        raise DataSpecError(f"--data {spec!r}: the {split} split of {name} is empty")
    names = sorted({e.corpus for e in examples})
    identity = {
        "kind": "corpus", "corpus": name, "sample": sample or None, "split": split, "seed": cfg.seed,
        "split_fractions": {"train": cfg.split.train, "dev": cfg.split.dev, "test": cfg.split.test},
        "built_from": sorted(cfg.corpora), "corpora": corpus_identity(names, cfg.data_dir),
        "examples": len(examples), "examples_sha256": examples_sha256(examples),
        "removed_as_in_model_train": removed,
    }
    return EvalData(spec, examples, identity)


def all_corpora_config(data_dir: Path | str | None) -> Any:
    cfg = DataConfig(data_dir=str(data_dir) if data_dir is not None else None,
                     corpora={n: CorpusSpec() for n in sorted(CORPORA)})
    cfg.check("data")
    return cfg


def training_examples(training_config: Mapping[str, Any] | None, data_dir: Path | str | None = None
                      ) -> tuple[list[Example], list[Example], dict[str, Any]]:
    """The model's train and dev records (its own data config), for baselines trained like the model.

    Corpora with weight 0 are dropped from train (the model never sampled them). If the model was
    trained on a seeded subset (`training.max_train_samples`), the baselines see the whole train
    split; the identity records this.
    """
    cfg = model_data_config(training_config, data_dir)
    if cfg is None:
        raise DataSpecError("the model records no training config (training_config.data); "
                            "baselines that need training data cannot be trained like the model")
    dd = build_splits(cfg)
    sampled = {n for n, s in cfg.corpora.items() if s.weight > 0}
    train = [e for e in from_dataset(dd["train"]) if e.corpus in sampled]
    dev = from_dataset(dd["dev"])
    dev_corpora = ((training_config or {}).get("calibration") or {}).get("dev_corpora")
    if dev_corpora:  # the baselines fit thresholds on the same dev rows as the model
        dev = [e for e in dev if e.corpus in set(dev_corpora)]
    info = {"corpora": sorted(sampled), "seed": cfg.seed, "train_examples": len(train), "dev_examples": len(dev),
            "train_sha256": examples_sha256(train),
            "max_train_samples_ignored": (training_config or {}).get("training", {}).get("max_train_samples")}
    return train, dev, info
