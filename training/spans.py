"""Evidence spans as training targets: which corpus marks which marker's words, and per-token labels.

A corpus that marks spans for a marker (`CorpusInfo.span_markers`) teaches the token head that
marker: a token is positive when its characters overlap a span of the marker, negative otherwise.
Everything else is masked (-1), as unknown labels are for the sentence head:
- markers the corpus does not mark spans for;
- a sentence labelled positive with no span for the marker (PolNeAR's missing sources, for one):
  its evidence words exist but are not marked, so its tokens are not negatives;
- special and padding tokens.
Techniques are learned on the tokens of sensational-framing spans whose corpus names one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from redflags.markers import MARKERS, TECHNIQUES

MASKED = -1

# The corpora's own technique names -> TECHNIQUES. PTC's other techniques are not sensational framing
# (its loader keeps only these six); BASIL and BABE mark biased words without naming a technique.
_TECHNIQUE_OF = {
    "Loaded_Language": "loaded_language",
    "Exaggeration,Minimisation": "exaggeration",
    "Appeal_to_fear-prejudice": "fear_appeal",
    "Flag-Waving": "flag_waving",
    "Name_Calling,Labeling": "name_calling",
    "Slogans": "slogan",
} | {t: t for t in TECHNIQUES}


def technique_of(label: str, marker: str) -> str | None:
    """The technique a corpus's span label names (None when it names none, or for other markers)."""
    return _TECHNIQUE_OF.get(label) if marker == "sensational_framing" else None


def known_span_markers(span_markers: Iterable[str], labels: dict[str, int | None],
                       spans: Sequence[Any]) -> list[str]:
    """The markers whose token targets a sentence defines (see the module doc)."""
    out = []
    for m in span_markers:
        label = labels.get(m)
        if label is None:
            continue
        if label == 1 and not any(s["marker"] == m if isinstance(s, dict) else s.marker == m for s in spans):
            continue
        out.append(m)
    return out


def token_targets(offsets: Sequence[tuple[int, int]], spans: Sequence[dict[str, Any]], known: Sequence[str],
                  markers: Sequence[str] = MARKERS,
                  techniques: Sequence[str] = TECHNIQUES) -> tuple[np.ndarray, np.ndarray]:
    """(labels (T, M) int8: 1, 0 or MASKED; technique index (T,) int16 or MASKED) for one sentence.

    `offsets` are the tokenizer's (start, end) character offsets per token ((0, 0) for special tokens);
    `spans` are dicts with start, end, marker and technique ("" or None when not named).
    """
    n = len(offsets)
    labels = np.full((n, len(markers)), MASKED, dtype=np.int8)
    tech = np.full(n, MASKED, dtype=np.int16)
    if not known:
        return labels, tech
    starts = np.array([s for s, _ in offsets], dtype=np.int64)
    ends = np.array([e for _, e in offsets], dtype=np.int64)
    real = ends > starts
    tech_index = {t: i for i, t in enumerate(techniques)}
    for j, m in enumerate(markers):
        if m not in known:
            continue
        col = np.where(real, 0, MASKED).astype(np.int8)
        for sp in spans:
            if sp["marker"] != m:
                continue
            hit = real & (starts < sp["end"]) & (ends > sp["start"])
            col[hit] = 1
            t = tech_index.get(sp.get("technique") or "")
            if t is not None:
                tech[hit] = t
        labels[:, j] = col
    return labels, tech
