"""Loaders B: parsing of tiny hand-written inputs in each corpus's format, and (marked `data`) the real corpora."""

from __future__ import annotations

import gzip
import io
import json
import logging
import tarfile
from pathlib import Path

import pytest
from redflags.training.corpora import CORPORA, CorpusError, Skips, load_corpus
from redflags.training.corpora._text import join_tokens

S, H, U = "sensational_framing", "hedging", "unverifiable_sourcing"


def run(name: str, folder: Path) -> tuple[list, Skips]:
    skips = Skips(name)
    return list(CORPORA[name].loader(folder, skips)), skips


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def only(rec, marker: str) -> None:
    """The record informs `marker` only."""
    assert all(rec.labels[m] is None for m in (S, H, U) if m != marker)


# --- shared helper ---------------------------------------------------------------------------------

def test_join_tokens_detokenises_and_keeps_offsets() -> None:
    tokens = ["I", "do", "n't", "think", "(", "so", ")", ",", "he", "said", '"', "maybe", '"', "."]
    text, offsets = join_tokens(tokens)
    assert text == 'I don\'t think (so), he said "maybe".'
    assert [text[s:e] for s, e in offsets] == tokens


# --- registration ------------------------------------------------------------------------------------

EXPECTED = {
    "bioscope": ((H,), "gold"),
    "sfu_review_negation_speculation": ((H,), "gold"),
    "hedge_lexicon_islam2020": ((H,), "lexicon"),
    "babe": ((S,), "gold-proxy"),
    "basil_fan2019": ((S,), "gold-proxy"),
    "biased_sents_lim2020": ((S,), "graded-proxy"),
    "wiki_npov_statements_hube2019": ((S,), "proxy"),
    "clickbait_chakraborty2016": ((S,), "weak-proxy"),
    "webis_clickbait17_derived": ((S,), "graded-proxy"),
    "affective_text_semeval2007": ((S,), "proxy"),
    "checkthat2025_subjectivity_en": ((S,), "auxiliary"),
    "subj_pang_lee2004": ((S,), "auxiliary"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_registered(name: str) -> None:
    info = CORPORA[name]
    assert (info.informs, info.kind) == EXPECTED[name]
    assert info.licence and info.required


# --- BioScope ----------------------------------------------------------------------------------------

BIOSCOPE_XML = """<?xml version="1.0" encoding="utf-8"?>
<Annotation><DocumentSet>
<Document type="Biological_abstract"><DocID type="PMID">111</DocID>
<DocumentPart type="AbstractText">
<sentence id="S1.1">The protein <xcope id="X1"><cue type="speculation" ref="X1">may</cue> bind DNA</xcope>.</sentence>
<sentence id="S1.2">It does <xcope id="X2"><cue type="negation" ref="X2">not</cue> bind RNA</xcope>.</sentence>
<sentence id="S1.3">  </sentence>
</DocumentPart></Document>
<Document type="Biological_abstract"><DocID type="PMID">222</DocID>
<DocumentPart type="AbstractText"><sentence id="S2.1">These data <cue type="speculation" ref="X3">indicate that</cue> cells grow.</sentence></DocumentPart>
</Document>
</DocumentSet></Annotation>
"""


def test_bioscope(tmp_path: Path) -> None:
    write(tmp_path / "abstracts.xml", BIOSCOPE_XML)
    write(tmp_path / "full_papers.xml", "<Annotation><DocumentSet/></Annotation>")
    recs, skips = run("bioscope", tmp_path)
    assert [r.labels[H] for r in recs] == [1, 0, 1]
    assert recs[0].text == "The protein may bind DNA."
    assert [recs[0].text[s.start : s.end] for s in recs[0].spans] == ["may"]
    assert [recs[2].text[s.start : s.end] for s in recs[2].spans] == ["indicate that"]
    assert recs[0].doc_id == recs[1].doc_id != recs[2].doc_id
    assert skips.total() == 1  # the blank sentence
    only(recs[0], H)


def test_bioscope_malformed_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "abstracts.xml", "<Annotation>\n<Document>\n</Annotation>\n")
    write(tmp_path / "full_papers.xml", "<Annotation/>")
    with pytest.raises(CorpusError, match=r"abstracts\.xml:3"):
        run("bioscope", tmp_path)


# --- SFU reviews -------------------------------------------------------------------------------------

def _sfu_sentence(*tokens: str, cue: tuple[int, int] | None = None) -> str:
    ws = [f"<W>{t}</W>" for t in tokens]
    if cue:
        a, b = cue
        ws[a:b] = [f'<cue ID="9" type="speculation">{"".join(ws[a:b])}</cue>']
    return f"<SENTENCE>{''.join(ws)}</SENTENCE>"


def _sfu_folder(tmp_path: Path, body: str) -> Path:
    from redflags.training.corpora.sfu_review_negation_speculation import DOMAINS

    for d in DOMAINS:
        write(tmp_path / d / "no1done.xml", '<?xml version="1.0"?><DOCUMENT><P/></DOCUMENT>')
    write(tmp_path / "BOOKS" / "yes1done.xml", f'<?xml version="1.0" encoding="UTF-8"?><DOCUMENT><P>{body}</P></DOCUMENT>')
    return tmp_path


def test_sfu(tmp_path: Path) -> None:
    body = (
        _sfu_sentence("It", "might", "be", "OK", ".", cue=(1, 2))
        + _sfu_sentence("I", "don\u0092t", "like", "it", "!")
        + "<SENTENCE></SENTENCE>"
    )
    recs, skips = run("sfu_review_negation_speculation", _sfu_folder(tmp_path, body))
    assert [r.text for r in recs] == ["It might be OK.", "I don't like it!"]
    assert [r.labels[H] for r in recs] == [1, 0]
    assert [recs[0].text[s.start : s.end] for s in recs[0].spans] == ["might"]
    assert recs[0].doc_id.endswith("BOOKS/yes1done")
    assert skips.total() == 1


def test_sfu_malformed(tmp_path: Path) -> None:
    folder = _sfu_folder(tmp_path, "<SENTENCE><W>broken</SENTENCE>")
    with pytest.raises(CorpusError, match="yes1done.xml:1"):
        run("sfu_review_negation_speculation", folder)


# --- hedge lexicon -----------------------------------------------------------------------------------

def test_hedge_lexicon_yields_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path / "hedge_lexicon_islam2020" / "hedge_words.txt", "#Modals\nmay\n")
    write(tmp_path / "hedge_lexicon_islam2020" / "booster_words.txt", "clearly\n")
    with caplog.at_level(logging.INFO):
        assert list(load_corpus("hedge_lexicon_islam2020", tmp_path)) == []
    assert "lexicon baseline" in caplog.text


# --- BABE --------------------------------------------------------------------------------------------

BABE_CSV = (
    "\ufefftext;news_link;outlet;topic;type;label_bias;label_opinion;biased_words\n"
    "The senator's reckless plan is a disaster.;http://x/a;O;t;left;Biased;Expresses writer’s opinion;['reckless', 'disaster']\n"
    "The bill passed on Tuesday.;http://x/a;O;t;left;Non-biased;Entirely factual;[]\n"
    "Nobody agrees here.;http://x/b;O;t;;No agreement;No agreement;[]\n"
    "Broken words column.;;O;t;;Biased;Entirely factual;['oops'\n"
    "A rowless link sentence.;;O;t;;Non-biased;Entirely factual;[]\n"
)


def test_babe(tmp_path: Path) -> None:
    write(tmp_path / "final_labels_SG2.csv", BABE_CSV)
    recs, skips = run("babe", tmp_path)
    assert [r.labels[S] for r in recs] == [1, 0, 0]
    assert [recs[0].text[s.start : s.end] for s in recs[0].spans] == ["reckless", "disaster"]
    assert recs[0].doc_id == recs[1].doc_id == "babe/http://x/a"
    assert recs[2].doc_id == "babe/row6"
    assert skips.total() == 2 and any(":5:" in e for e in skips.examples)
    only(recs[0], S)


def test_babe_missing_column(tmp_path: Path) -> None:
    write(tmp_path / "final_labels_SG2.csv", "text;label\nA;B\n")
    with pytest.raises(CorpusError, match="final_labels_SG2.csv:1: missing columns"):
        run("babe", tmp_path)


# --- BASIL -------------------------------------------------------------------------------------------

def _basil_tar(path: Path, spans: list[dict]) -> None:
    article = {
        "title": "Senator slams plan",
        "triplet-uuid": "abc-1",
        "body-paragraphs": [["The plan passed.", "Critics called it a reckless gamble."], [""]],
    }
    ann = {"phrase-level-annotations": spans}
    with tarfile.open(path, "w:gz") as tar:
        for name, obj in (("articles/2010/abc-1_1.json", article), ("annotations/2010/abc-1_1_ann.json", ann)):
            data = json.dumps(obj).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_basil(tmp_path: Path) -> None:
    _basil_tar(
        tmp_path / "basil_v2_articles_annotations.tar.gz",
        [
            {"id": "p1", "bias": "lex", "start": 20, "end": 28, "polarity": "neg", "txt": "reckless"},
            {"id": "p0", "bias": "inf", "start": 0, "end": 8, "polarity": "neg", "txt": "The plan"},
        ],
    )
    recs, skips = run("basil_fan2019", tmp_path)
    assert [r.text for r in recs] == ["Senator slams plan", "The plan passed.", "Critics called it a reckless gamble."]
    assert [r.labels[S] for r in recs] == [0, 0, 1]  # informational bias is not lexical
    assert [recs[2].text[s.start : s.end] for s in recs[2].spans] == ["reckless"]
    assert {r.doc_id for r in recs} == {"basil_fan2019/abc-1"}
    assert skips.total() == 1  # the empty body sentence


def test_basil_bad_span(tmp_path: Path) -> None:
    _basil_tar(tmp_path / "basil_v2_articles_annotations.tar.gz", [{"id": "p9", "bias": "lex", "start": 0, "end": 3}])
    with pytest.raises(CorpusError, match="abc-1_1.json"):
        run("basil_fan2019", tmp_path)


# --- Lim 2020 ----------------------------------------------------------------------------------------

def test_lim2020(tmp_path: Path) -> None:
    write(
        tmp_path / "lim2020_sentences_aggregated.tsv",
        "id_article\tevent\tsource\tsource_bias\tsent_index\tsentence\tn_ratings\tmean_rating\tratings\ttext_consistent\n"
        "1\tE\tS\tleft\t0\tA shameful farce.\t4\t3.0\t3 3 3 3\t1\n"
        "1\tE\tS\tleft\t1\tThe meeting began at noon.\t4\t1.5\t1 2 1 2\t1\n"
        "2\tE\tS\tleft\t0\tSomewhere in between.\t4\t2.2\t2 2 2 3\t1\n"
        "2\tE\tS\tleft\t1\tBad rating.\t4\tn/a\t\t1\n",
    )
    recs, skips = run("biased_sents_lim2020", tmp_path)
    assert [(r.text, r.labels[S], r.doc_id) for r in recs] == [
        ("A shameful farce.", 1, "biased_sents_lim2020/1"),
        ("The meeting began at noon.", 0, "biased_sents_lim2020/1"),
    ]
    assert skips.total() == 2 and any("tsv:5" in e for e in skips.examples)


# --- Wikipedia NPOV ----------------------------------------------------------------------------------

def test_wiki_npov(tmp_path: Path) -> None:
    write(tmp_path / "statements_biased.txt", "He was a truly brilliant leader.\nShared line.\n")
    write(tmp_path / "statements_neutral_cw-hard.txt", "The town has a bakery.\r\nShared line.\r\n\r\n")
    write(tmp_path / "statements_neutral_featured.txt", "A river runs through it.\n")
    write(tmp_path / "statements_neutral_type_balanced.txt", "A river runs through it.\n")
    recs, skips = run("wiki_npov_statements_hube2019", tmp_path)
    assert [(r.text, r.labels[S]) for r in recs] == [
        ("He was a truly brilliant leader.", 1),
        ("Shared line.", 1),
        ("The town has a bakery.", 0),
        ("A river runs through it.", 0),
    ]
    assert skips.counts == {"neutral statement also in the biased file": 1, "duplicate statement": 1}


# --- clickbait (Chakraborty) -------------------------------------------------------------------------

def test_clickbait_chakraborty(tmp_path: Path) -> None:
    (tmp_path / "clickbait_data.gz").write_bytes(gzip.compress(b"You Won't Believe These 9 Cats\n\nThis Dog Did What\n"))
    (tmp_path / "non_clickbait_data.gz").write_bytes(gzip.compress("Parliament passes budget\n\nCafé reopens\n".encode()))
    recs, skips = run("clickbait_chakraborty2016", tmp_path)
    assert [r.labels[S] for r in recs] == [1, 1, 0, 0]
    assert recs[3].text == "Café reopens"
    assert len({r.doc_id for r in recs}) == 4 and skips.total() == 0


def test_clickbait_corrupt_gzip(tmp_path: Path) -> None:
    (tmp_path / "clickbait_data.gz").write_bytes(b"not gzip at all")
    (tmp_path / "non_clickbait_data.gz").write_bytes(gzip.compress(b"x\n"))
    with pytest.raises(CorpusError, match="clickbait_data.gz"):
        run("clickbait_chakraborty2016", tmp_path)


# --- Webis clickbait ---------------------------------------------------------------------------------

def test_webis(tmp_path: Path) -> None:
    write(
        tmp_path / "webis_clickbait17_posts.tsv",
        "split\ttext_id\tpost_text\ttruth_mean\ttruth_median\ttruth_mode\tclick_bait\n"
        "train\t1\tThis one trick will shock you\t0.59999999998\t0.66\t0.66\t1\n"
        "train\t2\tCouncil approves budget\t0.0\t0.0\t0.0\t0\n"
        "test\t3\tSomewhat teasing\t0.4\t0.33\t0.33\t0\n"
        "test\t4\tNo number\tabc\t0\t0\t0\n",
    )
    recs, skips = run("webis_clickbait17_derived", tmp_path)
    assert [(r.doc_id, r.labels[S]) for r in recs] == [("webis_clickbait17_derived/1", 1), ("webis_clickbait17_derived/2", 0)]
    assert skips.total() == 2 and any("tsv:5" in e for e in skips.examples)


# --- Affective Text ----------------------------------------------------------------------------------

def _affective(tmp_path: Path, extra: str = "") -> Path:
    write(
        tmp_path / "affectivetext_test.xml",
        '<corpus task="affective text">\n<instance id="500">Terror fears grip city</instance>\n'
        '<instance id="501">Museum opens &amp; shows art</instance>\n<instance id="502">Mild worry</instance>\n</corpus>\n',
    )
    write(tmp_path / "Annotations" / "A1.txt", "500 40 0 80 0 0 0 -60\n501 0 0 0 50 0 0 40\n502 0 0 30 0 0 0 0\n" + extra)
    write(tmp_path / "Annotations" / "A2.txt", "500 20 0 60 0 0 0 -40\n501 0 0 5 30 0 0 20\n502 0 0 20 0 0 0 0\n")
    return tmp_path


def test_affective(tmp_path: Path) -> None:
    recs, skips = run("affective_text_semeval2007", _affective(tmp_path))
    assert [(r.text, r.labels[S]) for r in recs] == [("Terror fears grip city", 1), ("Museum opens & shows art", 0)]
    assert skips.total() == 1 and any("xml:4" in e for e in skips.examples)


def test_affective_malformed_scores(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"A1\.txt:4"):
        run("affective_text_semeval2007", _affective(tmp_path, "503 1 2\n"))


# --- CheckThat subjectivity --------------------------------------------------------------------------

def test_checkthat(tmp_path: Path) -> None:
    head = "sentence_id\tsentence\tlabel\tsolved_conflict\n"
    write(tmp_path / "train_en.tsv", head + 'a1\t"Outrageous," she wrote, and so it was.\tSUBJ\tFalse\n')
    write(tmp_path / "dev_en.tsv", head + "a2\tThe vote is on Monday.\tOBJ\t\na3\tUnlabelled.\tMAYBE\t\n")
    write(tmp_path / "dev_test_en.tsv", "sentence_id\tsentence\tlabel\n")
    write(tmp_path / "test_en_labeled.tsv", "sentence\tlabel\tsentence_id\nA fine mess.\tSUBJ\ta4\n")
    recs, skips = run("checkthat2025_subjectivity_en", tmp_path)
    assert [(r.text, r.labels[S], r.doc_id.split("/")[-1]) for r in recs] == [
        ('"Outrageous," she wrote, and so it was.', 1, "a1"),
        ("The vote is on Monday.", 0, "a2"),
        ("A fine mess.", 1, "a4"),
    ]
    assert skips.total() == 1 and any("dev_en.tsv:3" in e for e in skips.examples)


# --- SUBJ --------------------------------------------------------------------------------------------

def test_subj(tmp_path: Path) -> None:
    write(tmp_path / "subj.subjective", "a dazzling , wry film \u2026 it 's great .\n\n", encoding="cp1252")
    write(tmp_path / "subj.objective", "the hero ( a farmer ) leaves home .\n")
    recs, skips = run("subj_pang_lee2004", tmp_path)
    assert [(r.text, r.labels[S]) for r in recs] == [
        ("a dazzling, wry film \u2026 it's great.", 1),
        ("the hero (a farmer) leaves home.", 0),
    ]
    assert skips.total() == 1


def test_subj_undecodable(tmp_path: Path) -> None:
    (tmp_path / "subj.subjective").write_bytes(b"fine\nbad \x81 byte\n")
    write(tmp_path / "subj.objective", "x\n")
    with pytest.raises(CorpusError, match=r"subj\.subjective:2"):
        run("subj_pang_lee2004", tmp_path)


def test_missing_required_file(tmp_path: Path) -> None:
    (tmp_path / "babe").mkdir()
    with pytest.raises(CorpusError, match="final_labels_SG2.csv"):
        list(load_corpus("babe", tmp_path))


# --- the real corpora (../shared/data) ---------------------------------------------------------------

# corpus -> (records, positives of its marker), as measured; PROVENANCE counts minus documented skips.
REAL = {
    "bioscope": (H, 14541, 2620),
    "sfu_review_negation_speculation": (H, 17262, 3912),
    "babe": (S, 3673, 1810),
    "basil_fan2019": (S, 8276, 451),
    "biased_sents_lim2020": (S, 450, 225),
    "wiki_npov_statements_hube2019": (S, 11911, 1843),
    "clickbait_chakraborty2016": (S, 32000, 15999),
    "webis_clickbait17_derived": (S, 14501, 3661),
    "affective_text_semeval2007": (S, 586, 90),
    "checkthat2025_subjectivity_en": (S, 2076, 745),
    "subj_pang_lee2004": (S, 10000, 5000),
}


@pytest.mark.data
@pytest.mark.parametrize("name", sorted(REAL))
def test_real_corpus_counts(name: str, shared_data: Path) -> None:
    marker, n, pos = REAL[name]
    recs = list(load_corpus(name, shared_data))
    assert abs(len(recs) - n) <= 0.02 * n
    assert abs(sum(r.labels[marker] == 1 for r in recs) - pos) <= 0.02 * pos + 1
    for r in recs:
        assert r.text and r.doc_id.startswith(name + "/")
        assert r.labels[marker] in (0, 1)
        assert all(r.labels[m] is None for m in (S, H, U) if m != marker)
        for sp in r.spans:
            assert 0 <= sp.start < sp.end <= len(r.text) and sp.marker == marker


@pytest.mark.data
def test_real_hedge_lexicon_yields_nothing(shared_data: Path) -> None:
    assert list(load_corpus("hedge_lexicon_islam2020", shared_data)) == []
