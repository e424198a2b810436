"""Dataset building: de-duplication, label merging, splits by document, leakage check, cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from redflags.markers import MARKERS
from redflags.training import dataset as ds_mod
from redflags.training.config import CorpusSpec, DataConfig, SplitConfig
from redflags.training.corpora import CORPORA, CorpusInfo
from redflags.training.records import Record, labels

U, H, S = MARKERS


def fake_corpora(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, corpora: dict[str, tuple[str, list[Record]]]) -> Path:
    """Register fake corpora (name -> (kind, records)) and make their folders; returns the data dir."""
    data_dir = tmp_path / "data"
    for name, (kind, records) in corpora.items():
        (data_dir / name).mkdir(parents=True)

        def load(folder: Path, skips, _records=records):
            yield from _records

        informs = tuple(m for m in MARKERS if any(r.labels[m] is not None for r in records))
        monkeypatch.setitem(CORPORA, name, CorpusInfo(name, informs, kind, "test-licence", (), load))
    return data_dir


def make_docs(corpus: str, n_docs: int, per_doc: int, marker: str = H) -> list[Record]:
    return [Record(f"{corpus} doc {d} sentence {s} may be true.", corpus, f"d{d}", labels(**{marker: (d + s) % 2}))
            for d in range(n_docs) for s in range(per_doc)]


def data_cfg(data_dir: Path, tmp_path: Path, names: list[str], seed: int = 13, **caps: int) -> DataConfig:
    cfg = DataConfig(data_dir=str(data_dir), corpora={n: CorpusSpec(max_records=caps.get(n)) for n in names},
                     seed=seed, cache_dir=str(tmp_path / "cache"))
    cfg.check("data")
    return cfg


def test_normalise_ignores_case_quotes_and_spacing() -> None:
    assert ds_mod.normalise("  \u201cIt  MAY\u201d rain \u2014 soon ") == ds_mod.normalise('"it may" rain - soon')
    assert ds_mod.normalise("   ") == ""


def test_merge_gold_beats_weak_then_majority_then_positive() -> None:
    stats = ds_mod.BuildStats()
    gold = Record("x", "g", "1", labels(hedging=0))
    weak = Record("x", "w", "1", labels(hedging=1, unverifiable_sourcing=1))
    import redflags.training.dataset as d

    kinds = {"g": "gold", "w": "weak"}
    orig = d._kind_rank
    d._kind_rank = lambda c: 0 if kinds[c] == "gold" else 1
    try:
        merged = d.merge_labels([gold, weak], stats)
        assert merged == {U: 1, H: 0, S: -1}
        assert stats.conflicts[H] == 1 and stats.conflicts[U] == 0
        tie = d.merge_labels([Record("x", "w", "1", labels(hedging=0)), weak], stats)
        assert tie[H] == 1  # a tie among equals is positive
        majority = d.merge_labels([Record("x", "w", "1", labels(hedging=0))] * 2 + [weak], stats)
        assert majority[H] == 0
    finally:
        d._kind_rank = orig


def test_dedup_across_corpora_merges_labels_and_counts(monkeypatch, tmp_path) -> None:
    a = [Record("Officials said it may rain.", "corp_a", "a1", labels(hedging=1)),
         Record("A plain sentence.", "corp_a", "a1", labels(hedging=0))]
    b = [Record("officials said it  MAY rain.", "corp_b", "b7", labels(unverifiable_sourcing=1)),
         Record("", "corp_b", "b7", labels(unverifiable_sourcing=0))]
    data_dir = fake_corpora(monkeypatch, tmp_path, {"corp_a": ("gold", a), "corp_b": ("weak", b)})
    cfg = data_cfg(data_dir, tmp_path, ["corp_a", "corp_b"])
    stats = ds_mod.BuildStats()
    rows = ds_mod.build_rows(cfg, data_dir, stats)
    allrows = [r for s in ds_mod.SPLITS for r in rows[s]]
    assert len(allrows) == 2
    merged = next(r for r in allrows if "rain" in r["text"])
    # the copy that sorts first (corpus_a) keeps its text and document; labels of both are kept
    assert (merged["corpus"], merged["doc_id"], merged["text"]) == ("corp_a", "a1", "Officials said it may rain.")
    assert (merged[U], merged[H], merged[S]) == (1, 1, -1)
    assert stats.duplicates["corp_b"] == 1 and stats.empty["corp_b"] == 1


def test_splits_are_by_document_and_independent_of_other_corpora(monkeypatch, tmp_path) -> None:
    recs_a = make_docs("corp_a", 40, 5)
    recs_b = make_docs("corp_b", 30, 3, marker=S)
    data_dir = fake_corpora(monkeypatch, tmp_path, {"corp_a": ("gold", recs_a), "corp_b": ("gold", recs_b)})
    alone = ds_mod.build_dataset(data_cfg(data_dir, tmp_path, ["corp_a"]))
    both = ds_mod.build_dataset(data_cfg(data_dir, tmp_path, ["corp_a", "corp_b"]))

    def doc_splits(dd, corpus):
        out = {}
        for split in ds_mod.SPLITS:
            for c, d in zip(dd[split]["corpus"], dd[split]["doc_id"]):
                if c == corpus:
                    assert out.setdefault(d, split) == split, f"document {d} is in two splits"
        return out

    assert doc_splits(alone, "corp_a") == doc_splits(both, "corp_a")
    assert set(doc_splits(both, "corp_a").values()) == {"train", "dev", "test"}
    # unknown markers are -1, int8 columns
    assert set(both["train"][U]) == {-1}
    assert both["train"].features[H].dtype == "int8"
    # another seed gives another split
    other = ds_mod.build_dataset(data_cfg(data_dir, tmp_path, ["corp_a"], seed=99))
    assert doc_splits(other, "corp_a") != doc_splits(alone, "corp_a")


def test_leakage_check_catches_shared_sentence() -> None:
    import datasets

    def mk(texts):
        return datasets.Dataset.from_dict({"text": texts})

    ok = datasets.DatasetDict({"train": mk(["A b."]), "dev": mk(["C d."]), "test": mk(["E f."])})
    ds_mod.check_leakage(ok)
    bad = datasets.DatasetDict({"train": mk(["A b."]), "dev": mk(["C d."]), "test": mk(["  a B. "])})
    with pytest.raises(ds_mod.LeakageError, match="test sentences also appear in train"):
        ds_mod.check_leakage(bad)


def test_same_sentence_in_two_documents_lands_in_one_split(monkeypatch, tmp_path) -> None:
    # every document repeats one boilerplate sentence: after dedup it exists once, so no leakage
    recs = [Record(t, "corp_a", f"d{d}", labels(hedging=0)) for d in range(30)
            for t in (f"Unique sentence {d}.", "Advertisement")]
    data_dir = fake_corpora(monkeypatch, tmp_path, {"corp_a": ("gold", recs)})
    dd = ds_mod.build_dataset(data_cfg(data_dir, tmp_path, ["corp_a"]))
    texts = [t for s in ds_mod.SPLITS for t in dd[s]["text"]]
    assert texts.count("Advertisement") == 1 and len(texts) == 31


def test_cap_keeps_whole_documents_and_is_seeded(monkeypatch, tmp_path) -> None:
    recs = make_docs("corp_a", 20, 5)
    capped = ds_mod.cap_records(recs, 12, seed=1)
    assert len(capped) == 12
    docs = {r.doc_id for r in capped}
    assert len(docs) == 3  # 5 + 5 + 2
    assert ds_mod.cap_records(recs, 12, seed=1) == capped
    assert ds_mod.cap_records(recs, 12, seed=2) != capped


def test_load_split_and_cache(monkeypatch, tmp_path) -> None:
    recs = make_docs("corp_a", 30, 4)
    data_dir = fake_corpora(monkeypatch, tmp_path, {"corp_a": ("gold", recs)})
    cache = str(tmp_path / "cache")
    train = ds_mod.load_split(["corp_a"], "train", data_dir=data_dir, cache_dir=cache)
    assert set(train.column_names) == {"text", "corpus", "doc_id", *MARKERS, "spans", "span_markers"}
    allsplits = ds_mod.load_split(["corp_a"], "all", data_dir=data_dir, cache_dir=cache)
    assert len(allsplits) == 120
    assert len(list(Path(cache).iterdir())) == 1  # one cached build, reused
    with pytest.raises(ValueError, match="split must be"):
        ds_mod.load_split(["corp_a"], "validation", data_dir=data_dir, cache_dir=cache)
    counts = ds_mod.split_counts(ds_mod.build_dataset(data_cfg(data_dir, tmp_path, ["corp_a"])))
    hedging = [c for c in counts if c["marker"] == H]
    assert sum(c["positive"] + c["negative"] for c in hedging) == 120
    assert all(c["unknown"] == 0 for c in hedging)


def test_remove_overlap() -> None:
    import datasets

    held_out = datasets.Dataset.from_dict({"text": ["It may rain.", "New one."]})
    train = datasets.Dataset.from_dict({"text": ["it MAY rain."]})
    kept, removed = ds_mod.remove_overlap(held_out, train)
    assert removed == 1 and kept["text"] == ["New one."]


def test_split_fractions_must_sum_to_one() -> None:
    from redflags.training.config import ConfigError

    with pytest.raises(ConfigError, match="sum to 1"):
        SplitConfig(0.5, 0.1, 0.1).check("data.split")


def test_corpus_markers_restriction_masks_the_other_markers(monkeypatch, tmp_path) -> None:
    """`markers:` in a corpus spec keeps only those labels; the rest become unknown (-1)."""
    from redflags.training.config import ConfigError

    with pytest.raises(ConfigError, match="markers"):
        CorpusSpec(markers=["colour"]).check("data.corpora.x")
    recs = [Record(f"Sentence {d} may be {d}.", "corp_a", f"d{d}", labels(hedging=d % 2, unverifiable_sourcing=1))
            for d in range(20)]
    data_dir = fake_corpora(monkeypatch, tmp_path, {"corp_a": ("gold", recs)})
    cfg = data_cfg(data_dir, tmp_path, ["corp_a"])
    cfg.corpora["corp_a"].markers = ["unverifiable_sourcing"]
    dd = ds_mod.build_dataset(cfg)
    rows = [r for split in dd.values() for r in split]
    assert len(rows) == 20
    assert all(r["hedging"] == -1 and r["unverifiable_sourcing"] == 1 for r in rows)
    full = data_cfg(data_dir, tmp_path, ["corp_a"])  # no restriction: a different cache, hedging kept
    assert {r["hedging"] for split in ds_mod.build_dataset(full).values() for r in split} == {0, 1}
