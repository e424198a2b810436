"""Corpus records -> de-duplicated, document-split Hugging Face datasets.

Build steps (each deterministic given the data config):
1. load every configured corpus through its registered loader; an optional per-corpus cap keeps
   whole documents, chosen in a seeded order, until the cap is reached;
2. normalise sentences (Unicode NFKC, quotes/dashes unified, case folded, whitespace collapsed)
   and de-duplicate them across and within corpora. Copies of one sentence are merged into one
   row: its text, corpus and doc_id come from the copy that sorts first by (corpus, doc_id,
   position); per marker, the known labels are merged: labels from gold corpora beat labels from
   weak/proxy corpora, then the majority wins and a tie is positive. Every disagreement is
   counted (and logged) as a conflict;
   Before that, records of documents that another configured corpus re-annotates are dropped
   (`CorpusInfo.replaces`: the news annotations replace their PolNeAR and PTC articles);
3. assign each row the split of its document: the split its corpus fixed (`Record.split`), else a
   seeded hash of (corpus, doc_id) compared with the split fractions, so a document's split never
   depends on which other corpora are enabled;
4. check that no normalised train sentence appears in dev or test (`LeakageError` otherwise);
5. save a `datasets.DatasetDict` (columns text, corpus, doc_id, one int8 column per marker:
   1, 0, -1 = unknown, and the evidence spans of the row's text with the markers they define, see
   training/spans.py) under a cache folder named by a hash of the data config.
"""
# Size: over 400 lines because loading, capping, relabelling, de-duplication and splitting form one cached build.

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
from redflags.atomic import atomic_dir
from redflags.markers import MARKERS
from redflags.training import spans as spans_mod
from redflags.training.config import CorpusSpec, DataConfig, SplitConfig
from redflags.training.corpora import CORPORA, default_data_dir, load_corpus
from redflags.training.corpora.news_annotations import in_rounds
from redflags.training.records import Record
from redflags.training.relabel import apply_relabels, read_relabels
from redflags.training.relabel import fingerprint as relabel_fingerprint

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "dev", "test")
UNKNOWN = -1
# Bump when the build logic changes, so stale caches are not reused.
# 2: PolNeAR and the snippets cut by redflags.segment; 3: fixed splits decide duplicates; 4: evidence spans
DATASET_VERSION = 4

SPAN_FEATURE = [{"start": datasets.Value("int32"), "end": datasets.Value("int32"),
                 "marker": datasets.Value("string"), "technique": datasets.Value("string")}]
FEATURES = datasets.Features(
    {"text": datasets.Value("string"), "corpus": datasets.Value("string"), "doc_id": datasets.Value("string")}
    | {m: datasets.Value("int8") for m in MARKERS}
    # Evidence spans (character offsets into text) and the markers whose token targets they define
    # (training/spans.py): empty for rows of corpora without span annotations.
    | {"spans": SPAN_FEATURE, "span_markers": [datasets.Value("string")]}
)


class LeakageError(RuntimeError):
    """A train sentence also appears (normalised) in dev or test."""


# ---------------------------------------------------------------- normalisation and hashing

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "`": "'", "\u00b4": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
                         "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00a0": " "})
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The key under which sentences count as duplicates: case, quotes, dashes and spacing ignored."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return _SPACE.sub(" ", text).strip()


def _unit_hash(*parts: object) -> float:
    """A stable number in [0, 1) from the parts (sha256; Python's hash() is salted per process)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(corpus: str, doc_id: str, seed: int, fractions: SplitConfig) -> str:
    """The split of a document: a seeded hash of (corpus, doc_id) against the split fractions."""
    u = _unit_hash("split", seed, corpus, doc_id)
    if u < fractions.train:
        return "train"
    if u < fractions.train + fractions.dev:
        return "dev"
    return "test"


def cap_records(records: list[Record], max_records: int, seed: int) -> list[Record]:
    """At most `max_records` records, taking whole documents in a seeded order (the last may be cut)."""
    if len(records) <= max_records:
        return records
    by_doc: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_doc[r.doc_id].append(r)
    # A different salt from split_of, so the cap does not favour one split.
    order = sorted(by_doc, key=lambda d: _unit_hash("cap", seed, records[0].corpus, d))
    kept: list[Record] = []
    for d in order:
        kept.extend(by_doc[d][: max_records - len(kept)])
        if len(kept) >= max_records:
            break
    return kept


# ---------------------------------------------------------------- de-duplication


@dataclass
class BuildStats:
    loaded: Counter = field(default_factory=Counter)  # per corpus, after the cap
    available: Counter = field(default_factory=Counter)  # per corpus, before the cap
    empty: Counter = field(default_factory=Counter)  # per corpus: records with no text (counted, dropped)
    duplicates: Counter = field(default_factory=Counter)  # per corpus: copies merged into another row
    conflicts: Counter = field(default_factory=Counter)  # per marker: rows whose copies disagreed
    rows: Counter = field(default_factory=Counter)  # per split
    replaced: Counter = field(default_factory=Counter)  # per corpus: records of documents another corpus re-annotates

    def to_dict(self) -> dict[str, Any]:
        return {k: dict(v) for k, v in self.__dict__.items()}


def _kind_rank(corpus: str) -> int:
    info = CORPORA.get(corpus)
    return 0 if info is not None and info.kind.lower().startswith("gold") else 1


def merge_labels(copies: Sequence[Record], stats: BuildStats | None = None) -> dict[str, int]:
    """Merged label per marker (1, 0 or UNKNOWN) for copies of one sentence; see the module doc."""
    merged: dict[str, int] = {}
    for m in MARKERS:
        known = [(_kind_rank(r.corpus), r.labels[m]) for r in copies if r.labels.get(m) is not None]
        if not known:
            merged[m] = UNKNOWN
            continue
        if len({v for _, v in known}) > 1 and stats is not None:
            stats.conflicts[m] += 1
        best = min(rank for rank, _ in known)
        votes = [v for rank, v in known if rank == best]
        pos = sum(votes)
        merged[m] = 1 if pos * 2 >= len(votes) else 0
    return merged


def deduplicate(records: Iterable[Record], stats: BuildStats | None = None) -> list[dict[str, Any]]:
    """One row per normalised sentence, in a deterministic order (see the module doc)."""
    groups: dict[str, list[tuple[tuple[str, str, int], Record]]] = defaultdict(list)
    for i, r in enumerate(records):
        key = normalise(r.text)
        if not key:
            if stats is not None:
                stats.empty[r.corpus] += 1
            continue
        # A copy whose corpus fixes its split (the news annotations) decides the row, so a sentence of a
        # news test article never lands in train through a copy in another corpus.
        groups[key].append(((r.split is None, r.corpus, r.doc_id, i), r))
    rows = []
    for key, copies in groups.items():
        copies.sort(key=lambda c: c[0])
        first = copies[0][1]
        if stats is not None:
            for _, r in copies[1:]:
                stats.duplicates[r.corpus] += 1
        row = {"text": first.text, "corpus": first.corpus, "doc_id": first.doc_id, "split": first.split}
        row.update(merge_labels([r for _, r in copies], stats))
        row.update(_row_spans(first, row))
        rows.append(row)
    rows.sort(key=lambda r: (r["corpus"], r["doc_id"]))  # stable: keeps in-document order
    return rows


def _row_spans(first: Record, merged: dict[str, Any]) -> dict[str, Any]:
    """The spans of the copy whose text the row keeps; its markers count where the merge kept its label."""
    info = CORPORA.get(first.corpus)
    spans = [{"start": sp.start, "end": sp.end, "marker": sp.marker,
              "technique": spans_mod.technique_of(sp.label, sp.marker) or ""}
             for sp in first.spans if 0 <= sp.start < sp.end <= len(first.text)]
    agreed = {m: v for m, v in first.labels.items() if v is not None and merged.get(m) == v}
    known = spans_mod.known_span_markers(info.span_markers if info else (), agreed, spans)
    return {"spans": [sp for sp in spans if sp["marker"] in known], "span_markers": known}


# ---------------------------------------------------------------- leakage check


def check_leakage(dd: datasets.DatasetDict, max_examples: int = 5) -> None:
    """Raise LeakageError when a normalised train sentence is in dev or test."""
    if "train" not in dd:
        return
    train = {normalise(t) for t in dd["train"]["text"]}
    for split in ("dev", "test"):
        if split not in dd:
            continue
        leaked = [t for t in dd[split]["text"] if normalise(t) in train]
        if leaked:
            raise LeakageError(
                f"{len(leaked)} {split} sentences also appear in train, e.g. "
                + "; ".join(repr(t[:80]) for t in leaked[:max_examples])
            )


def remove_overlap(ds: datasets.Dataset, reference: datasets.Dataset) -> tuple[datasets.Dataset, int]:
    """`ds` without the sentences (normalised) that occur in `reference`, and how many were removed.

    For cross-corpus evaluation: a held-out corpus built on its own is not de-duplicated against the
    training corpora, so remove the training sentences from it before scoring.
    """
    seen = {normalise(t) for t in reference["text"]}
    keep = [i for i, t in enumerate(ds["text"]) if normalise(t) not in seen]
    return ds.select(keep), len(ds) - len(keep)


# ---------------------------------------------------------------- build + cache


def _data_key(cfg: DataConfig, data_dir: Path) -> str:
    payload = {
        "version": DATASET_VERSION,
        "data_dir": str(data_dir.resolve()),
        # (markers only when restricted, so the keys of existing caches stay valid)
        "corpora": {n: s.max_records if s.markers is None else [s.max_records, sorted(s.markers)]
                    for n, s in sorted(cfg.corpora.items())},
        # (only when some corpus applies them, so the keys of existing caches stay valid)
        **({"relabel": [sorted(n for n, s in cfg.corpora.items() if s.relabel), relabel_fingerprint()]}
           if any(s.relabel for s in cfg.corpora.values()) else {}),
        "seed": cfg.seed,
        "split": [cfg.split.train, cfg.split.dev, cfg.split.test],
        # (only when some corpus picks its rounds, so the keys of existing caches stay valid)
        **({"rounds": {n: sorted(s.rounds) for n, s in sorted(cfg.corpora.items()) if s.rounds is not None}}
           if any(s.rounds is not None for s in cfg.corpora.values()) else {}),
    }
    prints = {n: CORPORA[n].fingerprint() for n in sorted(cfg.corpora) if n in CORPORA and CORPORA[n].fingerprint}
    if prints:  # (only when present, so the keys of existing caches stay valid)
        payload["files"] = prints
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def build_rows(cfg: DataConfig, data_dir: Path, stats: BuildStats) -> dict[str, list[dict[str, Any]]]:
    """Load, cap, de-duplicate and split: rows per split."""
    records: list[Record] = []
    for name in sorted(cfg.corpora):
        spec = cfg.corpora[name]
        recs = list(load_corpus(name, data_dir))
        stats.available[name] = len(recs)
        if spec.rounds is not None:  # before drop_replaced: a round left out keeps its source corpus's copy
            recs = in_rounds(recs, spec.rounds)
        if spec.relabel:
            recs, changed = apply_relabels(recs, read_relabels())
            log.info("%s: %d labels changed by the codebook relabels", name, changed)
        if spec.max_records is not None:
            recs = cap_records(recs, spec.max_records, cfg.seed)
        if spec.markers is not None:  # mask what this corpus is not asked to teach (copies: records may be shared)
            recs = [dataclasses.replace(r, labels={m: (v if m in spec.markers else None) for m, v in r.labels.items()})
                    for r in recs]
        stats.loaded[name] = len(recs)
        log.info("%s: %d records (%d available)", name, len(recs), stats.available[name])
        records.extend(recs)
    records = drop_replaced(records, cfg.corpora, stats)
    rows = deduplicate(records, stats)
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    for row in rows:
        out[row.pop("split") or split_of(row["corpus"], row["doc_id"], cfg.seed, cfg.split)].append(row)
    for s in SPLITS:
        stats.rows[s] = len(out[s])
    return out


def drop_replaced(records: list[Record], corpora: Mapping[str, Any], stats: BuildStats) -> list[Record]:
    """Records of documents that a configured corpus re-annotates are dropped from their source corpus.

    E.g. an article in the news annotations (doc_id "polnear_attribution/<id>") is taken from there
    only: its PolNeAR copy (weak labels, other sentence cuts) would otherwise sit in some split too.
    """
    replaced: set[tuple[str, str]] = set()
    for name in corpora:
        info = CORPORA.get(name)
        if info is not None and info.replaces:
            replaced |= {tuple(r.doc_id.split("/", 1)) for r in records if r.corpus == name}  # type: ignore[misc]
    if not replaced:
        return records
    kept = [r for r in records if (r.corpus, r.doc_id) not in replaced]
    for r in records:
        if (r.corpus, r.doc_id) in replaced:
            stats.replaced[r.corpus] += 1
    log.info("re-annotated documents: dropped %s records from their source corpora", dict(stats.replaced))
    return kept


def _to_datasetdict(rows: dict[str, list[dict[str, Any]]]) -> datasets.DatasetDict:
    cols = list(FEATURES)
    return datasets.DatasetDict(
        {s: datasets.Dataset.from_dict({c: [r[c] for r in rows[s]] for c in cols}, features=FEATURES) for s in SPLITS}
    )


def build_dataset(cfg: DataConfig, rebuild: bool = False) -> datasets.DatasetDict:
    """The DatasetDict for a data config, from the cache when it was built before."""
    data_dir = Path(cfg.data_dir) if cfg.data_dir else default_data_dir()
    key = _data_key(cfg, data_dir)
    target = Path(cfg.cache_dir) / key
    if target.is_dir() and not rebuild:
        log.info("loading cached dataset %s", target)
        with _quiet_datasets():
            dd = datasets.load_from_disk(str(target))
        check_leakage(dd)
        return dd
    stats = BuildStats()
    dd = _to_datasetdict(build_rows(cfg, data_dir, stats))
    check_leakage(dd)
    if sum(stats.conflicts.values()):
        log.warning("label conflicts between copies of a sentence (resolved, see dataset.py): %s", dict(stats.conflicts))
    log.info("dataset: %s rows per split; %d duplicate copies merged", dict(stats.rows), sum(stats.duplicates.values()))
    # Atomic: built in a temporary sibling folder that replaces the old cache only when complete.
    with atomic_dir(target) as tmp:
        # one shard per split: datasets writes an empty split as zero shards it cannot read back
        with _quiet_datasets():
            dd.save_to_disk(str(tmp), num_shards={s: 1 for s in dd})
        manifest = {"data_config": {"data_dir": str(data_dir), "corpora": sorted(cfg.corpora), "seed": cfg.seed,
                                    "max_records": {n: s.max_records for n, s in cfg.corpora.items()},
                                    "split": [cfg.split.train, cfg.split.dev, cfg.split.test]},
                    "version": DATASET_VERSION, "stats": stats.to_dict()}
        (tmp / "build.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    with _quiet_datasets():
        return datasets.load_from_disk(str(target))


@contextlib.contextmanager
def _quiet_datasets() -> Iterator[None]:
    """No progress bars for the quick local saves and loads of a build."""
    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def build_stats(cfg: DataConfig) -> dict[str, Any] | None:
    """The build statistics saved beside a cached dataset (None if it was not built yet)."""
    data_dir = Path(cfg.data_dir) if cfg.data_dir else default_data_dir()
    path = Path(cfg.cache_dir) / _data_key(cfg, data_dir) / "build.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def data_config_for(
    corpora: Sequence[str] | Mapping[str, CorpusSpec | int | None],
    data_dir: Path | str | None = None,
    seed: int = 13,
    cache_dir: str | None = None,
) -> DataConfig:
    """A DataConfig from a list of corpus names, or a mapping name -> spec / max_records."""
    if isinstance(corpora, str):
        corpora = [corpora]
    if isinstance(corpora, Mapping):
        specs = {n: s if isinstance(s, CorpusSpec) else CorpusSpec(max_records=s) for n, s in corpora.items()}
    else:
        specs = {n: CorpusSpec() for n in corpora}
    cfg = DataConfig(data_dir=str(data_dir) if data_dir is not None else None, corpora=specs, seed=seed)
    if cache_dir is not None:
        cfg.cache_dir = cache_dir
    cfg.check("data")
    return cfg


def load_split(
    corpora: Sequence[str] | Mapping[str, CorpusSpec | int | None],
    split: str,
    data_dir: Path | str | None = None,
    seed: int = 13,
    cache_dir: str | None = None,
) -> datasets.Dataset:
    """One split ("train", "dev", "test" or "all") of the dataset built from `corpora`.

    The rows carry text, corpus, doc_id and one int8 column per marker (1, 0, -1 unknown).
    """
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split must be one of {', '.join(SPLITS)} or all, got {split!r}")
    dd = build_dataset(data_config_for(corpora, data_dir, seed, cache_dir))
    if split == "all":
        return datasets.concatenate_datasets([dd[s] for s in SPLITS])
    return dd[split]


def split_counts(dd: datasets.DatasetDict) -> list[dict[str, Any]]:
    """Per split, corpus and marker: positives, negatives and unknowns."""
    out = []
    for split in dd:
        ds = dd[split]
        corpora = ds["corpus"]
        for m in MARKERS:
            counts: dict[str, Counter] = defaultdict(Counter)
            for c, v in zip(corpora, ds[m]):
                counts[c][v] += 1
            for c in sorted(counts):
                out.append({"split": split, "corpus": c, "marker": m, "positive": counts[c][1],
                            "negative": counts[c][0], "unknown": counts[c][UNKNOWN]})
    return out
