"""Boilerplate lines in a scored article: kept out of the scores, reported as skipped (JSON, table, HTML)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from redflags.cli.app import app
from typer.testing import CliRunner

from tests.test_segment import ARTICLE

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_461dd1c7835a637b.txt"


@pytest.fixture(scope="module")
def report(tiny_model_dir: Path):
    import redflags

    return redflags.load(tiny_model_dir).score(ARTICLE, source="harbour.txt")


def test_skipped_lines_are_reported_not_scored(report) -> None:
    assert len(report.sentences) == 8
    assert [k.reason for k in report.skipped] == [
        "photo credit", "advertisement", "wire credit", "newsletter prompt", "newsletter prompt", "photo credit",
        "read more",
    ]
    for k in report.skipped:
        assert ARTICLE[k.start : k.end] == k.text
    scored = " ".join(s.text for s in report.sentences)
    assert "Advertisement" not in scored and "ASSOCIATED PRESS" not in scored and "Sign Up" not in scored
    d = json.loads(report.to_json())
    assert d["n_sentences"] == 8 and d["n_skipped"] == 7
    assert d["skipped"][1] == {"start": report.skipped[1].start, "end": report.skipped[1].end,
                               "text": "Advertisement", "reason": "advertisement"}
    for m in report.markers:  # summaries count sentences only
        assert d["summary"][m]["flagged"] <= 8


def test_html_greys_skipped_lines_and_keeps_in_sentence_line_breaks_inline(report) -> None:
    page = report.to_html()
    assert '<span class="skipped" title="skipped: advertisement">Advertisement</span>' in page
    assert page.count('class="skipped"') == 7
    css = page[page.index("<style>") : page.index("</style>")]
    assert re.search(r"\.text mark\.flagged, \.text span\.plain \{ white-space: normal; \}", css)
    assert ".text { white-space: pre-wrap; }" in css  # paragraph breaks between sentences stay visible
    # Every character of the article is on the page once, in order (sentences, gaps, skipped lines).
    body = page[page.index('<div class="text">') : page.index("</div></section>")]
    body = re.sub(r'<sup[^>]*>.*?</sup>|<span class="chips">(?:<span[^>]*>[^<]*</span>)*</span>'
                  r'|<span class="tip"[^>]*>[^<]*</span>', "", body)  # numbers, chips and score tooltips
    assert html.unescape(re.sub(r"<[^>]+>", "", body)) == ARTICLE


def test_table_footer_counts_skipped_lines(tiny_model_dir: Path, tmp_path: Path) -> None:
    f = tmp_path / "harbour.txt"
    f.write_text(ARTICLE, encoding="utf-8")
    result = CliRunner().invoke(app, ["score", str(f), "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    assert "7 boilerplate lines skipped (not scored)" in result.output
    result = CliRunner().invoke(app, ["score", str(SEED), "--model", str(tiny_model_dir)])
    assert "boilerplate" not in result.output  # nothing skipped, nothing said
