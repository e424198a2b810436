"""BASIL (Fan et al., EMNLP 2019), release 2: news articles with lexical and informational bias spans.

Markers: sensational_framing only, as a gold proxy. A headline or body sentence is positive when it holds
at least one *lexical*-bias span (loaded wording), which becomes a Span; otherwise negative. Informational
bias (which facts are reported) is not about wording, so it neither makes a sentence positive nor masks it.
Unmarked sentences are an implicit negative class (annotators marked spans, not every sentence).

Read in place from `basil_v2_articles_annotations.tar.gz` (never extracted): `articles/<year>/<triplet>_<n>.json`
gives `title` and `body-paragraphs` (paragraphs of sentences); `annotations/.../<triplet>_<n>_ann.json` gives
spans whose `id` is `title` or `p<k>` (k-th sentence of the flattened body) with offsets into that sentence.
doc_id: `basil_fan2019/<triplet-uuid>`: the three outlets' articles on one event share a split, because they
quote the same people and would otherwise leak near-identical sentences between train and test.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redflags.training.corpora.registry import CorpusError, Skips, corpus_folder, register
from redflags.training.records import Record, Span, labels

NAME = "basil_fan2019"
ARCHIVE = "basil_v2_articles_annotations.tar.gz"
_ARTICLE = re.compile(r"^articles/(\d{4})/([0-9a-f-]+)_(\d+)\.json$")


def _json(tar: tarfile.TarFile, name: str, where: str) -> Any:
    member = tar.extractfile(name)
    if member is None:
        raise CorpusError(f"{where}: {name} is not a file")
    try:
        return json.load(member)
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{where}/{name}:{exc.lineno}: invalid JSON: {exc.msg}") from exc


def article_records(article: dict, annotation: dict, corpus: str, where: str, skips: Skips) -> Iterator[Record]:
    """Records of one article given its article JSON and annotation JSON."""
    units: list[tuple[str, str]] = [("title", article.get("title") or "")]
    for para in article.get("body-paragraphs") or []:
        for sent in para:
            units.append((f"p{len(units) - 1}", sent if isinstance(sent, str) else ""))
    spans: dict[str, list[Span]] = {}
    texts = dict(units)
    for ann in annotation.get("phrase-level-annotations") or []:
        if ann.get("bias") != "lex":
            continue
        uid, start, end = ann.get("id"), ann.get("start"), ann.get("end")
        text = texts.get(uid)
        if text is None or not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(text):
            raise CorpusError(f"{where}: lexical span {ann.get('txt')!r} does not fit unit {uid!r}")
        spans.setdefault(uid, []).append(Span(start, end, f"lexical_bias_{ann.get('polarity', '')}", "sensational_framing"))
    doc_id = f"{corpus}/{article.get('triplet-uuid') or where}"
    for uid, raw in units:
        text = raw.strip()
        if not text:
            skips.skip(f"{where}#{uid}", None, "empty sentence")
            continue
        lead = len(raw) - len(raw.lstrip())
        s = [Span(max(0, sp.start - lead), min(len(text), sp.end - lead), sp.label, sp.marker) for sp in spans.get(uid, [])]
        yield Record(text, corpus, doc_id, labels(sensational_framing=1 if s else 0), s)


@register(NAME, informs=("sensational_framing",), span_markers=("sensational_framing",), kind="gold-proxy", licence="not stated", required=(ARCHIVE,))
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """All headlines and body sentences of the 300 articles."""
    path = folder / ARCHIVE
    try:
        tar = tarfile.open(path, "r:gz")
    except (tarfile.TarError, OSError) as exc:
        raise CorpusError(f"{path}: cannot open archive: {exc}") from exc
    with tar:
        names = set(tar.getnames())
        articles = sorted(n for n in names if _ARTICLE.match(n))
        if not articles:
            raise CorpusError(f"{path}: no articles/<year>/<uuid>_<n>.json inside")
        for name in articles:
            year, triplet, n = _ARTICLE.match(name).groups()  # type: ignore[union-attr]
            ann_name = f"annotations/{year}/{triplet}_{n}_ann.json"
            if ann_name not in names:
                raise CorpusError(f"{path}: {name} has no annotation file {ann_name}")
            yield from article_records(_json(tar, name, str(path)), _json(tar, ann_name, str(path)), NAME, f"{path}/{name}", skips)


def article_texts(data_dir: Path | str | None = None) -> Iterator[tuple[str, str, str]]:
    """(corpus, doc_id, text): headline and body paragraphs, one paragraph a line. doc_id is the
    loader's (`basil_fan2019/<triplet>`), which decides the split; the article is `<triplet>_<n>`."""
    path = corpus_folder(NAME, data_dir) / ARCHIVE
    try:
        with tarfile.open(path, "r:gz") as tar:
            for name in sorted(n for n in tar.getnames() if _ARTICLE.match(n)):
                article = _json(tar, name, str(path))
                paragraphs = [" ".join(s.strip() for s in para if isinstance(s, str) and s.strip())
                              for para in article.get("body-paragraphs") or []]
                text = "\n\n".join(p for p in [(article.get("title") or "").strip(), *paragraphs] if p)
                triplet = _ARTICLE.match(name).group(2)  # type: ignore[union-attr]
                yield NAME, f"{NAME}/{article.get('triplet-uuid') or triplet}", text
    except (tarfile.TarError, OSError) as exc:
        raise CorpusError(f"{path}: cannot read archive: {exc}") from exc
