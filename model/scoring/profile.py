"""Where an article stands against ordinary news, per marker, and what names a model for readers.

A model directory may hold `reference_profile.json` (written by `redflags profile-reference`): for
each marker, the sorted shares of flagged sentences over a seeded random sample of news articles
(never a test split), with the corpora, split, sample size, date and the model version that scored
them. An article's percentile for a marker is the share of reference articles whose flagged share
is strictly lower than the article's: "more than 96% of reference news articles". It describes how
the article is written compared with those articles, not whether it is true.

A model is named for readers by its name and version, never by a local path: the name is the
directory's name, the version a short hash of its weight files and its thresholds and calibration
(what decides the flags), so two copies of one model have one version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

log = logging.getLogger(__name__)

REFERENCE_FILE = "reference_profile.json"
REFERENCE_FORMAT = 1
PERCENTILE_NOTE = ("The percentile compares how often this article uses each marker with a reference set of news "
                   "articles; it describes style, not truth.")


def model_version(directory: Path, settings: dict[str, Any]) -> str:
    """A 12-digit hash of the weight files plus the thresholds and calibration (what decides the flags)."""
    h = hashlib.sha256()
    for p in sorted(directory.glob("*.safetensors")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    decides = {k: settings.get(k) for k in ("markers", "thresholds", "calibration", "span_thresholds")}
    h.update(json.dumps(decides, sort_keys=True, default=str).encode())
    return h.hexdigest()[:12]


@dataclass(frozen=True)
class Reference:
    """The reference distribution of one model: per marker, sorted flagged shares of news articles."""

    shares: dict[str, list[float]]
    description: str  # what the reference set is, in one sentence for readers
    meta: dict[str, Any]  # the rest of the file: corpora, split, sample, date, model version, command

    @property
    def n_articles(self) -> int:
        return len(next(iter(self.shares.values()), []))

    def percentile(self, marker: str, share: float) -> float:
        """Share (0-1) of reference articles whose flagged share is strictly lower than `share`."""
        ref = self.shares[marker]
        # (shares are rounded to 6 digits in the file; round alike so that an equal share is not "lower")
        return bisect_left(ref, round(share, 6)) / len(ref) if ref else 0.0

    def same(self, marker: str, share: float) -> float:
        """Share (0-1) of reference articles whose flagged share equals `share`."""
        ref, x = self.shares[marker], round(share, 6)
        return (bisect_right(ref, x) - bisect_left(ref, x)) / len(ref) if ref else 0.0

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "Reference":
        if raw.get("format") != REFERENCE_FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, expected {REFERENCE_FORMAT}")
        shares = {m: sorted(float(x) for x in v) for m, v in raw["shares"].items()}
        if not shares or any(not v for v in shares.values()):
            raise ValueError("no reference shares")
        return cls(shares, str(raw.get("description", "")), {k: v for k, v in raw.items() if k != "shares"})


def read_reference(directory: Optional[Path], version: Optional[str]) -> Optional[Reference]:
    """The model directory's reference profile, or None when it has none, is unreadable, or was made by
    another model version (its shares would follow other thresholds); the last two are logged."""
    if directory is None:
        return None
    path = directory / REFERENCE_FILE
    if not path.is_file():
        return None
    try:
        ref = Reference.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("%s: ignored (%s); reports carry no article profile", path, e)
        return None
    made_by = (ref.meta.get("model") or {}).get("version")
    if version is not None and made_by != version:
        log.warning("%s: made with model version %s, this model is %s; reports carry no article profile "
                    "(rerun `redflags profile-reference`)", path, made_by, version)
        return None
    return ref


def _percent(p: float) -> str:
    """A share as a percentage rounded down (so that it never overstates), with a decimal below 1%."""
    pct = p * 100
    return f"{math.floor(pct + 1e-9)}%" if pct >= 1 or pct <= 0 else f"{math.floor(pct * 10 + 1e-9) / 10}%"


@dataclass(frozen=True)
class MarkerProfile:
    """One marker of an article against the reference: its flagged share and percentile."""

    marker: str
    flagged: int
    sentences: int
    share: float
    percentile: float  # 0-1: reference articles with a strictly lower share
    same: float = 0.0  # 0-1: reference articles with the same share (for an article with none flagged)

    def describe(self, name: Optional[str] = None) -> str:
        """`unverifiable sourcing: 7 of 23 sentences, more than 96% of reference news articles`; read
        naturally at the ends: "none of 23 sentences, as in 41% of ...", "all 5 sentences", "more than
        any reference news article", "no more than any ..." (percentages rounded down: never overstated)."""
        label = name or self.marker.replace("_", " ")
        if self.sentences == 0:
            return f"{label}: no sentences"
        if self.flagged == 0:
            where = (f"as in {_percent(self.same)} of reference news articles" if self.same > 0
                     else "fewer than any reference news article")
            return f"{label}: none of {self.sentences} sentences, {where}"
        count = (f"all {self.sentences} sentences" if self.flagged == self.sentences
                 else f"{self.flagged} of {self.sentences} sentences")
        if self.percentile >= 1.0:
            where = "more than any reference news article"
        elif self.percentile <= 0.0:
            where = "no more than any reference news article"
        else:
            where = f"more than {_percent(self.percentile)} of reference news articles"
        return f"{label}: {count}, {where}"

    def to_dict(self) -> dict[str, Any]:
        return {"marker": self.marker, "flagged": self.flagged, "sentences": self.sentences,
                "share": round(self.share, 6), "percentile": round(self.percentile, 4),
                "text": self.describe()}


def article_profile(reference: Reference, markers: Sequence[str], flagged: dict[str, int],
                    n_sentences: int) -> dict[str, MarkerProfile]:
    """Per marker the reference covers: the article's share of flagged sentences and its percentile."""
    out = {}
    for m in markers:
        if m not in reference.shares:
            continue
        share = flagged[m] / n_sentences if n_sentences else 0.0
        out[m] = MarkerProfile(m, flagged[m], n_sentences, share, reference.percentile(m, share),
                               reference.same(m, share))
    return out
