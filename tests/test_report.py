"""ArticleReport: summary per marker and the JSON / HTML exports."""

from __future__ import annotations

import html
import json

import pytest
from redflags.markers import MARKERS, STYLE_NOT_TRUTH
from redflags.report import ArticleReport, SentenceScore, render_html

THRESHOLDS = {"unverifiable_sourcing": 0.5, "hedging": 0.3, "sensational_framing": 0.9}


def make_report(text: str, scores: list[tuple[float, float, float]], truncated: tuple[int, ...] = ()) -> ArticleReport:
    """A report over `text` split at '|' boundaries (the bars stay in the text, between sentences)."""
    sentences = []
    pos = 0
    for i, (piece, probs) in enumerate(zip(text.split("|"), scores)):
        start = text.index(piece, pos)
        p = dict(zip(MARKERS, probs))
        sentences.append(
            SentenceScore(
                index=i,
                text=piece,
                start=start,
                end=start + len(piece),
                scores=p,
                flags={m: p[m] >= THRESHOLDS[m] for m in MARKERS},
                truncated=i in truncated,
            )
        )
        pos = start + len(piece)
    return ArticleReport(text=text, sentences=sentences, markers=MARKERS, thresholds=THRESHOLDS, source="a.txt")


@pytest.fixture
def report() -> ArticleReport:
    return make_report(
        "Sources say it may happen.|A <script>alert(1)</script> & bombshell!|Plain fact.",
        [(0.9, 0.3, 0.1), (0.2, 0.1, 0.95), (0.1, 0.05, 0.2)],
        truncated=(1,),
    )


def test_summary_counts_share_and_highest(report: ArticleReport) -> None:
    s = report.summary
    assert s["unverifiable_sourcing"].flagged == 1
    assert s["hedging"].flagged == 1  # 0.3 is at the threshold: flagged
    assert s["sensational_framing"].share == pytest.approx(1 / 3)
    assert s["sensational_framing"].max_score == pytest.approx(0.95)
    assert s["sensational_framing"].max_sentence == 1
    assert [x.index for x in report.flagged_sentences] == [0, 1]
    assert [x.index for x in report.truncated_sentences] == [1]
    assert report.sentences[0].flagged_markers == ["unverifiable_sourcing", "hedging"]


def test_empty_report_summary() -> None:
    empty = ArticleReport(text="  ", sentences=[], markers=MARKERS, thresholds=THRESHOLDS)
    for s in empty.summary.values():
        assert (s.flagged, s.share, s.max_score, s.max_sentence) == (0, 0.0, None, None)
    assert "<mark" not in empty.to_html()
    assert empty.to_dict()["n_sentences"] == 0


def test_to_dict_and_json_carry_everything_and_the_disclaimer(report: ArticleReport) -> None:
    d = json.loads(report.to_json())
    assert d == report.to_dict()
    assert d["disclaimer"] == STYLE_NOT_TRUTH
    assert d["markers"] == list(MARKERS) and d["thresholds"] == THRESHOLDS
    assert d["n_sentences"] == 3 and d["n_truncated"] == 1
    assert d["sentences"][1]["flags"]["sensational_framing"] is True
    assert d["sentences"][1]["truncated"] is True
    assert d["summary"]["hedging"]["flagged"] == 1
    for s in d["sentences"]:
        assert report.text[s["start"] : s["end"]] == s["text"]


def test_html_is_self_contained_escaped_and_highlights_flags(report: ArticleReport) -> None:
    page = report.to_html()
    assert page.startswith("<!DOCTYPE html>")
    assert html.escape(STYLE_NOT_TRUTH) in page
    assert "<script>" not in page and "&lt;script&gt;" in page  # article text is escaped
    assert "http://" not in page and "https://" not in page and "<link" not in page  # nothing external
    assert page.count('<mark class="flagged"') == 2  # the two flagged sentences
    assert "sensational_framing 0.95" in page and "unverifiable_sourcing 0.90" in page
    assert "(truncated)" in page
    assert "Plain fact." in page  # unflagged text is still shown


def test_render_html_puts_several_articles_on_one_page(report: ArticleReport) -> None:
    other = make_report("Only one.", [(0.0, 0.0, 0.0)])
    page = render_html([report, other], title="Two <articles>")
    assert page.count('<section class="article">') == 2
    assert "Two &lt;articles&gt;" in page
