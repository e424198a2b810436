"""Behaviour a user would notice, on the shipped default model (slow: loads the real encoder).

Minimal pairs written for these tests: the same claim with and without the marker. The model must
rank the marked version higher; absolute scores are left to the evaluation harness.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import redflags
from redflags.scoring.scorer import DEFAULT_MODEL_DIR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (DEFAULT_MODEL_DIR / "config.json").is_file(), reason="no default model in model/default_model"),
]

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_461dd1c7835a637b.txt"

PAIRS = {
    "unverifiable_sourcing": [
        ("Officials, speaking on condition of anonymity, said the factory would close in March.",
         "Mayor Ellen Park said at a press conference that the factory would close in March."),
        ("Sources close to the ministry say the budget was cut by a third.",
         "The ministry's annual report shows the budget was cut by a third."),
    ],
    "hedging": [
        ("The fire may have been started by a faulty heater.",
         "The fire was started by a faulty heater."),
        ("It is unclear whether the senator will attend the vote.",
         "The senator will attend the vote on Tuesday."),
    ],
    "sensational_framing": [
        ("The shocking bombshell report slammed the disgraced minister's catastrophic blunder.",
         "The report criticised the minister's decision."),
        ("Furious residents are reeling after the outrageous tax grab.",
         "Residents will pay a higher property tax from next year."),
    ],
}


@pytest.fixture(scope="module")
def scorer() -> redflags.Scorer:
    return redflags.load()


@pytest.mark.parametrize("marker", list(PAIRS))
def test_marked_sentence_scores_higher_than_its_plain_twin(scorer: redflags.Scorer, marker: str) -> None:
    col = scorer.markers.index(marker)
    for marked, plain in PAIRS[marker]:
        p = scorer.predict_proba([marked, plain])[:, col]
        assert p[0] > p[1], f"{marker}: {marked!r} ({p[0]:.2f}) should score above {plain!r} ({p[1]:.2f})"


def test_probabilities_and_flags_are_consistent(scorer: redflags.Scorer) -> None:
    report = scorer.score(SEED.read_text(encoding="utf-8"))
    assert len(report.sentences) == 23
    for s in report.sentences:
        for m in scorer.markers:
            assert 0.0 <= s.scores[m] <= 1.0
            assert (m in s.flagged_markers) == (s.scores[m] >= scorer.thresholds[m])


def test_seed_article_anonymous_sources_are_flagged(scorer: redflags.Scorer) -> None:
    report = scorer.score(SEED.read_text(encoding="utf-8"))
    by_start = {s.text.split(",")[0]: s for s in report.sentences}
    assert "unverifiable_sourcing" in by_start["Pentagon sources"].flagged_markers
    assert "unverifiable_sourcing" in report.sentences[14 - 1].flagged_markers  # "Sources close to the ..."


def test_batching_does_not_change_scores(scorer: redflags.Scorer) -> None:
    sentences = [s for pair in PAIRS.values() for twins in pair for s in twins]
    one = scorer.predict_proba(sentences, batch_size=1)
    many = scorer.predict_proba(sentences, batch_size=16)
    np.testing.assert_allclose(one, many, atol=1e-5)


def test_evidence_words_name_the_anonymous_source_and_the_hedge(scorer: redflags.Scorer) -> None:
    text = SEED.read_text(encoding="utf-8")
    report = scorer.score(text)
    for s in report.sentences:
        for e in s.evidence or ():
            assert text[e.start:e.end] == e.text and e.marker in s.flagged_markers
    pentagon = next(s for s in report.sentences if s.text.startswith("Pentagon sources"))
    words = " ".join(e.text.lower() for e in pentagon.evidence_for("unverifiable_sourcing"))
    assert "sources" in words or "anonymity" in words, words
    spans = scorer.predict_spans(["The fire may have been started by a faulty heater."])[0]
    assert any(e.marker == "hedging" and "may" in e.text.lower().split() for e in spans), spans
