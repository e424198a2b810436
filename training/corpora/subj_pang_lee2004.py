"""Subjectivity dataset v1.0, "SUBJ" (Pang & Lee, ACL 2004): movie-review snippets vs plot sentences.

Markers: sensational_framing only, as an *auxiliary* signal (subjectivity is not sensationalism; the label is
the source, Rotten Tomatoes review snippets vs IMDb plot summaries; movies, not news).
Read from the original files: `subj.subjective` -> 1, `subj.objective` -> 0, decoded as Windows-1252 (the
subjective file holds 0x85/0x91/0x96/0x97 bytes). The text is lower-cased and tokenised; tokens are re-joined
into ordinary text ("it 's ." -> "it's.") so that it looks less unlike news text.
doc_id: one per snippet, `subj_pang_lee2004/<file>:<line>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from redflags.training.corpora._text import join_tokens, read_lines
from redflags.training.corpora.registry import Skips, register
from redflags.training.records import Record, labels

NAME = "subj_pang_lee2004"
FILES = {"subj.subjective": 1, "subj.objective": 0}


@register(NAME, informs=("sensational_framing",), kind="auxiliary", licence="not stated", required=tuple(FILES))
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """All 10,000 snippets."""
    for name, label in FILES.items():
        path = folder / name
        for n, raw in read_lines(path, encoding="cp1252"):
            tokens = raw.split()
            if not tokens:
                skips.skip(path, n, "empty line")
                continue
            text, _ = join_tokens(tokens)
            yield Record(text, NAME, f"{NAME}/{name}:{n}", labels(sensational_framing=label))
