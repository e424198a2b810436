"""redflags: score each sentence of a news article for rhetorical markers (style, not truth).

    import redflags
    scorer = redflags.load()            # the shipped default model, or load("path/to/model_dir")
    report = scorer.score(article_text)
    print(report.to_json())
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from redflags.markers import DESCRIPTIONS, MARKERS, STYLE_NOT_TRUTH
from redflags.report import ArticleReport, MarkerSummary, SentenceScore, SkippedLine
from redflags.scorer import Scorer, load
from redflags.segment import Sentence, segment

try:
    __version__ = version("redflags")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+unknown"

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
