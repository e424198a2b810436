"""Corpus loaders. A new corpus is one module here plus one import line below."""

# Registration: importing a loader module registers it.
# (loaders are added below, one line each)
from redflags.training.corpora import (
    affective_text_semeval2007,  # noqa: F401
    anonymous_source_tracker,  # noqa: F401
    babe,  # noqa: F401
    basil_fan2019,  # noqa: F401
    biased_sents_lim2020,  # noqa: F401
    bioscope,  # noqa: F401
    checkthat2025_subjectivity_en,  # noqa: F401
    clickbait_chakraborty2016,  # noqa: F401
    codebook_contrasts,  # noqa: F401
    conll2010_wikipedia_weasel_sentences,  # noqa: F401
    hedge_lexicon_islam2020,  # noqa: F401
    news_annotations,  # noqa: F401
    polnear_attribution,  # noqa: F401
    ptc_semeval2020_task11,  # noqa: F401
    sfu_review_negation_speculation,  # noqa: F401
    subj_pang_lee2004,  # noqa: F401
    szeged_uncertainty_corpus,  # noqa: F401
    webis_clickbait17_derived,  # noqa: F401
    wiki_npov_statements_hube2019,  # noqa: F401
)
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

__all__ = ["CORPORA", "CorpusError", "CorpusInfo", "Skips", "corpus_folder", "default_data_dir", "load_corpus", "register"]
