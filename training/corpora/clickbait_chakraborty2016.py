"""Stop Clickbait headlines (Chakraborty et al., ASONAM 2016): clickbait vs news headlines.

Markers: sensational_framing only, as a weak proxy: the label is the source site (BuzzFeed, Upworthy, ...
vs WikiNews, NYT, Guardian, The Hindu), i.e. headline register, so a model can learn site style.
`clickbait_data.gz` -> 1, `non_clickbait_data.gz` -> 0. Headlines are separated by blank lines (not rows).
doc_id: one per headline, `clickbait_chakraborty2016/<file stem>:<line>`.
`hyperbolic_words.txt` is read by `redflags.training.lexicons.hyperbolic_words`, not here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from redflags.training.corpora._text import read_lines
from redflags.training.corpora.registry import Skips, register
from redflags.training.records import Record, labels

NAME = "clickbait_chakraborty2016"
FILES = {"clickbait_data.gz": 1, "non_clickbait_data.gz": 0}


@register(NAME, informs=("sensational_framing",), kind="weak-proxy", licence="MIT", required=tuple(FILES))
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """All 32,000 headlines."""
    for name, label in FILES.items():
        path = folder / name
        for n, raw in read_lines(path):
            text = raw.strip()
            if text:  # blank lines separate headlines; they are not rows
                yield Record(text, NAME, f"{NAME}/{Path(name).stem}:{n}", labels(sensational_framing=label))
