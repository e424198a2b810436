"""Sentence segmentation: exact offsets and the layouts news text comes in."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from redflags.scoring.segment import Sentence, iter_sentences, segment

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_461dd1c7835a637b.txt"


def texts(text: str) -> list[str]:
    """Sentence texts, after checking every offset is exact."""
    sentences = segment(text)
    for s in sentences:
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip() and s.text
    assert [s.start for s in sentences] == sorted(s.start for s in sentences)
    return [s.text for s in sentences]


def test_seed_article_has_23_sentences_with_exact_offsets() -> None:
    text = SEED.read_text(encoding="utf-8")
    got = texts(text)
    assert len(got) == 23
    # The seed breaks a line after "U.S." in the middle of a sentence: it stays one sentence.
    joined = [t for t in got if "European Command" in t]
    assert len(joined) == 1 and joined[0].startswith("These deployments, part of the U.S.\nEuropean Command")


def test_abbreviations_stay_inside_the_sentence() -> None:
    text = "Troops of the U.S. European Command arrived on Jan. 5 at 5 p.m. and met Dr. Jones. Mr. Smith left."
    assert texts(text) == [
        "Troops of the U.S. European Command arrived on Jan. 5 at 5 p.m. and met Dr. Jones.",
        "Mr. Smith left.",
    ]


def test_line_break_in_the_middle_of_a_sentence() -> None:
    text = "The minister said on Tuesday that the\ngovernment would act within weeks. Nobody believed it."
    assert texts(text) == [
        "The minister said on Tuesday that the\ngovernment would act within weeks.",
        "Nobody believed it.",
    ]


@pytest.mark.parametrize("width", [40, 72])
def test_hard_wrapped_article_keeps_its_sentences(width: int) -> None:
    # Wrapped lines can look like Title Case headings ("...the Romanian Ministry of National"):
    # inside a hard-wrapped paragraph they must not end a sentence.
    text = "\n".join(textwrap.fill(line, width) for line in SEED.read_text(encoding="utf-8").splitlines())
    got = texts(text)
    assert len(got) == 23 and all(t.endswith(".") for t in got)


def test_quotes_and_dashes() -> None:
    text = (
        "“Is this real?” she asked. “Yes,” he said. "
        'He said "It is over." Then he left. '
        "The drone—whether Ukrainian or Russian—was never identified. It flew on – and vanished."
    )
    assert texts(text) == [
        "“Is this real?” she asked.",
        "“Yes,” he said.",
        'He said "It is over."',
        "Then he left.",
        "The drone—whether Ukrainian or Russian—was never identified.",
        "It flew on – and vanished.",
    ]


@pytest.mark.parametrize(
    "heading",
    ["# Romania to host drone plants", "Romania To Host Drone Plants", "DRONE DEAL", "Drone deal"],
)
def test_heading_without_final_punctuation_is_its_own_sentence(heading: str) -> None:
    text = f"{heading}\nRomania is poised to become a strategic hub for drone manufacturing. Officials agree."
    assert texts(text) == [
        heading,
        "Romania is poised to become a strategic hub for drone manufacturing.",
        "Officials agree.",
    ]


def test_list_items_are_each_a_sentence() -> None:
    text = "Key points:\n- Romania will build drones\n- Ukraine brings expertise.\n• NATO is watching\n1. First\n2) Second\n\nThe end."
    assert texts(text) == [
        "Key points:",
        "- Romania will build drones",
        "- Ukraine brings expertise.",
        "• NATO is watching",
        "1. First",
        "2) Second",
        "The end.",
    ]


def test_blank_lines_separate_paragraphs_and_crlf_is_handled() -> None:
    text = "A paragraph without a stop\n\n\nAnother one.\r\nIts second line.\r\n"
    assert texts(text) == ["A paragraph without a stop", "Another one.", "Its second line."]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t \n"])
def test_empty_or_whitespace_gives_no_sentences(text: str) -> None:
    assert segment(text) == []


def test_text_without_final_punctuation_is_kept() -> None:
    assert texts("  no stop at the end  ") == ["no stop at the end"]


def test_long_paragraph_is_segmented_in_windows_without_losing_text() -> None:
    # One paragraph far longer than the segmenter's window: window edges must not cut sentences.
    one = SEED.read_text(encoding="utf-8").replace("\n", " ")
    text = (one + " ") * 8
    got = texts(text)
    assert len(got) == 23 * 8
    assert got[:23] == got[23:46]


def test_a_giant_sentence_without_punctuation_is_cut_not_hung() -> None:
    text = "word " * 30_000
    got = texts(text)
    assert sum(len(t) for t in got) >= len(text.strip()) - len(got) * 2
    assert len(got) > 1 and all(len(t) <= 50_000 for t in got)


def test_iter_sentences_is_lazy_and_rejects_non_str() -> None:
    it = iter_sentences("One. Two.")
    assert next(it) == Sentence("One.", 0, 4)
    with pytest.raises(TypeError, match="str"):
        segment(b"bytes")  # type: ignore[arg-type]


# --- real-article layout: one sentence per line, boilerplate lines, quotes over several lines ------

ARTICLE = """Harbour town votes to close its ferry pier

The council of Port Elsby voted 7-2 on Tuesday to close the ferry pier for two years.
(AP Photo/Maria Lindqvist)
Residents had asked for a delay. "We were told the pier was safe.
Then they told us it was not.
Now nobody will say who decided," said Tom Berger, who runs a cafe by the water.
Advertisement
The mayor, Ana Ruiz, said the repairs could cost $4 million.
ASSOCIATED PRESS.
Get the Morning Brief in your inbox: the news you need before breakfast.
Sign Up Thank you for signing up!
Officials from the U.S.
Army Corps of Engineers will inspect the pier next month.
Photo: The pier at low tide on Monday.

Read more: Ferry operators fear a long closure
"""


def test_article_with_boilerplate_and_a_quote_over_three_lines() -> None:
    from redflags.scoring.segment import iter_segments

    segments = list(iter_segments(ARTICLE))
    for s in segments:
        assert ARTICLE[s.start : s.end] == s.text
    kept = [s.text for s in segments if s.skipped is None]
    assert kept == [
        "Harbour town votes to close its ferry pier",
        "The council of Port Elsby voted 7-2 on Tuesday to close the ferry pier for two years.",
        "Residents had asked for a delay.",
        '"We were told the pier was safe.',
        "Then they told us it was not.",
        'Now nobody will say who decided," said Tom Berger, who runs a cafe by the water.',
        "The mayor, Ana Ruiz, said the repairs could cost $4 million.",
        "Officials from the U.S.\nArmy Corps of Engineers will inspect the pier next month.",
    ]
    assert [(s.text, s.skipped) for s in segments if s.skipped] == [
        ("(AP Photo/Maria Lindqvist)", "photo credit"),
        ("Advertisement", "advertisement"),
        ("ASSOCIATED PRESS.", "wire credit"),
        ("Get the Morning Brief in your inbox: the news you need before breakfast.", "newsletter prompt"),
        ("Sign Up Thank you for signing up!", "newsletter prompt"),
        ("Photo: The pier at low tide on Monday.", "photo credit"),
        ("Read more: Ferry operators fear a long closure", "read more"),
    ]
    assert segment(ARTICLE) == [s for s in segments if s.skipped is None]


@pytest.mark.parametrize("line", [
    "Advertisement", "ADVERTISEMENT", "Story continues below advertisement", "Sign up for our free newsletter.",
    "Subscribe", "(AP Photo/Evan Vucci)", "(Reuters photo: Jane Doe)", "Photo by John Smith", "Getty Images",
    "AFP/Getty Images", "Credit: Jane Doe", "ASSOCIATED PRESS", "(AP)", "Reuters", "Share this article",
    "Click here to read the full report", "READ MORE:", "Related: Council votes again",
])
def test_boilerplate_lines(line: str) -> None:
    from redflags.scoring.segment import boilerplate_reason

    assert boilerplate_reason(line) is not None


@pytest.mark.parametrize("line", [
    "The Associated Press reported that the pier was closed.", "Photographs of the pier were shared widely.",
    "Readers signed up in their thousands.", "He said he would sign up for the army.", "Subscribers pay $5 a month.",
    "The advertisement ran for a week.", "Reuters and AP both reported the vote.",
])
def test_sentences_that_look_like_boilerplate_are_kept(line: str) -> None:
    from redflags.scoring.segment import boilerplate_reason

    assert boilerplate_reason(line) is None
    assert texts(line) == [line]


def test_closing_quote_stays_with_its_sentence() -> None:
    # A quote that opened on an earlier line closes here: pysbd alone cuts the mark off.
    assert texts("they told us.\nThe kids are not forced to be there.”\nShe left.") == [
        "they told us.",
        "The kids are not forced to be there.”",
        "She left.",
    ]


@pytest.mark.parametrize("text", [
    "Officials of the U.S.\nEuropean Command met.", "The letter was sent to Gov.\nRick Scott on Monday.",
    "It was signed by J.\nSmith, the clerk.",
])
def test_line_break_after_an_abbreviation_is_left_to_pysbd(text: str) -> None:
    assert texts(text) == [text]
