"""Hedge / booster word lists (Islam, Xiao & Mercer, LREC 2020).

This corpus is a lexicon, not annotated sentences, so its loader yields no records. It is registered so that
every folder in the data directory is accounted for; its words are read by `redflags.training.lexicons`
(`hedge_words`, `booster_words`) for the evaluation's lexicon baseline.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

from redflags.training.corpora.registry import Skips, register
from redflags.training.records import Record

log = logging.getLogger(__name__)

NAME = "hedge_lexicon_islam2020"


@register(
    NAME,
    informs=("hedging",),
    kind="lexicon",
    licence="not stated",
    required=("hedge_words.txt", "booster_words.txt"),
)
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """Yield nothing: the word lists feed the lexicon baseline, not training."""
    log.info("%s is a word list (hedges, boosters) used by the lexicon baseline; it yields no sentences", folder)
    return iter(())
