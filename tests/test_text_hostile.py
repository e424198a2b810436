"""Text that changes what the reader sees or what the model sees (issue 23): look-alike letters and
invisible characters, direction overrides in the HTML page, escape sequences in the terminal table,
sentences longer than the model's window, and long lines without punctuation."""

from __future__ import annotations

import io
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import redflags
from redflags.core import inference
from redflags.core.normalise import CONFUSABLES, normalise
from redflags.markers import MARKERS, TECHNIQUES
from redflags.scoring import segment as segment_mod
from redflags.scoring.clauses import MAX_SENTENCE
from redflags.scoring.segment import segment

from tests.conftest import make_tiny_model

PLAIN = "Officials say the plan may fail, a bombshell for anonymity."
# The same sentence as a reader sees it, written with letters the model used to read differently.
DISGUISED = {
    "cyrillic look-alikes": "Officials say the plan m\u0430y fail, a b\u043emb\u0455hell for anonym\u0456ty.",
    "greek look-alikes": "Officials say the plan may fail, a b\u03bfmbshell f\u03bfr anonymity.",
    "full-width letters": "Officials say the plan \uff4d\uff41\uff59 fail, a \uff42\uff4f\uff4d\uff42shell for anonymity.",
    "mathematical bold": "Officials say the plan \U0001d426\U0001d41a\U0001d432 fail, a bombshell for anonymity.",
    "zero-width and soft hyphen": "Offi\u00adcials say the plan m\u200bay fail, a bomb\u200dshell for anon\u2060ymity.",
    "bidi controls and BOM": "\ufeffOfficials say the \u202eplan\u202c may fail, a bombshell for anonymity.",
}


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory, tokenizer):
    # Every word is evidence (span threshold 0) and every marker flagged: spans show what was read where.
    model = make_tiny_model(token_head=True, techniques=list(TECHNIQUES), span_thresholds={m: 0.0 for m in MARKERS},
                            thresholds={m: 0.0 for m in MARKERS})
    out = tmp_path_factory.mktemp("hostile") / "model"
    model.save_pretrained(out, tokenizer)
    return redflags.load(out)


# --- what the model reads ------------------------------------------------------------------------


@pytest.mark.parametrize("name", DISGUISED)
def test_the_model_reads_disguised_text_as_the_plain_text(scorer, name: str) -> None:
    text = DISGUISED[name]
    assert inference.tokenize_texts(scorer.tokenizer, [text], scorer.max_length).ids == \
        inference.tokenize_texts(scorer.tokenizer, [PLAIN], scorer.max_length).ids
    assert np.array_equal(scorer.predict_proba([text]), scorer.predict_proba([PLAIN]))


@pytest.mark.parametrize("name", DISGUISED)
def test_offsets_point_into_the_original_text(scorer, name: str) -> None:
    text = "Intro line. " + DISGUISED[name]
    report = scorer.score(text)
    sent = report.sentences[-1]
    assert text[sent.start:sent.end] == sent.text
    spans = sent.evidence_for("hedging")
    assert spans and all(text[e.start:e.end] == e.text for e in spans)
    # Every word is evidence here: the spans cover the disguised words in full, look-alikes included.
    covered = "".join(text[e.start:e.end] for e in spans)
    for word in ("m\u0430y", "\uff4d\uff41\uff59", "\U0001d426\U0001d41a\U0001d432", "b\u043emb\u0455hell", "anon\u2060ymity"):
        if word in text:
            assert word in covered
    tok = inference.tokenize_texts(scorer.tokenizer, [text], scorer.max_length, offsets=True)
    for a, b in tok.offsets[0]:
        assert 0 <= a <= b <= len(text)


def test_a_word_wholly_in_another_script_stays_as_it_is() -> None:
    assert normalise("Москва сор рост").text == "Москва сор рост"  # all-Cyrillic, even when every letter has a twin
    assert normalise("the Κρήτη ferry").text == "the Κρήτη ferry"
    assert normalise("m\u0430y").text == "may"  # a Latin word with one look-alike
    assert normalise("m\u0430д").text == "m\u0430д"  # a letter without a Latin twin: a mixed word, not a disguise


def test_normalised_copy_is_nfkc_without_format_characters_and_maps_every_character_back() -> None:
    rng = np.random.default_rng(0)
    alphabet = list("ab .,'") + ["\u00e9", "e\u0301", "\ufb01", "\u00a0", "\u00bd", "\uff21", "\U0001d400", "\u200b",
                                 "\ufeff", "\u202e", "\u00ad", "\u1100\u1161", "\uff76\uff9e", "\u201c", "\u0301"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet, size=int(rng.integers(0, 12))))
        n = normalise(text)
        no_format = "".join(c for c in text if unicodedata.category(c) != "Cf")
        assert n.text == unicodedata.normalize("NFKC", no_format), repr(text)
        if n.starts is None:
            assert n.text == text
            continue
        assert len(n.starts) == len(n.ends) == len(n.text)
        for i, c in enumerate(n.text):  # each copy character comes from its original range
            a, b = n.span(i, i + 1)
            assert 0 <= a < b <= len(text)
            assert c in unicodedata.normalize("NFKC", "".join(x for x in text[a:b] if unicodedata.category(x) != "Cf"))
        assert list(n.starts) == sorted(n.starts)


def test_confusables_map_one_letter_of_another_script_to_one_latin_letter() -> None:
    for k, v in CONFUSABLES.items():
        assert len(k) == 1 and len(v) == 1 and k.isalpha() and v.isalpha()
        assert unicodedata.name(v).startswith("LATIN")
    assert normalise("plain ASCII text").starts is None  # the fast path: nothing to map
    assert normalise("So it goes\u2026").text == "So it goes\u2026"  # news typography the model learned as is


# --- format characters never make a sentence ----------------------------------------------------


@pytest.mark.parametrize("tail", ["\u200b", "\ufeff", " \u200b\u200b\n\ufeff", "\n\u200b\n", "\u202e"])
def test_format_characters_alone_are_no_sentence(scorer, tail: str) -> None:
    text = "\ufeffOfficials say the plan may fail. Nobody knows." + tail
    sents = segment(text)
    assert [s.text for s in sents] == ["Officials say the plan may fail.", "Nobody knows."]
    report = scorer.score(text)
    assert len(report.sentences) == 2 and report.summary["hedging"].share == 1.0  # (every sentence is flagged here)


def test_a_line_of_invisible_characters_separates_paragraphs() -> None:
    text = "A heading without a stop\n\u200b\nthe next paragraph starts in lower case"
    assert [s.text for s in segment(text)] == ["A heading without a stop", "the next paragraph starts in lower case"]


# --- what the reader sees: HTML and terminal --------------------------------------------------


_BIDI = {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


class _Isolation(HTMLParser):
    """Records every bidi control in the page's text and whether an element around it isolates direction."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.loose: list[str] = []  # text with a bidi control outside any isolate
        self.sentences: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("span", "mark") and "tabindex" in a:
            self.sentences.append(a)
        if tag not in ("br", "meta", "link"):
            self.stack.append(tag == "bdi" or "dir" in a)

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if _BIDI & set(data) and not any(self.stack):
            self.loose.append(data)


def test_html_isolates_each_sentence_so_an_override_cannot_reverse_the_paragraph(scorer) -> None:
    text = ("The vote was close. \u202eThe result was 52 to 48. Turnout was low.\n\n"
            "A second \u202dparagraph\u2067 with an open isolate. And a \u202eclean end.")
    parser = _Isolation()
    parser.feed(scorer.score(text).to_html())
    assert parser.sentences and all(s.get("dir") == "auto" for s in parser.sentences)
    assert parser.loose == []


def _table(report, terminal: bool) -> str:
    from redflags.cli.table import make_console, render_table

    buf = io.StringIO()
    render_table([report], make_console(force_terminal=terminal, file=buf, width=2000))  # (no wrapping)
    return buf.getvalue()


ESCAPES = ("\x1b[5;41m", "\x1b]8;;http://evil.example\x07", "\x1b]0;pwned\x1b\\", "\x9b2J", "\x07", "\x1bc", "\x08")


@pytest.mark.parametrize("terminal", [False, True])
def test_table_strips_escape_sequences_and_control_characters(scorer, terminal: bool) -> None:
    text = ("Officials say \x1b[5;41mthe plan\x1b[0m may fail\x07 today. Sources \x9b2Jsaid \x1b]8;;http://evil.example\x07"
            "so\x1b]8;;\x07 to\x08day, \x1b]0;pwned\x1b\\ a bombshell \x1bcindeed.")
    out = _table(scorer.score(text, source="bad\x1b[2Jname.txt"), terminal)
    for seq in ESCAPES:
        assert seq not in out
    assert "\x1b]" not in out and "\x9b" not in out and "\x9d" not in out  # no OSC or CSI of the article's
    assert "badname.txt" in out
    if not terminal:
        assert not any(unicodedata.category(c) == "Cc" and c != "\n" for c in out)
        assert "Officials say the plan may fail today." in out  # the text itself is shown, sequences cut out


# --- sentences longer than the model's window --------------------------------------------------


# Words that are one token each, so that the text of a window is exactly a run of words.
WORDS = ("officials said the plan may fail because sources close to the talks claimed that a shocking "
         "secret report could perhaps change everything for the region").split()


def _long_sentence(n_words: int) -> str:
    return " ".join(WORDS[k % len(WORDS)] for k in range(n_words)) + "."


# 151 tokens: over the tiny model's max_length (64), three windows; the first one reads only "the".
LONG = "the " * 70 + _long_sentence(80)


def test_a_long_sentence_is_read_in_overlapping_windows_and_the_highest_counts(scorer) -> None:
    text = LONG
    assert len(segment(text)) == 1
    tok = scorer.tokenizer.encode([text], 10_000)[0]
    content = [o for o, w in zip(tok.offsets, tok.word_ids) if w is not None]
    room, overlap = scorer.max_length - 2, inference.window_overlap(scorer.max_length)
    windows = [content[s : s + room] for s in range(0, len(content) - overlap, room - overlap)]
    parts = [text[w[0][0] : w[-1][1]] for w in windows]
    assert len(parts) == 3
    whole = scorer.predict_proba([text])
    each = scorer.predict_proba(parts)
    assert np.allclose(whole[0], each.max(axis=0), atol=1e-6)
    assert not np.allclose(whole[0], each[0], atol=1e-4)  # a truncating reader gives the first window's score


def test_report_says_how_many_windows_and_evidence_comes_from_all(scorer) -> None:
    text = "A short one. " + LONG
    report = scorer.score(text)
    short, long = report.sentences
    assert (short.windows, long.windows) == (1, 3) and not long.truncated
    d = report.to_dict()
    assert d["sentences"][1]["windows"] == 3 and d["n_windowed"] == 1
    ends = [e.end for e in long.evidence_for("hedging")]
    assert max(ends) == long.end - 1  # the last word, in the last window, is evidence too
    assert all(text[e.start:e.end] == e.text for e in long.evidence or ())
    assert "read in 3 windows" in report.to_html()
    assert "read in 3 windows" in _table(report, terminal=False)


# --- long lines without punctuation -------------------------------------------------------------


def _unpunctuated(chars: int, comma_every: int = 0) -> str:
    words, n, k = [], 0, 0
    while n < chars:
        w = WORDS[k % len(WORDS)] + ("," if comma_every and k % comma_every == comma_every - 1 else "")
        words.append(w)
        n, k = n + len(w) + 1, k + 1
    return " ".join(words)


@pytest.mark.parametrize("comma_every", [0, 30])
def test_a_long_unpunctuated_line_is_cut_into_bounded_sentences_at_clauses(comma_every: int) -> None:
    text = _unpunctuated(60_000, comma_every)
    sents = segment(text)
    assert all(len(s.text) <= MAX_SENTENCE for s in sents)
    assert all(text[s.start:s.end] == s.text for s in sents)
    # Nothing is lost: the sentences and the spaces between them are the whole line.
    assert sents[0].start == 0 and sents[-1].end == len(text)
    assert all(text[a.end:b.start].isspace() for a, b in zip(sents, sents[1:]))
    assert len(sents) <= 2 * len(text) // MAX_SENTENCE + 1  # every piece at least half the limit
    for s in sents[:-1]:
        if comma_every:
            assert s.text.endswith(",")  # at a clause boundary when there is one
        else:
            assert s.text.split()[-1] in WORDS  # at a space, never inside a word


def test_a_line_without_spaces_is_cut_at_the_limit() -> None:
    text = "x" * 5_500
    assert [len(s.text) for s in segment(text)] == [1000] * 5 + [500]


def test_segmenting_reads_each_character_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """Linear time, said structurally: pysbd (super-linear in its input) sees bounded chunks, each
    character a few times at most, however long the line."""
    seen: list[int] = []
    real = segment_mod._pysbd_starts

    def counting(chunk: str) -> list[int]:
        seen.append(len(chunk))
        return real(chunk)

    monkeypatch.setattr(segment_mod, "_pysbd_starts", counting)
    text = _unpunctuated(100_000)
    segment(text)
    assert max(seen) <= 1200 and sum(seen) <= 2.5 * len(text)


def test_long_sentences_with_full_stops_are_still_found_whole_by_pysbd() -> None:
    sent = "The committee met on Monday and talked about the budget for a long time. "
    text = sent * 200
    assert [s.text for s in segment(text)] == [sent.strip()] * 200


@pytest.mark.slow
def test_shipped_model_scores_disguised_words_as_the_plain_ones() -> None:
    scorer = redflags.load()
    texts = [PLAIN, *DISGUISED.values()]
    p = scorer.predict_proba(texts)
    assert np.abs(p - p[0]).max() < 1e-5
