"""Property-based tests (hypothesis), bounded to run in CI in well under a minute.

The generated text mixes, on purpose: lone surrogates, NUL and other control characters, mixed
line ends, very long tokens, right-to-left and CJK text, emoji and combining marks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PIECES = st.sampled_from([
    "Officials said it may rain.", "Sources say", "U.S.", "Dr.", "\n", "\r\n", "\r", "\n\n", " ", "\t", "\x00",
    "\x0b", "\x1f", "\u2028", "\ud800", "\udfff", "\ufeff", "\u200b", "مرحبا بالعالم.", "שלום.", "这是一个句子。",
    "日本語の文です!", "🔥", "e\u0301", "— ", "“", "”", "- ", "1. ", "#", "A" * 300, "x" * 2000, ".", "?!", "…",
    "Advertisement", "\nSign Up Thank you for signing up!\n", "(AP Photo/Jane Doe)", "ASSOCIATED PRESS.", "Read more",
])
TEXTS = st.lists(st.one_of(PIECES, st.text(max_size=40)), max_size=25).map("".join)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def scorer(tiny_model_dir: Path):
    import redflags

    return redflags.load(tiny_model_dir)


@FUZZ
@given(TEXTS)
def test_segmenter_offsets_are_exact(text: str) -> None:
    from redflags.scoring.segment import iter_segments, segment

    last = 0
    segments = list(iter_segments(text))
    for s in segments:  # sentences and skipped boilerplate lines
        assert text[s.start:s.end] == s.text and s.text == s.text.strip() and s.text
        assert s.start >= last
        last = s.end
    assert segment(text) == [s for s in segments if s.skipped is None]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(TEXTS)
def test_score_gives_exact_offsets_and_finite_probabilities(scorer, text: str) -> None:
    report = scorer.score(text)
    for s in report.sentences:
        assert text[s.start:s.end] == s.text
        assert all(0.0 <= p <= 1.0 and math.isfinite(p) for p in s.scores.values())
    json.loads(report.to_json())  # strict JSON


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(st.lists(TEXTS, min_size=1, max_size=6))
def test_predict_proba_in_unit_interval(scorer, texts: list[str]) -> None:
    p = scorer.predict_proba(texts)
    assert p.shape == (len(texts), 3) and ((p >= 0) & (p <= 1)).all()


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=8)
LINES = st.one_of(
    st.text(max_size=80),
    st.builds(lambda d: json.dumps(d), st.dictionaries(st.sampled_from(["id", "text", "labels", "corpus", "article",
                                                                        "spans", "x"]), JSON_VALUES, max_size=6)),
    st.builds(lambda t, lab: json.dumps({"id": "a", "text": t, "labels": lab}), TEXTS,
              st.dictionaries(st.sampled_from(["hedging", "sensational_framing", "bogus"]),
                              st.sampled_from([0, 1, None, 2, "yes", True, 0.5]), max_size=3)),
)


@FUZZ
@given(LINES)
def test_interchange_reader_gives_an_example_or_a_located_error(line: str) -> None:
    from redflags.eval.interchange import Example, InterchangeError, parse_line

    try:
        ex = parse_line(line, "f.jsonl:7")
    except InterchangeError as e:
        assert str(e).startswith("f.jsonl:7: ")
        return
    assert isinstance(ex, Example) and isinstance(ex.text, str)
    assert all(v in (0, 1, None) for v in ex.labels.values())
