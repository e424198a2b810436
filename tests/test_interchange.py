"""The JSONL interchange format: good files, masking of missing labels, malformed lines with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest
from redflags.eval.interchange import (
    Example,
    InterchangeError,
    from_dataset,
    label_matrix,
    read_jsonl,
    write_jsonl,
)
from redflags.markers import MARKERS


def _write(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "data.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


def test_reads_good_file_with_masking_and_extra_keys(tmp_path: Path) -> None:
    p = _write(tmp_path, [
        json.dumps({"id": "a", "text": "Sources say it may rain.", "corpus": "mine", "article": "d1",
                    "labels": {"unverifiable_sourcing": 1, "hedging": 1, "sensational_framing": None}, "extra": 5}),
        "",
        json.dumps({"id": 2, "text": "Plain.", "labels": {"hedging": 0}}),
    ])
    a, b = read_jsonl(p)
    assert a.labels == {"unverifiable_sourcing": 1, "hedging": 1, "sensational_framing": None}
    assert (a.corpus, a.article) == ("mine", "d1")
    assert b.id == "2" and b.labels == {"unverifiable_sourcing": None, "hedging": 0, "sensational_framing": None}
    assert b.corpus == "jsonl:data" and b.article == "2"
    assert label_matrix([a, b]).tolist() == [[1, 1, -1], [-1, 0, -1]]


def test_round_trip(tmp_path: Path) -> None:
    ex = [Example("x", "Text.", {"unverifiable_sourcing": 0, "hedging": None, "sensational_framing": 1}, "c", "d")]
    write_jsonl(ex, tmp_path / "out.jsonl")
    assert read_jsonl(tmp_path / "out.jsonl")[0].to_json() == ex[0].to_json()


@pytest.mark.parametrize(
    "bad, message",
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"text": "no id"}', "missing required key 'id'"),
        ('{"id": "x"}', "missing required key 'text'"),
        ('{"id": "x", "text": "t", "labels": {"hedging": 2}}', "label 'hedging' is 2"),
        ('{"id": "x", "text": "t", "labels": {"hedgin": 1}}', "unknown marker"),
        ('{"id": "x", "text": "t", "labels": [1, 0]}', "'labels' must be an object"),
        ('{"id": "x", "text": 3}', "'text' must be a string"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path: Path, bad: str, message: str) -> None:
    p = _write(tmp_path, ['{"id": "ok", "text": "Fine."}', bad])
    with pytest.raises(InterchangeError) as err:
        read_jsonl(p)
    assert f"{p}:2:" in str(err.value)
    assert message in str(err.value)


def test_duplicate_ids_and_empty_file(tmp_path: Path) -> None:
    p = _write(tmp_path, ['{"id": "a", "text": "x"}', '{"id": "a", "text": "y"}'])
    with pytest.raises(InterchangeError, match=r"data.jsonl:2: duplicate id 'a' \(first on line 1\)"):
        read_jsonl(p)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InterchangeError, match="empty"):
        read_jsonl(empty)
    with pytest.raises(InterchangeError, match="no such file"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_from_dataset_maps_minus_one_to_unknown() -> None:
    ds = datasets.Dataset.from_dict({"text": ["a", "b"], "corpus": ["c", "c"], "doc_id": ["d1", "d2"],
                                     MARKERS[0]: [1, -1], MARKERS[1]: [0, 1], MARKERS[2]: [-1, -1]})
    a, b = from_dataset(ds)
    assert a.labels == {MARKERS[0]: 1, MARKERS[1]: 0, MARKERS[2]: None}
    assert b.labels == {MARKERS[0]: None, MARKERS[1]: 1, MARKERS[2]: None}
    assert (a.corpus, a.article) == ("c", "d1") and a.id != b.id
