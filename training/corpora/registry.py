"""Corpus registry: every loader registers itself here under its folder name."""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from redflags.training.records import Record

log = logging.getLogger(__name__)

DATA_ENV = "REDFLAGS_DATA"


class CorpusError(Exception):
    """A corpus is missing or malformed; the message names the folder or file (and line)."""


@dataclass
class Skips:
    """Counts rows a loader skipped, with file and line, so nothing is dropped silently."""

    corpus: str
    counts: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def skip(self, path: Path | str, line: int | None, reason: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        self.counts[reason] += 1
        if len(self.examples) < 20:
            self.examples.append(f"{where}: {reason}")
        log.debug("%s: skipped %s: %s", self.corpus, where, reason)

    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        parts = ", ".join(f"{n} {reason}" for reason, n in self.counts.most_common())
        return f"{self.corpus}: skipped {self.total()} rows ({parts})" if self.counts else f"{self.corpus}: no rows skipped"


LoaderFn = Callable[[Path, Skips], Iterable[Record]]


@dataclass(frozen=True)
class CorpusInfo:
    name: str  # folder name under the data directory
    informs: tuple[str, ...]  # markers the corpus labels; the others are masked (None)
    kind: str  # "gold", "weak", "proxy" ... as in data/README.md
    licence: str
    required: tuple[str, ...]  # files or folders that must exist in the corpus folder
    loader: LoaderFn
    folder: str | None = None  # the folder under the data directory, when not the corpus name ("." = the data directory)
    # Corpora whose documents this one re-annotates (doc_id "<corpus>/<doc_id>"): where both are in a data
    # config, those documents' records come from this corpus only, so an article is never in two splits.
    replaces: tuple[str, ...] = ()
    fingerprint: Callable[[], str] | None = None  # a hash of files outside the data directory (cache key)
    # Markers whose evidence words the corpus marks as spans (Record.spans): the token head learns from these
    # only; for the other markers its token targets are masked, as unknown labels are for the sentence head.
    span_markers: tuple[str, ...] = ()


CORPORA: dict[str, CorpusInfo] = {}


def register(
    name: str, *, informs: tuple[str, ...], kind: str, licence: str, required: tuple[str, ...] = (),
    folder: str | None = None, replaces: tuple[str, ...] = (), fingerprint: Callable[[], str] | None = None,
    span_markers: tuple[str, ...] = (),
) -> Callable[[LoaderFn], LoaderFn]:
    """Decorator that registers a loader `fn(folder, skips) -> Iterable[Record]`."""

    def deco(fn: LoaderFn) -> LoaderFn:
        if name in CORPORA:
            raise ValueError(f"corpus {name!r} registered twice")
        CORPORA[name] = CorpusInfo(name, informs, kind, licence, required, fn, folder, replaces, fingerprint, span_markers)
        return fn

    return deco


def default_data_dir() -> Path:
    """$REDFLAGS_DATA, else ../shared/data beside the working directory or beside the checkout."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidate = base.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path("../shared/data")


def corpus_folder(name: str, data_dir: Path | str | None = None) -> Path:
    """The folder of corpus `name`, checked to hold what its loader expects."""
    if name not in CORPORA:
        raise CorpusError(f"unknown corpus {name!r}; known: {', '.join(sorted(CORPORA))}")
    info = CORPORA[name]
    folder = Path(data_dir if data_dir is not None else default_data_dir()) / (info.folder or name)
    if not folder.is_dir():
        raise CorpusError(
            f"corpus folder {folder} is missing; expected {', '.join(info.required) or 'the corpus files'} there "
            f"(set --data-dir or ${DATA_ENV} to the folder that holds the corpora)"
        )
    missing = [r for r in info.required if not (folder / r).exists()]
    if missing:
        raise CorpusError(f"corpus folder {folder} lacks {', '.join(missing)}")
    return folder


def load_corpus(name: str, data_dir: Path | str | None = None) -> Iterator[Record]:
    """Yield the records of one corpus; skipped rows are counted and logged at the end."""
    folder = corpus_folder(name, data_dir)
    skips = Skips(name)
    yield from CORPORA[name].loader(folder, skips)
    if skips.total():
        log.warning("%s (e.g. %s)", skips.summary(), "; ".join(skips.examples[:3]))
