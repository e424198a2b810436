"""Whole news articles of the public corpora, by (corpus, doc_id): the texts the news annotations point into.

The news annotations (training/annotations/news.jsonl.gz) store offsets, never text. This module gives
the exact article string those offsets refer to (read with newline="", so offsets count any "\r"):
- polnear_attribution: `<compartment>/text/<doc_id>.txt` (train and dev compartments);
- ptc_semeval2020_task11: `train-articles/article<doc_id>.txt` (newline="" keeps offsets exact).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from redflags.training.corpora.registry import CorpusError, corpus_folder

POLNEAR = "polnear_attribution"
PTC = "ptc_semeval2020_task11"
SOURCES: tuple[str, ...] = (POLNEAR, PTC)
_POLNEAR_COMPARTMENTS = ("train", "dev")


def _path(corpus: str, doc_id: str, folder: Path) -> Path:
    if corpus == POLNEAR:
        for comp in _POLNEAR_COMPARTMENTS:
            p = folder / comp / "text" / f"{doc_id}.txt"
            if p.is_file():
                return p
        raise CorpusError(f"{folder}: no article {doc_id!r} in the {'/'.join(_POLNEAR_COMPARTMENTS)} compartments")
    if corpus == PTC:
        p = folder / "train-articles" / f"article{doc_id}.txt"
        if not p.is_file():
            raise CorpusError(f"{p}: article {doc_id!r} not found")
        return p
    raise CorpusError(f"no whole articles for corpus {corpus!r}; news articles come from {', '.join(SOURCES)}")


def article_text(corpus: str, doc_id: str, data_dir: Path | str | None = None) -> str:
    """The article's text exactly as stored (offsets of the news annotations index into it)."""
    path = _path(corpus, doc_id, corpus_folder(corpus, data_dir))
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot read: {exc}") from exc


def polnear_files(data_dir: Path | str | None = None, compartments: tuple[str, ...] = _POLNEAR_COMPARTMENTS
                  ) -> Iterator[Path]:
    """PolNeAR's article files, compartment by compartment, sorted (the one place their layout is known);
    compartments that are missing are skipped."""
    folder = corpus_folder(POLNEAR, data_dir)
    for comp in compartments:
        yield from sorted((folder / comp / "text").glob("*.txt"))


def list_articles(data_dir: Path | str | None = None) -> Iterator[tuple[str, str]]:
    """(corpus, doc_id) of every article the news annotations may draw from, in a fixed order."""
    for p in polnear_files(data_dir):
        yield POLNEAR, p.stem
    folder = corpus_folder(PTC, data_dir)
    for p in sorted((folder / "train-articles").glob("article*.txt")):
        yield PTC, p.stem.removeprefix("article")
