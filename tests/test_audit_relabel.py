"""The audit of the training mix, the codebook relabels and the contrast pairs: small inputs written here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("yaml")

from redflags.training.audit import audit, conflicts, load_patterns  # noqa: E402
from redflags.training.corpora.codebook_contrasts import read_contrasts  # noqa: E402
from redflags.training.corpora.news_annotations import sentence_hash  # noqa: E402
from redflags.training.corpora.registry import CorpusError  # noqa: E402
from redflags.training.records import Record  # noqa: E402
from redflags.training.relabel import apply_relabels, read_relabels  # noqa: E402

U, H, S = "unverifiable_sourcing", "hedging", "sensational_framing"


def test_shipped_patterns_load_and_each_names_its_codebook_rule() -> None:
    patterns = load_patterns()
    assert len({p.id for p in patterns}) == len(patterns) >= 10
    assert all(p.rule for p in patterns)
    can = next(p for p in patterns if p.id == "ability_can")
    assert can.regex.search("Residents can apply online") and not can.regex.search("It may rain")


def test_bad_pattern_file_names_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("patterns:\n  - {id: x, marker: hedging, expected: 1, rule: r, regex: '('}\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"p.yaml: pattern 1 \(x\): bad regex"):
        load_patterns(bad)


def test_audit_rates_and_a_conflict_against_the_news_annotations() -> None:
    patterns = [p for p in load_patterns() if p.id == "ability_can"]
    news = [("news_annotations", f"You can apply online, form {i}.", {H: 0, U: -1, S: -1}) for i in range(10)]
    proxy = [("sfu", f"You can use it daily, item {i}.", {H: 1, U: -1, S: -1}) for i in range(25)]
    silent = [("other", "You can vote.", {H: -1, U: -1, S: -1})]  # masked: not counted
    result = audit(news + proxy + silent, patterns)
    rows = result["ability_can"]["corpora"]
    assert rows["news_annotations"]["rate"] == 0.0 and rows["sfu"]["rate"] == 1.0 and "other" not in rows
    assert conflicts(result) == [("ability_can", "sfu", 1.0, 0.0, 25)]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_relabels_change_one_marker_and_its_spans(tmp_path: Path) -> None:
    text = "You can use it every day."
    rec = Record(text, "sfu", "doc1", {U: None, H: 1, S: None})
    path = _write(tmp_path / "r.jsonl", [{"corpus": "sfu", "doc_id": "doc1", "sha": sentence_hash(text),
                                          "marker": H, "label": 0, "evidence": [], "was": 1}])
    [out], changed = apply_relabels([rec, ], read_relabels(path))
    assert changed == 1 and out.labels == {U: None, H: 0, S: None} and out.spans == []
    other, n = apply_relabels([Record("Another sentence.", "sfu", "doc1", {H: 1})], read_relabels(path))
    assert n == 0 and other[0].labels[H] == 1


def test_relabel_file_errors_name_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.jsonl", [{"corpus": "c", "doc_id": "d", "sha": "x", "marker": H, "label": 1,
                                          "evidence": [], "was": 0}])
    with pytest.raises(CorpusError, match=r"r.jsonl:1: a positive label needs evidence"):
        read_relabels(path)


def test_contrast_pairs_are_train_only_and_evidence_is_checked(tmp_path: Path) -> None:
    good = {"pair": "c1", "distinction": "x", "text": "Some analysts say it will fail.",
            "labels": {U: 1, H: 0, S: 0}, "evidence": [{"marker": U, "text": "Some analysts say"}]}
    [rec] = read_contrasts(_write(tmp_path / "c.jsonl", [good]))
    assert rec.split == "train" and rec.text[rec.spans[0].start:rec.spans[0].end] == "Some analysts say"
    bad = dict(good, evidence=[{"marker": U, "text": "critics argue"}])
    with pytest.raises(CorpusError, match=r"c.jsonl:1: evidence 'critics argue' is not in the sentence"):
        list(read_contrasts(_write(tmp_path / "c.jsonl", [bad])))


def test_shipped_contrast_file_loads_in_pairs() -> None:
    recs = list(read_contrasts())
    pairs: dict[str, int] = {}
    for r in recs:
        pairs[r.doc_id] = pairs.get(r.doc_id, 0) + 1
    assert len(recs) >= 700 and set(pairs.values()) == {2}
