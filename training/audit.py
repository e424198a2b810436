"""Audit of the training mix against the codebook (`redflags data audit`).

For each codebook distinction in training/audit_patterns.yaml (a vague group as source or as
actor, a named spokesperson, explicit anonymity, agentless passives, unnamed polls, quotes with
loaded words, idioms, "would", "can", ...), the share of matching sentences each corpus labels
positive for the pattern's marker, next to the same share in the news annotations (the labels made
to the codebook). A corpus whose rate sits far from the news rate on a distinction teaches the
model a convention the codebook does not hold.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import yaml

from redflags.markers import MARKERS
from redflags.training.corpora.registry import CorpusError

PATTERNS = Path(__file__).resolve().parent / "audit_patterns.yaml"
NEWS = "news_annotations"
# A corpus rate this far from the news annotations' rate, on at least MIN_MATCHES sentences, is a conflict.
CONFLICT_GAP = 0.25
MIN_MATCHES = 20


@dataclass(frozen=True)
class Pattern:
    id: str
    marker: str
    expected: Any  # 1, 0 or "mixed"
    rule: str
    regex: re.Pattern[str]


def load_patterns(path: Path | None = None) -> list[Pattern]:
    """The audit's patterns, each checked (known marker, compilable regex, a rule); errors name the file and entry."""
    path = path if path is not None else PATTERNS
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CorpusError(f"{path}: cannot read the audit patterns: {exc}") from exc
    entries = doc.get("patterns") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise CorpusError(f"{path}: expected a non-empty 'patterns' list")
    out, seen = [], set()
    for i, e in enumerate(entries, 1):
        where = f"{path}: pattern {i}"
        if not isinstance(e, dict) or set(e) != {"id", "marker", "expected", "rule", "regex"}:
            raise CorpusError(f"{where}: expected the keys expected, id, marker, regex, rule")
        if e["marker"] not in MARKERS:
            raise CorpusError(f"{where} ({e['id']}): unknown marker {e['marker']!r}")
        if e["expected"] not in (0, 1, "mixed"):
            raise CorpusError(f"{where} ({e['id']}): expected must be 0, 1 or mixed")
        if e["id"] in seen:
            raise CorpusError(f"{where}: id {e['id']!r} is used twice")
        seen.add(e["id"])
        try:
            rx = re.compile(e["regex"], re.I)
        except re.error as exc:
            raise CorpusError(f"{where} ({e['id']}): bad regex: {exc}") from exc
        out.append(Pattern(e["id"], e["marker"], e["expected"], str(e["rule"]), rx))
    return out


def count_matches(text: str, patterns: Sequence[Pattern]) -> int:
    """How many patterns a sentence matches (the hard-case rank of annotation round 2 uses it)."""
    return sum(bool(p.regex.search(text)) for p in patterns)


def audit(rows: Iterable[tuple[str, str, Mapping[str, int]]], patterns: Sequence[Pattern]) -> dict[str, Any]:
    """Per pattern and corpus, from (corpus, text, labels) rows (label -1 = unknown, the corpus is silent):
    sentences the corpus labels for the pattern's marker, those that match, and their positives."""
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    for corpus, text, labels in rows:
        for p in patterns:
            label = labels.get(p.marker)
            if label is None or label < 0:
                continue  # masked: the corpus says nothing about this marker
            c = counts[p.id][corpus]
            c[2] += 1
            if p.regex.search(text):
                c[0] += 1
                c[1] += int(label == 1)
    out: dict[str, Any] = {}
    for p in patterns:
        table = {}
        for corpus, (n, pos, total) in sorted(counts[p.id].items()):
            table[corpus] = {"labelled": total, "matches": n, "positives": pos, "rate": round(pos / n, 3) if n else None}
        out[p.id] = {"marker": p.marker, "expected": p.expected, "rule": p.rule, "corpora": table}
    return out


def dataset_rows(ds: Any) -> Iterator[tuple[str, str, dict[str, int]]]:
    """(corpus, text, labels) of a built dataset split (training.dataset.build_dataset)."""
    columns = {m: ds[m] for m in MARKERS}
    for i, (corpus, text) in enumerate(zip(ds["corpus"], ds["text"])):
        yield corpus, text, {m: columns[m][i] for m in MARKERS}


def conflicts(result: dict[str, Any]) -> list[tuple[str, str, float, float, int]]:
    """(pattern, corpus, corpus rate, news rate, matches) where a corpus departs from the news annotations."""
    found = []
    for pid, entry in result.items():
        news = entry["corpora"].get(NEWS)
        if not news or news["rate"] is None or news["matches"] < 10:
            continue
        for corpus, row in entry["corpora"].items():
            if corpus == NEWS or row["rate"] is None or row["matches"] < MIN_MATCHES:
                continue
            if abs(row["rate"] - news["rate"]) >= CONFLICT_GAP:
                found.append((pid, corpus, row["rate"], news["rate"], row["matches"]))
    return sorted(found, key=lambda c: -abs(c[2] - c[3]))


def audit_markdown(result: dict[str, Any]) -> str:
    """The committed report: one table per pattern, then the conflicts."""
    lines = ["# Training mix against the codebook", "",
             "Produced by `redflags data audit` (patterns: training/audit_patterns.yaml). Per codebook distinction, "
             "the share of matching sentences each corpus labels positive for the marker, next to the news "
             "annotations (labelled to the codebook). Only corpora that label the marker count; patterns find "
             "candidates, they never label anything. The markers describe how a text is written, not whether it is true.", ""]
    for pid, entry in result.items():
        lines += [f"## {pid} ({entry['marker']}, codebook: {entry['expected']})", "", f"> {entry['rule']}", "",
                  "| corpus | labelled sentences | matches | positive | rate |", "|---|---:|---:|---:|---:|"]
        for corpus, row in entry["corpora"].items():
            rate = "–" if row["rate"] is None else f"{row['rate']:.2f}"
            lines.append(f"| {corpus} | {row['labelled']:,} | {row['matches']:,} | {row['positives']:,} | {rate} |")
        lines.append("")
    found = conflicts(result)
    lines += [f"## Conflicts (rate at least {CONFLICT_GAP:.2f} away from the news annotations, at least "
              f"{MIN_MATCHES} matches)", "", "| pattern | corpus | corpus rate | news rate | matches |", "|---|---|---:|---:|---:|"]
    lines += [f"| {p} | {c} | {r:.2f} | {n:.2f} | {m:,} |" for p, c, r, n, m in found]
    return "\n".join(lines) + "\n"
