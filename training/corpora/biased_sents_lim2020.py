"""Biased sentences in news (Lim, Jatowt, Färber & Yoshikawa, LREC 2020): crowd bias ratings 1-4.

Markers: sensational_framing only, as a graded proxy. Read from the curator's per-sentence table
`lim2020_sentences_aggregated.tsv` (mean of 4-5 crowd ratings per sentence; higher = more biased).
Binarisation (mean rating m on the 1-4 scale, midpoint 2.5):
  m >= 2.5 -> 1 (raters on average leaned "biased"; 225 sentences),
  m <  2.0 -> 0 (raters on average leaned "not biased"; 225 sentences),
  2.0 <= m < 2.5 -> skipped as ambiguous (counted; 392 sentences): the ratings are noisy and this band
  carries no reliable direction.
doc_id: `biased_sents_lim2020/<id_article>` (46 articles).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from redflags.training.corpora._text import read_table
from redflags.training.corpora.registry import Skips, register
from redflags.training.records import Record, labels

NAME = "biased_sents_lim2020"
FILE = "lim2020_sentences_aggregated.tsv"
COLUMNS = ("id_article", "sentence", "mean_rating")
POSITIVE_AT = 2.5  # mean rating at or above: biased
NEGATIVE_BELOW = 2.0  # mean rating below: not biased


def binarise(mean_rating: float) -> int | None:
    """1, 0, or None for the ambiguous band."""
    if mean_rating >= POSITIVE_AT:
        return 1
    if mean_rating < NEGATIVE_BELOW:
        return 0
    return None


def read_file(path: Path, corpus: str, skips: Skips) -> Iterator[Record]:
    """Records of the aggregated TSV."""
    for line, row in read_table(path, COLUMNS):
        text = (row["sentence"] or "").strip()
        try:
            rating = float(row["mean_rating"])
        except (TypeError, ValueError):
            skips.skip(path, line, f"mean_rating {row['mean_rating']!r} is not a number")
            continue
        if not text:
            skips.skip(path, line, "empty sentence")
            continue
        label = binarise(rating)
        if label is None:
            skips.skip(path, line, f"mean rating in ambiguous band [{NEGATIVE_BELOW}, {POSITIVE_AT})")
            continue
        yield Record(text, corpus, f"{corpus}/{row['id_article']}", labels(sensational_framing=label))


@register(NAME, informs=("sensational_framing",), kind="graded-proxy", licence="research use only", required=(FILE,))
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """Sentences with a clear mean bias rating."""
    yield from read_file(folder / FILE, NAME, skips)
