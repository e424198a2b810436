"""redflags: score each sentence of a news article for rhetorical markers (style, not truth).

    import redflags
    scorer = redflags.load()            # the shipped default model, or load("path/to/model_dir")
    report = scorer.score(article_text)
    print(report.to_json())
"""

from __future__ import annotations

from redflags.extras import package_version
from redflags.markers import DESCRIPTIONS, MARKERS, STYLE_NOT_TRUTH
from redflags.scoring.report import ArticleReport, MarkerSummary, SentenceScore, SkippedLine
from redflags.scoring.scorer import Scorer, load
from redflags.scoring.segment import Sentence, segment

__version__ = package_version()

__all__ = [
    "ArticleReport",
    "DESCRIPTIONS",
    "MARKERS",
    "MarkerSummary",
    "STYLE_NOT_TRUTH",
    "Scorer",
    "SentenceScore",
    "SkippedLine",
    "Sentence",
    "__version__",
    "load",
    "segment",
]
