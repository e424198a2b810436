"""The news annotations: choosing articles, annotator task files, importing answers, agreement.

The annotated set itself lives in `training/annotations/news.jsonl.gz` (labels and offsets only, never
text; the format is in docs/ANNOTATION.md) and is read by the `news_annotations` corpus loader.
This module holds the steps that made it, so they can be rerun and checked:

1. `sample_articles`: which articles, from which split, and why (random or enriched);
2. `write_tasks`: the numbered sentences an annotator reads (outside the repository: corpus text);
3. `import_answers`: an annotator's answers -> stored records, every evidence string checked;
4. `agreement`: Cohen's kappa per marker and evidence overlap F1 between two passes.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from redflags.atomic import atomic_path, write_text
from redflags.markers import MARKERS
from redflags.scoring.segment import Sentence, segment
from redflags.training.config import SplitConfig
from redflags.training.corpora._text import json_lines
from redflags.training.corpora.news_annotations import ANNOTATIONS, article_rounds, sentence_hash
from redflags.training.corpora.news_articles import article_text, list_articles
from redflags.training.dataset import split_of
from redflags.training.metrics import overlap_prf
from sklearn.metrics import cohen_kappa_score

SHORT = {"U": "unverifiable_sourcing", "H": "hedging", "S": "sensational_framing"}
PASSES = ("a", "b", "adjudicated")
S_KINDS = ("loaded_language", "exaggeration", "fear_appeal", "flag_waving", "name_calling", "slogan",
           "dramatised_secrecy", "clickbait")

# The split of an annotated article is the split its source corpus gives it under the default data
# config (seed 13, 80/10/10 by document), so that no model trained on the corpora has seen a news
# test article, v2 included.
SOURCE_SEED = 13
SOURCE_SPLIT = SplitConfig(train=0.8, dev=0.1, test=0.1)
# Articles per split, half drawn at random and half ranked by cue lexicons. Test and dev are
# over-represented against 80/10/10 so that the news test split is large enough to measure on.
PER_SPLIT = {"train": 120, "dev": 40, "test": 70}
MIN_SENTENCES, MAX_SENTENCES = 8, 45  # whole articles an annotator can read in one go

# Cue lexicons for the enriched half. Rare kinds (self-vouching, documents nobody can inspect,
# exclusivity and dramatised secrecy) weigh most, so that they appear in the set at all.
_RARE = re.compile(
    r"\b(this (reporter|newspaper|outlet|publication) (can|has) (confirm|learn)\w*|we (have|had) learned|"
    r"(leaked|classified|confidential|secret|internal) (memo|document|report|e-?mail|cable|file|assessment)s?|"
    r"obtained by|seen by|exclusive(ly)?|quietly|behind closed doors|secretly)\b", re.I)
_CUES = {
    "U": re.compile(r"\b(anonymity|anonymous|unnamed|sources?|insiders?|familiar with|not authori[sz]ed|"
                    r"critics|some (experts|analysts|observers|say)|(is|are|was|were) (widely )?(believed|thought|said) to|"
                    r"reports (say|suggest)|polls show|officials said|aides said)\b", re.I),
    "H": re.compile(r"\b(may|might|could|appears?|seems?|likely|possibly|reportedly|allegedly|apparently|"
                    r"unclear|expected to|whether|suggests?|perhaps)\b", re.I),
    "S": re.compile(r"\b(bombshell|shocking|slam\w*|unprecedented|disaster\w*|catastroph\w*|outrage\w*|horrif\w*|"
                    r"devastat\w*|radical|regime|thugs?|destroy\w*|terrifying|explosive|blasted|crooked|evil|"
                    r"war on|crisis|chaos|scandal\w*)\b", re.I),
}


class AnswerError(ValueError):
    """An annotator's answer does not fit its article; the message names the file, line and document."""


@dataclass(frozen=True)
class Article:
    corpus: str
    doc_id: str
    split: str
    sample: str  # "random", "enriched" (round 1), "hard" (round 2) or "rest" (round 3)
    sentences: tuple[Sentence, ...]

    @property
    def key(self) -> str:
        return f"{self.corpus}/{self.doc_id}"


def cue_score(sentences: Sequence[Sentence]) -> float:
    """Enrichment rank of an article: rare kinds weigh 5, other cue sentences 1, per sentence."""
    rare = sum(bool(_RARE.search(s.text)) for s in sentences)
    common = sum(bool(rx.search(s.text)) for s in sentences for rx in _CUES.values())
    return (5 * rare + common) / len(sentences)


def article_pool(data_dir: Path | str | None = None, exclude: set[str] = frozenset(),
                 sizes: tuple[int, int] = (MIN_SENTENCES, MAX_SENTENCES)) -> dict[str, list[Article]]:
    """Per split, the articles of `sizes` sentences (by default those an annotator reads in one go),
    keys in `exclude` left out."""
    pool: dict[str, list[Article]] = defaultdict(list)
    for corpus, doc_id in list_articles(data_dir):
        if f"{corpus}/{doc_id}" in exclude:
            continue
        sents = tuple(segment(article_text(corpus, doc_id, data_dir)))
        if sizes[0] <= len(sents) <= sizes[1]:
            split = split_of(corpus, doc_id, SOURCE_SEED, SOURCE_SPLIT)
            pool[split].append(Article(corpus, doc_id, split, "", sents))
    return pool


def sample_articles(data_dir: Path | str | None = None, seed: int = 2026) -> list[Article]:
    """The articles to annotate, per split half at random and half by cue score (see module constants)."""
    pool = article_pool(data_dir)
    rng = random.Random(seed)
    chosen: list[Article] = []
    for split, n in PER_SPLIT.items():
        candidates = sorted(pool[split], key=lambda a: a.key)
        n_random = n // 2
        picked = rng.sample(candidates, n_random)
        taken = {a.key for a in picked}
        rest = sorted((a for a in candidates if a.key not in taken), key=lambda a: (-cue_score(a.sentences), a.key))
        chosen += [Article(a.corpus, a.doc_id, split, "random", a.sentences) for a in picked]
        chosen += [Article(a.corpus, a.doc_id, split, "enriched", a.sentences) for a in rest[: n - n_random]]
    return chosen


def write_tasks(articles: Sequence[Article], path: Path) -> None:
    """A task file an annotator reads: each article with its numbered sentences (contains corpus text)."""
    with path.open("w", encoding="utf-8") as fh:
        for a in articles:
            fh.write(f"=== ARTICLE {a.key} ({len(a.sentences)} sentences)\n")
            for i, s in enumerate(a.sentences, 1):
                fh.write(f"[{i}] {' '.join(s.text.split())}\n")
            fh.write("\n")


# ------------------------------------------------------------------- answers -> stored records


def _find(sentence: Sentence, needle: str, where: str) -> tuple[int, int]:
    """Article offsets of evidence `needle` ("words" or "words#k" for the k-th occurrence) in a sentence."""
    occurrence = 1
    m = re.fullmatch(r"(.*)#(\d+)", needle, flags=re.S)
    if m:
        needle, occurrence = m.group(1), int(m.group(2))
    words = needle.split()
    if not words:
        raise AnswerError(f"{where}: empty evidence string")
    # Whitespace in the answer matches any whitespace run (task files show line breaks as spaces).
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    hits = list(pattern.finditer(sentence.text))
    if len(hits) < occurrence:
        raise AnswerError(f"{where}: evidence {needle!r} (occurrence {occurrence}) is not in the sentence {sentence.text!r}")
    hit = hits[occurrence - 1]
    return sentence.start + hit.start(), sentence.start + hit.end()


def answer_records(answer: dict[str, Any], article: Article, annotation_pass: str, where: str) -> list[dict[str, Any]]:
    """Stored records (one per sentence of the article) from one annotator answer line."""
    if answer.get("n_sentences") != len(article.sentences):
        raise AnswerError(f"{where}: n_sentences is {answer.get('n_sentences')!r}, the article has {len(article.sentences)}")
    by_sentence: dict[int, dict[str, Any]] = {}
    for item in answer.get("annotations", []):
        n = item.get("s")
        if not isinstance(n, int) or not 1 <= n <= len(article.sentences):
            raise AnswerError(f"{where}: sentence number {n!r} is not in 1..{len(article.sentences)}")
        if n in by_sentence:
            raise AnswerError(f"{where}: sentence {n} is listed twice")
        unknown = set(item) - {"s", "U", "H", "S", "S_kind", "borderline", "note"}
        if unknown:
            raise AnswerError(f"{where}: sentence {n}: unknown keys {sorted(unknown)}")
        by_sentence[n] = item
    records = []
    for n, sent in enumerate(article.sentences, 1):
        item = by_sentence.get(n, {})
        labels, evidence = {}, []
        for short, marker in SHORT.items():
            spans = item.get(short, [])
            if not isinstance(spans, list) or not all(isinstance(x, str) for x in spans):
                raise AnswerError(f"{where}: sentence {n}: {short} must be a list of strings")
            labels[marker] = int(bool(spans))
            kinds = item.get("S_kind", []) if short == "S" else []
            for j, needle in enumerate(spans):
                start, end = _find(sent, needle, f"{where}: sentence {n} {short}")
                ev: dict[str, Any] = {"marker": marker, "start": start, "end": end}
                if short == "S" and j < len(kinds) and kinds[j] in S_KINDS:
                    ev["kind"] = kinds[j]
                evidence.append(ev)
        border = item.get("borderline", [])
        if not isinstance(border, list) or not set(border) <= set(SHORT):
            raise AnswerError(f"{where}: sentence {n}: borderline must list some of U, H, S")
        records.append({
            "corpus": article.corpus, "doc_id": article.doc_id, "split": article.split, "sample": article.sample,
            "pass": annotation_pass, "sentence": n, "start": sent.start, "end": sent.end, "sha": sentence_hash(sent.text),
            "labels": labels,
            "evidence": sorted(evidence, key=lambda e: (e["start"], e["end"], e["marker"])),
            "borderline": [SHORT[b] for b in sorted(border)],
        })
    return records


def read_answers(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, answer) per non-empty line of an annotator's answer file."""
    for where, answer in json_lines(path, AnswerError):
        if not isinstance(answer, dict) or "doc" not in answer:
            raise AnswerError(f"{where}: expected an object with a 'doc' key")
        yield where, answer


def import_answers(paths: Iterable[Path], articles: Sequence[Article], annotation_pass: str) -> list[dict[str, Any]]:
    """Stored records from answer files; every answered article must be one of `articles`, once."""
    by_key = {a.key: a for a in articles}
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for path in paths:
        for where, answer in read_answers(path):
            key = answer["doc"]
            if key not in by_key:
                raise AnswerError(f"{where}: {key!r} is not one of the chosen articles")
            if key in seen:
                raise AnswerError(f"{where}: {key!r} answered twice")
            seen.add(key)
            out.extend(answer_records(answer, by_key[key], annotation_pass, where))
    return out


# ------------------------------------------------------------------- agreement


def agreement(first: Sequence[dict[str, Any]], second: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Cohen's kappa per marker on the sentences both passes labelled, and evidence overlap F1.

    Evidence F1 per marker: SemEval-2020 Task 11 partial-overlap credit of pass-b spans against
    pass-a spans (training.metrics.overlap_prf, as the evaluation of evidence spans), over the
    sentences both passes labelled positive.
    """
    key = lambda r: (r["corpus"], r["doc_id"], r["start"], r["end"])  # noqa: E731
    a, b = {key(r): r for r in first}, {key(r): r for r in second}
    both = sorted(set(a) & set(b))
    out: dict[str, dict[str, float]] = {}
    for m in MARKERS:
        ya = [a[k]["labels"][m] for k in both]
        yb = [b[k]["labels"][m] for k in both]
        pairs = [([(e["start"], e["end"]) for e in b[k]["evidence"] if e["marker"] == m],
                  [(e["start"], e["end"]) for e in a[k]["evidence"] if e["marker"] == m])
                 for k in both if a[k]["labels"][m] and b[k]["labels"][m]]
        spans = overlap_prf([p for p, _ in pairs], [g for _, g in pairs])  # pass b scored against pass a
        out[m] = {
            "sentences": len(both),
            "positive_a": sum(ya), "positive_b": sum(yb),
            "kappa": float(cohen_kappa_score(ya, yb)) if len(set(ya) | set(yb)) > 1 else float("nan"),
            "raw_agreement": sum(x == y for x, y in zip(ya, yb)) / len(both) if both else float("nan"),
            "evidence_f1": spans["f1"],
        }
    return out


def disagreements(first: Sequence[dict[str, Any]], second: Sequence[dict[str, Any]]) -> Counter:
    """How many sentences the two passes label differently, per marker."""
    key = lambda r: (r["corpus"], r["doc_id"], r["start"], r["end"])  # noqa: E731
    b = {key(r): r for r in second}
    out: Counter = Counter()
    for r in first:
        other = b.get(key(r))
        if other is not None:
            for m in MARKERS:
                out[m] += r["labels"][m] != other["labels"][m]
    return out


def adjudicated_records(first: Sequence[dict[str, Any]], second: Sequence[dict[str, Any]],
                        decisions: Iterable[dict[str, Any]], articles: Sequence[Article]) -> list[dict[str, Any]]:
    """The adjudicated pass of the doubly annotated articles: pass a, with each disagreement decided.

    `decisions`: one per (article, sentence, marker) on which a and b disagree, with the label and
    evidence strings the adjudicator chose ({"doc", "s", "marker": "U"|"H"|"S", "label", "evidence",
    "S_kind"}). Where a and b agree on a label, pass a's evidence is kept.
    """
    by_key = {a.key: a for a in articles}
    key = lambda r: (f"{r['corpus']}/{r['doc_id']}", r["sentence"])  # noqa: E731
    b = {key(r): r for r in second}
    decided = {(d["doc"], d["s"], SHORT[d["marker"]]): d for d in decisions}
    out = []
    for r in first:
        other = b.get(key(r))
        if other is None:
            continue
        new = json.loads(json.dumps(r))
        new["pass"] = "adjudicated"
        for m in MARKERS:
            if r["labels"][m] == other["labels"][m]:
                continue
            d = decided.get((*key(r), m))
            if d is None:
                raise AnswerError(f"{key(r)}: a and b disagree on {m} and there is no adjudication")
            new["labels"][m] = int(d["label"])
            new["evidence"] = [e for e in new["evidence"] if e["marker"] != m]
            sentence = by_key[key(r)[0]].sentences[r["sentence"] - 1]
            kinds = d.get("S_kind", []) if m == "sensational_framing" else []
            for j, needle in enumerate(d.get("evidence", []) if d["label"] else []):
                start, end = _find(sentence, needle, f"adjudication {key(r)} {m}")
                ev: dict[str, Any] = {"marker": m, "start": start, "end": end}
                if j < len(kinds) and kinds[j] in S_KINDS:
                    ev["kind"] = kinds[j]
                new["evidence"].append(ev)
            new["evidence"].sort(key=lambda e: (e["start"], e["end"], e["marker"]))
        out.append(new)
    return out


def write_annotations(records: Iterable[dict[str, Any]], path: Path | None = None) -> None:
    """The stored file, one record per line in a stable order, written atomically."""
    path = path if path is not None else ANNOTATIONS
    order = {p: i for i, p in enumerate(PASSES)}
    rows = sorted(records, key=lambda r: (r["corpus"], r["doc_id"], order[r["pass"]], r["start"]))
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if path.suffix == ".gz":  # mtime 0: the same records give the same bytes
        with atomic_path(path) as tmp:
            tmp.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    else:
        write_text(path, text)


def annotation_report(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown: the set (articles, sentences and positives per split and sample) and agreement of a vs b."""
    first = [r for r in rows if r["pass"] == "a"]
    second = [r for r in rows if r["pass"] == "b"]
    lines = ["# News annotations: the set and its agreement", "",
             "Produced by `redflags data annotations` from `training/annotations/news.jsonl.gz` (labels only; the texts "
             "are the PolNeAR and PTC articles in the data folder). Guide: docs/ANNOTATION.md.", "",
             "## The set (pass a, or the adjudicated pass where an article was annotated twice)", "",
             "| split | sample | articles | sentences | " + " | ".join(MARKERS) + " | borderline |",
             "|---|---|---|---|" + "---|" * (len(MARKERS) + 1)]
    adjudicated = {(r["corpus"], r["doc_id"]) for r in rows if r["pass"] == "adjudicated"}
    final = [r for r in rows if (r["pass"] == "adjudicated") or (r["pass"] == "a" and (r["corpus"], r["doc_id"]) not in adjudicated)]
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in final:
        groups[(r["split"], r["sample"])].append(r)
        groups[(r["split"], "all")].append(r)
        groups[("all", "all")].append(r)
    for split in ("train", "dev", "test", "all"):
        for sample in ("random", "enriched", "hard", "rest", "all"):
            g = groups.get((split, sample))
            if not g or (split == "all" and sample != "all"):
                continue
            arts = len({(r["corpus"], r["doc_id"]) for r in g})
            pos = [f"{sum(r['labels'][m] for r in g)} ({sum(r['labels'][m] for r in g) / len(g):.0%})" for m in MARKERS]
            lines.append(f"| {split} | {sample} | {arts} | {len(g)} | " + " | ".join(pos) + f" | {sum(bool(r['borderline']) for r in g)} |")
    round_of = article_rounds()
    by_round: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in final:
        by_round[round_of.get(f"{r['corpus']}/{r['doc_id']}", 0)].append(r)
    lines += ["", "## By annotation round (articles.jsonl `round`; a training config picks its rounds)", "",
              "| round | splits | articles | sentences | " + " | ".join(MARKERS) + " |", "|---|---|---|---|" + "---|" * len(MARKERS)]
    for n, g in sorted(by_round.items()):
        pos = [f"{sum(r['labels'][m] for r in g) / len(g):.0%}" for m in MARKERS]
        lines.append(f"| {n or 'unlisted'} | {', '.join(sorted({r['split'] for r in g}))} | "
                     f"{len({(r['corpus'], r['doc_id']) for r in g})} | {len(g)} | " + " | ".join(pos) + " |")
    if second:
        ag = agreement(first, second)
        n_docs = len({(r["corpus"], r["doc_id"]) for r in second})
        lines += ["", f"## Agreement: two independent passes over {n_docs} articles ({len(second)} sentences)", "",
                  "The second annotator saw only the texts and the guide, never the first labels. Evidence F1: "
                  "character-overlap credit (SemEval-2020 Task 11 style) between the two passes' evidence spans, "
                  "on sentences both labelled positive.", "",
                  "| marker | Cohen's kappa | raw agreement | positives a | positives b | evidence overlap F1 |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {m} | {v['kappa']:.3f} | {v['raw_agreement']:.3f} | {v['positive_a']} | {v['positive_b']} | "
                  f"{v['evidence_f1']:.3f} |" for m, v in ag.items()]
        dis = disagreements(first, second)
        lines += ["", f"Disagreements (sentence × marker): {sum(dis.values())} "
                  f"({', '.join(f'{m} {n}' for m, n in dis.items())}), each decided by an adjudicator under the codebook "
                  "(rules: training/annotations/adjudication.jsonl; new edge cases: docs/CODEBOOK.md)."]
    return "\n".join(lines) + "\n"
