"""Corpus loaders. A new corpus is one module here plus one import line below."""

from redflags.training.corpora.registry import (
    CORPORA,
    CorpusError,
    CorpusInfo,
    Skips,
    corpus_folder,
    default_data_dir,
    load_corpus,
    register,
)

# Registration: importing a loader module registers it.
# (loaders are added below, one line each)
from redflags.training.corpora import bioscope  # noqa: F401
from redflags.training.corpora import sfu_review_negation_speculation  # noqa: F401
from redflags.training.corpora import hedge_lexicon_islam2020  # noqa: F401

__all__ = ["CORPORA", "CorpusError", "CorpusInfo", "Skips", "corpus_folder", "default_data_dir", "load_corpus", "register"]
