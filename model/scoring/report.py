"""What scoring an article returns: per-sentence scores and flags, a per-marker summary, exports.

Every export carries STYLE_NOT_TRUTH: the markers describe how a text is written, not whether
it is true.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from string import Template
from typing import Any, Iterable, Optional

from redflags.core.probability import show_against
from redflags.scoring.evidence import Evidence
from redflags.markers import DESCRIPTIONS, STYLE_NOT_TRUTH
from redflags.scoring.profile import PERCENTILE_NOTE, MarkerProfile, Reference, article_profile

log = logging.getLogger(__name__)

# One numbering wherever a person reads it: sentence 1 is the first. JSON keeps the 0-based `index`
# (and `max_sentence`) for programs and adds the 1-based `number` (and `max_sentence_number`).
NUMBERING = ("sentences are numbered from 1 (`number`, `max_sentence_number`), as the table and the HTML page "
             "show them; `index` and `max_sentence` count from 0")


@dataclass(frozen=True, slots=True)  # (slots: a 5 MB article holds ~28,000 of these)
class SentenceScore:
    """One scored sentence: `text == article[start:end]`, a probability and a flag per marker."""

    index: int
    text: str
    start: int
    end: int
    scores: dict[str, float]
    flags: dict[str, bool]
    # Only the sentence's beginning was scored (reports made before long sentences were read in windows).
    truncated: bool = False
    # The words that carry each flagged marker (article offsets); None when the model has no token head.
    evidence: Optional[tuple[Evidence, ...]] = None
    # Windows the model read the sentence in: more than 1 for a sentence longer than the model's
    # max_length tokens (overlapping windows; per marker the highest window score counts).
    windows: int = 1

    @property
    def number(self) -> int:
        """The sentence's number as people read it: 1 for the first (`index` counts from 0)."""
        return self.index + 1

    @property
    def flagged_markers(self) -> list[str]:
        """Markers whose probability reached their threshold, in marker order."""
        return [m for m, f in self.flags.items() if f]

    def evidence_for(self, marker: str) -> list[Evidence]:
        """The evidence spans of one marker (empty when the marker is not flagged or none cleared the threshold)."""
        return [e for e in self.evidence or () if e.marker == marker]

    @property
    def evidence_missing(self) -> list[str]:
        """Flagged markers for which no word cleared the span threshold (empty without a token head)."""
        if self.evidence is None:
            return []
        return [m for m in self.flagged_markers if not self.evidence_for(m)]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {
            "index": self.index,
            "number": self.number,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "scores": {m: round(float(p), 6) for m, p in self.scores.items()},
            "flags": dict(self.flags),
            "truncated": self.truncated,
            "windows": self.windows,
            "evidence": None if self.evidence is None else [e.to_dict() for e in self.evidence],
            "evidence_missing": self.evidence_missing,
        }


@dataclass(frozen=True)
class MarkerSummary:
    """How one marker shows across an article."""

    marker: str
    threshold: float
    flagged: int  # sentences at or above the threshold
    share: float  # flagged / sentences (0.0 for an article without sentences)
    max_score: Optional[float]  # None for an article without sentences
    max_sentence: Optional[int]  # index (from 0) of the sentence with the highest score

    @property
    def max_sentence_number(self) -> Optional[int]:
        """The number (from 1, as tables and pages show it) of the sentence with the highest score."""
        return None if self.max_sentence is None else self.max_sentence + 1

    def highest(self) -> str:
        """`0.83 (sentence 18)`, numbered as the table and the page number sentences; `-` without sentences.
        Digits as in `threshold_text`: a highest score below the threshold never shows as equal to it."""
        if self.max_score is None:
            return "-"
        return f"{show_against(self.max_score, self.threshold)[0]} (sentence {self.max_sentence_number})"

    def threshold_text(self) -> str:
        """The threshold with as many digits as `highest` needs to compare truthfully with it."""
        return f"{self.threshold:.2f}" if self.max_score is None else show_against(self.max_score, self.threshold)[1]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict."""
        return {
            "marker": self.marker,
            "threshold": self.threshold,
            "flagged": self.flagged,
            "share": round(self.share, 6),
            "max_score": None if self.max_score is None else round(self.max_score, 6),
            "max_sentence": self.max_sentence,
            "max_sentence_number": self.max_sentence_number,
        }


@dataclass(frozen=True, slots=True)
class SkippedLine:
    """A boilerplate line that was not scored (`text == article[start:end]`; `reason` as in
    `redflags.segment.BOILERPLATE`: advertisement, newsletter prompt, photo credit, ...)."""

    start: int
    end: int
    text: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text, "reason": self.reason}


@dataclass
class ArticleReport:
    """The scores of one article. `text` is the article as given; sentences point into it."""

    text: str = field(repr=False)
    sentences: list[SentenceScore]
    markers: tuple[str, ...]
    thresholds: dict[str, float]
    source: Optional[str] = None  # a file name or label, when the caller gave one
    model: Optional[str] = None  # the name of the model that scored it (never a path)
    model_version: Optional[str] = None  # a short hash of its weights and thresholds (redflags.scoring.profile)
    dtype: Optional[str] = None  # the precision the model computed in ("float32" or "bfloat16")
    # The model's reference profile of news articles; None when the model has none (no `profile`).
    reference: Optional[Reference] = field(default=None, repr=False, compare=False)
    skipped: list[SkippedLine] = field(default_factory=list)  # boilerplate lines, not scored nor counted

    @property
    def summary(self) -> dict[str, MarkerSummary]:
        """Per marker: sentences flagged, their share, the highest score and where it is."""
        out: dict[str, MarkerSummary] = {}
        n = len(self.sentences)
        for m in self.markers:
            flagged = sum(1 for s in self.sentences if s.flags[m])
            best = max(self.sentences, key=lambda s: s.scores[m], default=None)
            out[m] = MarkerSummary(
                marker=m,
                threshold=self.thresholds[m],
                flagged=flagged,
                share=flagged / n if n else 0.0,
                max_score=None if best is None else float(best.scores[m]),
                max_sentence=None if best is None else best.index,
            )
        return out

    @property
    def profile(self) -> Optional[dict[str, MarkerProfile]]:
        """Per marker: this article's share of flagged sentences as a percentile of the reference news
        articles (more than N% of them have a lower share). None without a reference or sentences."""
        if self.reference is None or not self.sentences:
            return None
        flagged = {m: s.flagged for m, s in self.summary.items()}
        return article_profile(self.reference, self.markers, flagged, len(self.sentences))

    def profile_dict(self) -> Optional[dict[str, Any]]:
        """The profile for JSON: what the reference set is, the style-not-truth note, and per marker."""
        profile = self.profile
        if profile is None:
            return None
        return {"reference": self.reference.description, "reference_articles": self.reference.n_articles,  # type: ignore[union-attr]
                "percentile": "share of reference articles with a strictly lower share of flagged sentences",
                "note": PERCENTILE_NOTE, "markers": {m: p.to_dict() for m, p in profile.items()}}

    @property
    def flagged_sentences(self) -> list[SentenceScore]:
        """Sentences with at least one marker flagged."""
        return [s for s in self.sentences if any(s.flags.values())]

    @property
    def truncated_sentences(self) -> list[SentenceScore]:
        """Sentences the model read only in part (longer than its maximum length)."""
        return [s for s in self.sentences if s.truncated]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict, with the style-not-truth disclaimer as a field."""
        out = {
            "source": self.source,
            "model": self.model,
            "model_version": self.model_version,
            "dtype": self.dtype,
            "disclaimer": STYLE_NOT_TRUTH,
            "numbering": NUMBERING,
            "markers": list(self.markers),
            "thresholds": dict(self.thresholds),
            "n_sentences": len(self.sentences),
            "n_truncated": len(self.truncated_sentences),
            "n_windowed": sum(1 for s in self.sentences if s.windows > 1),
            "summary": {m: s.to_dict() for m, s in self.summary.items()},
            "sentences": [s.to_dict() for s in self.sentences],
            "n_skipped": len(self.skipped),
            "skipped": [k.to_dict() for k in self.skipped],
        }
        profile = self.profile_dict()
        if profile is not None:  # (models without a reference profile omit it)
            out["profile"] = profile
        return out

    def to_json(self, indent: Optional[int] = 2) -> str:
        """The report as JSON (see `to_dict`)."""
        # Strict JSON: no NaN or Infinity (load refuses non-finite weights, so scores are finite).
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def to_html(self, title: Optional[str] = None) -> str:
        """A self-contained HTML page that highlights flagged sentences with markers and scores."""
        return render_html([self], title=title)


# --- HTML -------------------------------------------------------------------------------------


def _template() -> Template:
    return Template(resources.files("redflags.scoring").joinpath("templates/report.html").read_text(encoding="utf-8"))


def _marker_class(marker: str, prefix: str = "m-") -> str:
    return prefix + "".join(c if c.isalnum() else "-" for c in marker)


def _sentence_html(s: SentenceScore, markers: tuple[str, ...]) -> str:
    """The sentence's text with its evidence words marked, one <mark> per marker, nested where the
    evidence of several markers covers the same words: each marker has its own underline (colour,
    pattern and depth, in the page's CSS), so overlapping evidence stays apart. After a sensational
    framing span its technique is written out as visible text; score and technique are also in the title."""
    e = html.escape
    spans = [ev for ev in s.evidence or () if s.start <= ev.start < ev.end <= s.end]
    if not spans:
        return e(s.text)
    order = {m: k for k, m in enumerate(markers)}
    cuts = sorted({s.start, s.end} | {ev.start for ev in spans} | {ev.end for ev in spans})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        piece = e(s.text[a - s.start : b - s.start])
        for ev in sorted((ev for ev in spans if ev.start <= a and b <= ev.end),
                         key=lambda ev: -order.get(ev.marker, len(markers))):  # the first marker outermost
            tip = f"{ev.marker} evidence {ev.score:.2f}" + (
                f", {ev.technique} {ev.technique_score:.2f}" if ev.technique else "")
            piece = f'<mark class="ev {_marker_class(ev.marker, "e-")}" title="{e(tip, quote=True)}">{piece}</mark>'
        out.append(piece)
        out.extend(f'<span class="tech {_marker_class(ev.marker, "t-")}">[{e(ev.technique.replace("_", " "))}]</span>'
                   for ev in spans if ev.end == b and ev.technique)
    return "".join(out)


# Embedding, override and isolate controls. Each sentence is shown in its own direction isolate (dir="auto",
# <bdi>), so a control inside it stops at its end; the text between sentences is shown without them,
# so an unterminated right-to-left override there cannot reverse the sentences after it.
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])

# An unflagged sentence is a near miss when some marker's score reaches this fraction of its threshold.
NEAR_MISS = 0.8


def _tip(s: SentenceScore, thresholds: dict[str, float]) -> str:
    """Every score of the sentence against its threshold, for the hover / focus tooltip."""
    parts = [f"{m} " + (" ≥ " if s.flags[m] else " < ").join(show_against(p, thresholds[m]))
             + (" flagged" if s.flags[m] else "") for m, p in s.scores.items()]
    return (f"Sentence {s.number}: " + "; ".join(parts) + (" (truncated: only its beginning was read)" if s.truncated else "")
            + (f" (long: read in {s.windows} overlapping windows, the highest score counts)" if s.windows > 1 else ""))


def _profile_html(report: ArticleReport) -> str:
    profile = report.profile
    if profile is None:
        return ""
    e = html.escape
    items = "".join(f'<li><span class="chip {_marker_class(m)}">{e(m)}</span> {e(p.describe())}</li>' for m, p in profile.items())
    return (f'<div class="profile"><h3>Against ordinary news</h3><ul>{items}</ul>'
            f'<p class="meta">Reference: {e(report.reference.description)} (none from a dev or test split). '  # type: ignore[union-attr]
            f"{e(PERCENTILE_NOTE)}</p></div>")


def _article_html(report: ArticleReport, number: int) -> str:
    """One article: summary table, profile, then the full text; every sentence is focusable and shows
    all its scores on hover or focus; flagged ones are tinted in the colour of their first marker."""
    # Length: over 60 lines because the page's one article block is built in reading order.
    e = html.escape
    head = e(report.source) if report.source else f"Article {number}"
    rows = []
    for m, s in report.summary.items():
        rows.append(
            f'<tr><td><span class="chip {_marker_class(m)}">{e(m)}</span></td>'
            f"<td>{s.flagged} of {len(report.sentences)}</td><td>{s.share:.0%}</td>"
            f"<td>{e(s.highest())}</td><td>{e(s.threshold_text())}</td></tr>"
        )
    body: list[str] = []
    pos = 0
    skipped = iter(report.skipped)
    nxt = next(skipped, None)

    def gap(a: int, b: int) -> str:  # the text between two sentences, its boilerplate lines greyed
        nonlocal nxt
        out = []
        while nxt is not None and nxt.start < b:
            out.append(e(report.text[a : nxt.start].translate(_BIDI_CONTROLS)))
            out.append(f'<span class="skipped" title="skipped: {e(nxt.reason, quote=True)}">'
                       f'{e(nxt.text.translate(_BIDI_CONTROLS))}</span>')
            a, nxt = nxt.end, next(skipped, None)
        return "".join(out) + e(report.text[a:b].translate(_BIDI_CONTROLS))

    for s in report.sentences:
        body.append(gap(pos, s.start))
        tip_id = f"a{number}-s{s.number}"
        tip = f'<span class="tip" role="tooltip" id="{tip_id}">{e(_tip(s, report.thresholds))}</span>'
        num = f'<sup class="num">{s.number}</sup>'
        focus = f'tabindex="0" aria-describedby="{tip_id}" dir="auto"'
        flagged = s.flagged_markers
        if flagged:
            chips = "".join(
                f'<span class="chip {_marker_class(m)}">{e(m)} {s.scores[m]:.2f}</span>' for m in flagged
            )
            trunc = (' <span class="trunc">(truncated)</span>' if s.truncated else ""
                     ) + (f' <span class="trunc">(read in {s.windows} windows)</span>' if s.windows > 1 else "")
            missing = "".join(f'<span class="trunc">({e(m)}: no word above the span threshold)</span>'
                              for m in s.evidence_missing)
            # further markers: one bar each along the bottom edge, in their colours
            bars = ", ".join(f"inset 0 -{0.18 * (k + 1):.2f}em 0 var(--{_marker_class(m, 'c-')}, #777)"
                             for k, m in enumerate(flagged[1:]))
            style = f' style="box-shadow: {bars}"' if bars else ""
            body.append(
                f'<mark class="flagged {_marker_class(flagged[0], "s-")}" {focus}{style}>{num}'
                f"<bdi>{_sentence_html(s, report.markers)}</bdi>{tip}</mark>"
                f'<span class="chips">{chips}{trunc}{missing}</span>'
            )
        else:
            near = any(s.scores[m] >= NEAR_MISS * report.thresholds[m] for m in report.markers)
            cls = "plain near" if near else "plain"
            body.append(f'<span class="{cls}" {focus}>{num}<bdi>{e(s.text)}</bdi>{tip}</span>')
        pos = s.end
    body.append(gap(pos, len(report.text)))
    model = ""
    if report.model or report.dtype:
        version = f", version {e(report.model_version)}" if report.model_version else ""
        dtype = f", computed in {e(report.dtype)}" if report.dtype else ""
        model = f'<p class="meta">Model: {e(report.model or "unnamed")}{version}{dtype}</p>'
    return (
        f'<section class="article"><h2>{head}</h2>{model}'
        f"<table><thead><tr><th>marker</th><th>sentences flagged</th><th>share</th>"
        f"<th>highest score</th><th>threshold</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f"{_profile_html(report)}"
        f'<div class="text">{"".join(body)}</div></section>'
    )


def render_html(reports: Iterable[ArticleReport], title: Optional[str] = None) -> str:
    """One self-contained page (inline CSS, no scripts or external files) for one or more reports."""
    reports = list(reports)
    markers: tuple[str, ...] = reports[0].markers if reports else ()
    evidence = any(s.evidence is not None for r in reports for s in r.sentences)
    legend = "".join(
        f'<li><span class="chip {_marker_class(m)}">{html.escape(m)}</span> '
        + f'<span class="flagged {_marker_class(m, "s-")}">flagged sentence</span> '
        + (f'<mark class="ev {_marker_class(m, "e-")}">evidence words</mark> ' if evidence else "")
        + f"{html.escape(DESCRIPTIONS.get(m, ''))}</li>"
        for m in markers
    )
    articles = "".join(_article_html(r, i + 1) for i, r in enumerate(reports))
    return _template().substitute(
        title=html.escape(title or "redflags report"),
        disclaimer=html.escape(STYLE_NOT_TRUTH),
        legend=legend,
        near=int(NEAR_MISS * 100),
        evidence_note=("Inside a flagged sentence, the words that carry each flagged marker are underlined in its "
                       "own colour and pattern (as in the list below; where two markers share words, both lines "
                       "show), and the technique of sensational framing is written in brackets after its words; "
                       "hover them for the evidence score." if evidence else ""),
        articles=articles or "<p>No articles.</p>",
    )
