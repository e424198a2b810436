"""ArticleReport: summary per marker and the JSON / HTML exports."""

from __future__ import annotations

import html
import json

import pytest
from redflags.markers import MARKERS, STYLE_NOT_TRUTH
from redflags.scoring.report import ArticleReport, SentenceScore, render_html

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
    assert page.count('<mark class="flagged ') == 2  # the two flagged sentences
    assert "sensational_framing 0.95" in page and "unverifiable_sourcing 0.90" in page
    assert "(truncated)" in page
    assert "Plain fact." in page  # unflagged text is still shown


def test_render_html_puts_several_articles_on_one_page(report: ArticleReport) -> None:
    other = make_report("Only one.", [(0.0, 0.0, 0.0)])
    page = render_html([report, other], title="Two <articles>")
    assert page.count('<section class="article">') == 2
    assert "Two &lt;articles&gt;" in page


# --- one numbering ------------------------------------------------------------------------------


def test_sentences_are_numbered_from_1_wherever_a_person_reads_them(report: ArticleReport) -> None:
    d = report.to_dict()
    assert [s["index"] for s in d["sentences"]] == [0, 1, 2]  # programs: 0-based, as before
    assert [s["number"] for s in d["sentences"]] == [1, 2, 3]  # people: 1-based
    top = d["summary"]["sensational_framing"]
    assert (top["max_sentence"], top["max_sentence_number"]) == (1, 2)
    assert report.summary["sensational_framing"].highest() == "0.95 (sentence 2)"
    page = report.to_html()
    assert '<sup class="num">2</sup>' in page and "0.95 (sentence 2)" in page and "Sentence 2: " in page
    assert "numbered from 1" in d["numbering"]


# --- HTML -------------------------------------------------------------------------------------


def test_html_tints_per_marker_and_every_sentence_shows_its_scores_on_focus(report: ArticleReport) -> None:
    page = report.to_html()
    text = page.split('<div class="text">', 1)[1]
    assert '<mark class="flagged s-unverifiable-sourcing"' in text  # first flagged marker's tint
    assert '<mark class="flagged s-sensational-framing"' in text
    assert "box-shadow: inset 0 -0.18em 0 var(--c-hedging" in text  # the second marker's bar
    # every sentence, flagged or not, is focusable and described by a tooltip with all its scores
    assert text.count('tabindex="0"') == 3 and text.count('role="tooltip"') == 3
    for n in (1, 2, 3):
        assert f'aria-describedby="a1-s{n}"' in text and f'id="a1-s{n}"' in text
    assert "Sentence 3: unverifiable_sourcing 0.10 &lt; 0.50; hedging 0.05 &lt; 0.30; sensational_framing 0.20 &lt; 0.90" in text
    assert ":focus > .tip" in page and "@media print" in page  # keyboard tooltip, print styles


def test_html_marks_near_misses() -> None:
    near = make_report("Close call.|Far off.", [(0.45, 0.0, 0.0), (0.1, 0.0, 0.0)])  # 0.45 >= 0.8 * 0.5
    text = near.to_html().split('<div class="text">', 1)[1]
    assert text.count('class="plain near"') == 1 and text.count('class="plain"') == 1


def test_html_names_the_model_never_a_path(report: ArticleReport) -> None:
    import dataclasses

    named = dataclasses.replace(report, model="redflags default model", model_version="0123456789ab")
    assert "Model: redflags default model, version 0123456789ab" in named.to_html()


# --- article profile --------------------------------------------------------------------------


def _reference(shares: list[float]):
    from redflags.scoring.profile import Reference

    return Reference({m: shares for m in MARKERS}, "4 test articles", {"model": {"version": "v"}})


def test_percentile_counts_reference_articles_with_a_strictly_lower_share() -> None:
    ref = _reference([0.0, 0.0, 0.1, 0.5])
    assert ref.percentile("hedging", 0.0) == 0.0  # nobody is strictly lower
    assert ref.percentile("hedging", 0.1) == 0.5
    assert ref.percentile("hedging", 0.3) == 0.75
    assert ref.percentile("hedging", 1.0) == 1.0


def test_profile_in_json_and_html_with_its_reference_and_the_style_note(report: ArticleReport) -> None:
    import dataclasses

    from redflags.scoring.profile import PERCENTILE_NOTE

    assert report.profile is None and "profile" not in report.to_dict()  # no reference: omitted
    with_ref = dataclasses.replace(report, reference=_reference([0.0, 0.0, 0.1, 0.5]))
    prof = with_ref.to_dict()["profile"]
    assert prof["reference"] == "4 test articles" and prof["note"] == PERCENTILE_NOTE and "style, not truth" in PERCENTILE_NOTE
    u = prof["markers"]["unverifiable_sourcing"]  # 1 of 3 flagged: 0.333 > 0, 0, 0.1
    assert (u["flagged"], u["sentences"], u["percentile"]) == (1, 3, 0.75)
    assert u["text"] == "unverifiable sourcing: 1 of 3 sentences, more than 75% of reference news articles"
    page = with_ref.to_html()
    assert "unverifiable sourcing: 1 of 3 sentences, more than 75% of reference news articles" in page
    assert "Reference: 4 test articles" in page and html.escape(PERCENTILE_NOTE) in page
    top = dataclasses.replace(with_ref, reference=_reference([0.0, 0.0, 0.0, 0.1])).profile["unverifiable_sourcing"]
    assert top.percentile == 1.0 and top.describe().endswith("1 of 3 sentences, more than any reference news article")
    assert dataclasses.replace(top, percentile=0.996).describe().endswith("more than 99% of reference news articles")
    empty = dataclasses.replace(with_ref, text="", sentences=[])
    assert empty.profile is None and "profile" not in empty.to_dict()


@pytest.mark.slow
@pytest.mark.skipif(not __import__("shutil").which("chromium"), reason="chromium is not installed")
def test_html_renders_and_prints_in_a_browser(report: ArticleReport, tmp_path) -> None:
    """The page loads in headless chromium (screenshot) and prints (PDF): what a reader sees and keeps."""
    import subprocess

    page = tmp_path / "report.html"
    page.write_text(report.to_html(), encoding="utf-8")
    common = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              f"--user-data-dir={tmp_path / 'profile'}"]
    shot, pdf = tmp_path / "shot.png", tmp_path / "print.pdf"
    subprocess.run([*common, "--window-size=1000,1400", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=False)
    subprocess.run([*common, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()],
                   capture_output=True, timeout=120, check=False)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5_000


def test_profile_sentences_read_naturally_at_none_all_and_the_ends() -> None:
    from redflags.scoring.profile import article_profile

    ref = _reference([0.0, 0.0, 0.1, 0.5])
    text = {m: p.describe() for m, p in article_profile(ref, MARKERS, {"unverifiable_sourcing": 0, "hedging": 4,
                                                                      "sensational_framing": 1}, 4).items()}
    # none flagged: not "0 of 4 sentences, more than 0% of ..."; half the reference articles also have none
    assert text["unverifiable_sourcing"] == "unverifiable sourcing: none of 4 sentences, as in 50% of reference news articles"
    assert text["hedging"] == "hedging: all 4 sentences, more than any reference news article"
    assert text["sensational_framing"] == "sensational framing: 1 of 4 sentences, more than 75% of reference news articles"
    low = article_profile(_reference([0.5, 0.6]), MARKERS, {m: 1 for m in MARKERS}, 10)["hedging"]
    assert low.describe() == "hedging: 1 of 10 sentences, no more than any reference news article"
    none_below = article_profile(_reference([0.5, 0.6]), MARKERS, {m: 0 for m in MARKERS}, 10)["hedging"]
    assert none_below.describe() == "hedging: none of 10 sentences, fewer than any reference news article"
    tiny = article_profile(_reference([0.0] + [0.5] * 999), MARKERS, {m: 1 for m in MARKERS}, 10)["hedging"]
    assert tiny.describe().endswith("more than 0.1% of reference news articles")  # not "more than 0%"


def test_a_score_below_its_threshold_never_shows_as_equal_to_it(report: ArticleReport) -> None:
    import dataclasses

    from redflags.core.probability import show_against
    from redflags.scoring.report import MarkerSummary

    assert show_against(0.38123, 0.3813) == ("0.3812", "0.3813")  # not "0.38" beside "0.38" with nothing flagged
    assert show_against(0.45, 0.5) == ("0.45", "0.50") and show_against(0.3813, 0.3811) == ("0.38", "0.38")
    ms = MarkerSummary("hedging", threshold=0.3813, flagged=0, share=0.0, max_score=0.38123, max_sentence=0)
    assert ms.highest() == "0.3812 (sentence 1)" and ms.threshold_text() == "0.3813"
    s = report.sentences[0]
    near = dataclasses.replace(report, thresholds={m: s.scores[m] + 1e-4 for m in s.scores})
    page = near.to_html()
    below = [m for m in s.scores if not s.flags[m]]
    assert below and all(html.escape(f"{m} " + " < ".join(show_against(s.scores[m], s.scores[m] + 1e-4))) in page
                         for m in below)
