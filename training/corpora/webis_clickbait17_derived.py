"""Webis Clickbait Corpus 2017 (Potthast et al., COLING 2018), third-party flattened copy: graded tweets.

Markers: sensational_framing only, as a graded proxy. Each tweet has `truth_mean`, the mean of five crowd
judgements on {0, 1/3, 2/3, 1} (0 = not clickbait ... 1 = heavily clickbait). Binarisation:
  truth_mean >= 0.6 -> 1 (on average the raters judged it at least moderately clickbait; ~3.7k tweets),
  truth_mean <  0.3 -> 0 (on average no more than slightly clickbait; ~10.8k tweets),
  0.3 <= truth_mean < 0.6 -> skipped as ambiguous (counted; ~5k tweets around the corpus's 0.5 cut).
The third party's train/test split is ignored: splits are made by the dataset builder.
doc_id: one per tweet, `webis_clickbait17_derived/<text_id>` (the tweet id).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from redflags.training.corpora._text import read_table
from redflags.training.corpora.registry import Skips, register
from redflags.training.records import Record, labels

NAME = "webis_clickbait17_derived"
FILE = "webis_clickbait17_posts.tsv"
COLUMNS = ("text_id", "post_text", "truth_mean")
POSITIVE_AT = 0.6
NEGATIVE_BELOW = 0.3


def binarise(truth_mean: float) -> int | None:
    """1, 0, or None for the ambiguous band (rounded to 2 decimals: the file holds 0.5999999…)."""
    m = round(truth_mean, 2)
    if m >= POSITIVE_AT:
        return 1
    if m < NEGATIVE_BELOW:
        return 0
    return None


@register(NAME, informs=("sensational_framing",), kind="graded-proxy", licence="CC BY 4.0 (reported)", required=(FILE,))
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """Tweets with a clear mean clickbait judgement."""
    path = folder / FILE
    for line, row in read_table(path, COLUMNS):
        text = (row["post_text"] or "").strip()
        try:
            label = binarise(float(row["truth_mean"]))
        except (TypeError, ValueError):
            skips.skip(path, line, f"truth_mean {row['truth_mean']!r} is not a number")
            continue
        if not text:
            skips.skip(path, line, "empty post text")
            continue
        if label is None:
            skips.skip(path, line, f"truth_mean in ambiguous band [{NEGATIVE_BELOW}, {POSITIVE_AT})")
            continue
        yield Record(text, NAME, f"{NAME}/{row['text_id']}", labels(sensational_framing=label))
