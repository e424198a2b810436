"""The shapes of the HTTP API's requests and responses (pydantic), as the OpenAPI schema shows them.

The report models describe `ArticleReport.to_dict()` (redflags.scoring.report), the JSON that
`redflags score --format json` writes per article; the service sends that dict itself, so the two
never differ. tests/test_serve.py checks that every report validates against these models, whose
top levels forbid unknown fields: a field added to `to_dict` and not here fails that test.
"""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

# --- requests -------------------------------------------------------------------------------------


class ArticleIn(BaseModel):
    """One article to score."""

    model_config = ConfigDict(extra="forbid")

    text: StrictStr = Field(description="The article's text (plain text, UTF-8); it must hold some non-space "
                            "character.", examples=["Officials said the plan may be delayed."])
    id: Optional[StrictStr] = Field(None, max_length=1000, description="Your name for the article; the report "
                                    "gives it back as `source`.", examples=["article-1"])

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the text is empty" if not value else "the text is only white space")
        return _unicode(value)  # (pydantic itself refuses a lone surrogate in `id`, whose length it checks)


def _unicode(value: str) -> str:
    """The value, or a ValueError naming a lone surrogate (JSON's "\\ud800" escapes decode to one), which
    no report could be written with."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"not valid Unicode (a lone surrogate U+{ord(value[e.start]):04X} at character {e.start})") from None
    return value


class ManyIn(BaseModel):
    """Several articles, scored together: their sentences share the model's batches."""

    model_config = ConfigDict(extra="forbid")

    articles: list[ArticleIn] = Field(min_length=1, description="The articles; at most the server's "
                                      "article limit per request (see /healthz).")


# --- responses ------------------------------------------------------------------------------------


class _Open(BaseModel):
    # Nested records may gain fields (a technique, a new statistic) without breaking clients.
    model_config = ConfigDict(extra="allow")


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EvidenceOut(_Open):
    marker: str
    start: int = Field(description="Offset into the article's text (characters).")
    end: int
    text: str
    score: float
    technique: Optional[str] = None
    technique_score: Optional[float] = None


class SentenceOut(_Closed):
    index: int = Field(description="From 0.")
    number: int = Field(description="From 1, as the HTML page and the table number sentences.")
    text: str
    start: int
    end: int
    scores: dict[str, float] = Field(description="Calibrated probability per marker.")
    flags: dict[str, bool] = Field(description="Per marker: the probability is at or above its threshold.")
    truncated: bool = Field(description="Always false since long sentences are read in windows (kept for readers "
                            "of older reports).")
    windows: int = Field(description="Windows the model read the sentence in (more than 1: a sentence longer "
                         "than the model reads at once).")
    evidence: Optional[list[EvidenceOut]] = Field(description="The words that carry each flagged marker; null "
                                                  "for a model without a token head.")
    evidence_missing: list[str]


class SummaryOut(_Closed):
    marker: str
    threshold: float
    flagged: int
    share: float
    max_score: Optional[float]
    max_sentence: Optional[int]
    max_sentence_number: Optional[int]


class SkippedOut(_Closed):
    start: int
    end: int
    text: str
    reason: str


class MarkerProfileOut(_Open):
    marker: str
    flagged: int
    sentences: int
    share: float
    percentile: float
    text: str


class ProfileOut(_Open):
    reference: str
    reference_articles: int
    percentile: str
    note: str
    markers: dict[str, MarkerProfileOut]


class ReportOut(_Closed):
    """The report of one article: the JSON of `redflags score --format json` for that article."""

    source: Optional[str]
    model: Optional[str]
    model_version: Optional[str]
    dtype: Optional[str]
    disclaimer: str = Field(description="The markers describe how a text is written, not whether it is true.")
    numbering: str
    markers: list[str]
    thresholds: dict[str, float]
    n_sentences: int
    n_truncated: int
    n_windowed: int = Field(description="Sentences read in more than one window.")
    summary: dict[str, SummaryOut]
    sentences: list[SentenceOut]
    n_skipped: int
    skipped: list[SkippedOut]
    profile: Optional[ProfileOut] = Field(None, description="Absent for a model without a reference profile.")


class ManyOut(_Closed):
    reports: list[ReportOut] = Field(description="One report per article, in the order given.")


class LimitsOut(_Closed):
    max_body_bytes: int
    max_articles: int


class HealthOut(_Closed):
    status: str = Field(examples=["ok"])
    redflags_version: str
    model: Optional[str]
    model_version: Optional[str]
    dtype: str
    markers: list[str]
    limits: LimitsOut


class ErrorOut(_Closed):
    """Every error the service answers: the HTTP status and one line that names the problem."""

    status: int = Field(examples=[422])
    message: str = Field(examples=["articles[0].text: the text is empty"])
