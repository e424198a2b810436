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
from redflags.training.corpora import subj_pang_lee2004  # noqa: F401
from redflags.training.corpora import checkthat2025_subjectivity_en  # noqa: F401
from redflags.training.corpora import affective_text_semeval2007  # noqa: F401
from redflags.training.corpora import webis_clickbait17_derived  # noqa: F401
from redflags.training.corpora import clickbait_chakraborty2016  # noqa: F401
from redflags.training.corpora import wiki_npov_statements_hube2019  # noqa: F401
from redflags.training.corpora import biased_sents_lim2020  # noqa: F401
from redflags.training.corpora import basil_fan2019  # noqa: F401
from redflags.training.corpora import babe  # noqa: F401
from redflags.training.corpora import ptc_semeval2020_task11  # noqa: F401
from redflags.training.corpora import polnear_attribution  # noqa: F401
from redflags.training.corpora import anonymous_source_tracker  # noqa: F401
from redflags.training.corpora import conll2010_wikipedia_weasel_sentences  # noqa: F401
from redflags.training.corpora import szeged_uncertainty_corpus  # noqa: F401
from redflags.training.corpora import news_annotations  # noqa: F401

__all__ = ["CORPORA", "CorpusError", "CorpusInfo", "Skips", "corpus_folder", "default_data_dir", "load_corpus", "register"]
