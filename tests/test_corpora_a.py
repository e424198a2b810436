"""Loaders A: PTC, PolNeAR, Anonymous Source Tracker, CoNLL-2010 wiki weasel, Szeged uncertainty.

Unit tests use tiny inputs written here in each corpus's own format; tests marked `data` read the
real corpora from ../shared/data (skipped where absent) and compare with the PROVENANCE counts.
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest
from redflags.markers import MARKERS
from redflags.training.corpora import CORPORA, CorpusError, Skips, corpus_folder
from redflags.training.corpora.anonymous_source_tracker import clean_snippet
from redflags.training.corpora.conll2010_wikipedia_weasel_sentences import detokenise
from redflags.training.records import Record

U, H, S = MARKERS


def run(name: str, folder: Path) -> tuple[list[Record], Skips]:
    skips = Skips(name)
    return list(CORPORA[name].loader(folder, skips)), skips


def check_records(records: list[Record], name: str) -> None:
    """Every record is well formed: text, doc_id, valid labels only for informed markers, spans inside."""
    informs = set(CORPORA[name].informs)
    for r in records:
        assert r.text and r.text == r.text.strip() and r.doc_id and r.corpus == name
        assert set(r.labels) == set(MARKERS)
        for m, v in r.labels.items():
            assert v in (0, 1, None)
            if m not in informs:
                assert v is None
        for sp in r.spans:
            assert 0 <= sp.start < sp.end <= len(r.text) and sp.marker in informs
            assert r.labels[sp.marker] == 1


# ------------------------------------------------------------------------------------------ PTC


def _ptc(tmp: Path, text: str, rows: list[str], aid: str = "123") -> Path:
    (tmp / "train-articles").mkdir(parents=True)
    (tmp / "train-labels-task-flc-tc").mkdir()
    (tmp / "train-articles" / f"article{aid}.txt").write_text(text, encoding="utf-8")
    (tmp / "train-labels-task-flc-tc" / f"article{aid}.task-flc-tc.labels").write_text(
        "".join(r + "\n" for r in rows), encoding="utf-8"
    )
    return tmp


def test_ptc_lines_spans_and_other_techniques(tmp_path: Path) -> None:
    # BOM first (counted by the offsets), title, blank line, three sentences.
    text = "\ufeffA Shocking Title\n\nThe plan is a total disaster.\nIt rained.\nYou doubt it?\n"
    s1 = text.index("total disaster")
    rows = [
        f"123\tLoaded_Language\t{s1}\t{s1 + len('total disaster')}",
        # one span across two lines: both lines positive, offsets clipped per line
        f"123\tExaggeration,Minimisation\t{text.index('disaster')}\t{text.index('rained') + 6}",
        f"123\tDoubt\t{text.index('You')}\t{text.index('it?') + 2}",  # not sensational
        "123\tName_Calling,Labeling\t1\t9",  # "A Shocki" in the title (after the BOM)
    ]
    recs, skips = run("ptc_semeval2020_task11", _ptc(tmp_path, text, rows))
    check_records(recs, "ptc_semeval2020_task11")
    assert [r.text for r in recs] == ["A Shocking Title", "The plan is a total disaster.", "It rained.", "You doubt it?"]
    assert [r.labels[S] for r in recs] == [1, 1, 1, 0]
    assert {r.doc_id for r in recs} == {"123"}
    assert recs[0].text[recs[0].spans[0].start : recs[0].spans[0].end] == "A Shocki"
    second = {(r.text[sp.start : sp.end], sp.label) for sp in recs[1].spans for r in [recs[1]]}
    assert second == {("total disaster", "Loaded_Language"), ("disaster.", "Exaggeration,Minimisation")}
    assert recs[2].text[recs[2].spans[0].start : recs[2].spans[0].end] == "It rained"
    assert recs[1].labels[U] is None and recs[1].labels[H] is None
    assert skips.total() == 0


def test_ptc_unknown_technique_is_skipped_with_line(tmp_path: Path) -> None:
    recs, skips = run("ptc_semeval2020_task11", _ptc(tmp_path, "T\n\nOne.\n", ["123\tLoaded_Language\t0\t1", "123\tNew_Thing\t3\t6"]))
    assert skips.total() == 1 and any("labels:2" in e for e in skips.examples)
    assert [r.labels[S] for r in recs] == [1, 0]


@pytest.mark.parametrize(
    "row, problem",
    [("123\tLoaded_Language\t0", "expected 4"), ("123\tLoaded_Language\tx\t3", "not integers"), ("999\tSlogans\t0\t2", "does not match"), ("123\tSlogans\t0\t500", "outside")],
)
def test_ptc_malformed_labels_name_file_and_line(tmp_path: Path, row: str, problem: str) -> None:
    folder = _ptc(tmp_path, "Title\n\nOne.\n", ["123\tSlogans\t0\t2", row])
    with pytest.raises(CorpusError, match=rf"labels:2: .*{problem}"):
        run("ptc_semeval2020_task11", folder)


# ------------------------------------------------------------------------------------------ PolNeAR

POLNEAR_TEXT = (
    "Officials Fret.\n"
    "\n"
    "Smith said the vote was fair. FBI officials said the\n"
    "\n"  # a paragraph break inside an attribution: the content continues in its own sentence
    "probe is over.\n"
    "It is said to be huge. The weather was mild.\n"
    "Editor's note: reprinted with permission.\n"
    "Some lawmakers proposed a bill.\n"
)


def _at(sub: str, nth: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(nth + 1):
        start = POLNEAR_TEXT.index(sub, start + 1)
    return start, start + len(sub)


def _t(n: int, type_: str, sub: str, nth: int = 0) -> str:
    s, e = _at(sub, nth)
    return f"T{n}\t{type_} {s} {e}\t{POLNEAR_TEXT[s:e]}"


def _polnear(tmp: Path, ann: str, second: str | None = None) -> Path:
    (tmp / "train" / "text").mkdir(parents=True)
    (tmp / "train" / "attributions").mkdir()
    (tmp / "train" / "text" / "art-1.txt").write_text(POLNEAR_TEXT, encoding="utf-8")
    (tmp / "train" / "attributions" / "art-1_b2.ann").write_text(ann, encoding="utf-8")
    if second is not None:
        (tmp / "train" / "attributions" / "art-1_a1.ann").write_text(second, encoding="utf-8")
    return tmp


def _polnear_ann() -> str:
    lines = [
        _t(1, "Source", "Smith"),
        _t(2, "Cue", "said"),
        _t(3, "Content", "the vote was fair"),
        _t(4, "Attribution", "said"),
        "E1\tAttribution:T4 Source:T1 Cue:T2 Content:T3",
        _t(5, "Source", "FBI officials"),
        _t(6, "Cue", "said", nth=1),
        # a content span over a line break: the T line continues on the next line of the file
        _t(7, "Content", "the\n\nprobe is over"),
        _t(8, "Attribution", "said", nth=1),
        "E2\tAttribution:T8 Source:T5 Cue:T6 Content:T7",
        _t(9, "Cue", "is said"),
        _t(10, "Content", "to be huge"),
        _t(11, "Attribution-no-source", "is said"),
        "E3\tAttribution-no-source:T11 Cue:T9 Content:T10",
        "#1\tAnnotatorNotes T9\tIs this really\na cue?",  # a note continuing over two lines
        _t(12, "Discard", "Editor's note: reprinted with permission."),
        _t(13, "Source", "Some lawmakers"),
        _t(14, "Cue", "proposed"),
        _t(15, "Content", "a bill"),
        _t(16, "Attribution", "proposed"),
        "E4\tAttribution:T16 Source:T13 Cue:T14 Content:T15",
        _t(17, "Discuss", "Officials Fret"),
        "T18\tSource 5 x\tbroken",  # malformed offsets
        "E5\tAttribution:T99 Cue:T2",  # refers to a missing span
    ]
    return "\n".join(lines) + "\n"


def test_polnear_sentences_and_labels(tmp_path: Path) -> None:
    # The first annotator in sorted order (a1) has an empty file: b2 is used.
    recs, skips = run("polnear_attribution", _polnear(tmp_path, _polnear_ann(), second=""))
    check_records(recs, "polnear_attribution")
    got = {r.text: r.labels[U] for r in recs}
    assert got == {
        "Officials Fret.": None,  # Discuss span only
        "Smith said the vote was fair.": 0,
        "FBI officials said the": 1,
        "probe is over.": None,  # content of an anonymous attribution only
        "It is said to be huge.": 1,
        "The weather was mild.": 0,
        "Some lawmakers proposed a bill.": 0,  # a vague group acting, not a source
    }
    fbi = next(r for r in recs if r.text.startswith("FBI"))
    assert [fbi.text[s.start : s.end] for s in fbi.spans] == ["FBI officials"]
    assert {r.doc_id for r in recs} == {"art-1"}
    reasons = Counter(skips.counts)
    assert reasons["sentence inside a Discard span (excluded by the annotators)"] == 1
    assert any("art-1_b2.ann:" in e and "malformed offsets" in e for e in skips.examples)
    assert any("missing or malformed span" in e for e in skips.examples)


def test_polnear_orphan_line_and_first_annotator(tmp_path: Path) -> None:
    ann = "a stray line before any entry\n" + _t(1, "Source", "FBI officials") + "\n" + _t(2, "Cue", "said", nth=1) + "\nE1\tAttribution:T2 Source:T1 Cue:T2\n"
    # a1 (sorted first) is used, b2 ignored even though it has a positive attribution
    recs, skips = run("polnear_attribution", _polnear(tmp_path, ann, second="T1\tDiscard 0 1\tO\n"))
    assert all(r.labels[U] == 0 for r in recs if r.text.startswith("FBI"))
    folder = _polnear(tmp_path / "x", ann)
    recs, skips = run("polnear_attribution", folder)
    assert next(r for r in recs if r.text.startswith("FBI")).labels[U] == 1
    assert any("art-1_b2.ann:1: line is not a brat entry" in e for e in skips.examples)


def test_polnear_article_without_annotation_is_counted(tmp_path: Path) -> None:
    folder = _polnear(tmp_path, "")
    recs, skips = run("polnear_attribution", folder)
    assert recs == [] and skips.counts == {"article without a non-empty annotation file": 1}


# ------------------------------------------------------------------------------------------ Anonymous Source Tracker

ANON_HEADER = "source\tphrase\ttitle\tlink\tcontent\tdate_entered\tdate_published\n"


def test_clean_snippet_merges_bold_across_line_wraps() -> None:
    text, bold = clean_snippet("... the deal, <b>people</b> <br>\n<b>familiar with the matter</b> said.\xa0...")
    assert text == "the deal, people familiar with the matter said."
    assert [text[s:e] for s, e in bold] == ["people familiar with the matter"]


def test_anonymous_tracker_positive_sentence_only(tmp_path: Path) -> None:
    content = '"First sentence here. The deal is done, <b>sources said</b>. <br>\nA third one\xa0..."'
    rows = [
        f'news.example\t""sources said""\tT\thttp://a/1\t{content}\t2019-01-01\t2019-01-01\n',
        "news.example\t\"x\"\tT\thttp://a/2\tNo bold here.\t2019-01-01\t2019-01-01\n",
        f'news.example\t""sources said""\tT\thttp://a/1\t{content}\t2019-01-01\t2019-01-01\n',
    ]
    (tmp_path / "anon_snippets.tsv").write_text(ANON_HEADER + "".join(rows), encoding="utf-8")
    recs, skips = run("anonymous_source_tracker", tmp_path)
    check_records(recs, "anonymous_source_tracker")
    assert [r.text for r in recs] == ["The deal is done, sources said."]
    assert recs[0].labels[U] == 1 and recs[0].doc_id == "http://a/1"
    assert recs[0].spans[0].label == "sources said"
    assert skips.counts == {
        "snippet sentence without the matched phrase (unlabelled)": 2,
        "snippet without a <b> match": 1,
        "duplicate link": 1,
    }


def test_anonymous_tracker_bad_header(tmp_path: Path) -> None:
    (tmp_path / "anon_snippets.tsv").write_text("source\tcontent\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="anon_snippets.tsv:1"):
        run("anonymous_source_tracker", tmp_path)


# ------------------------------------------------------------------------------------------ Szeged + CoNLL

WIKI_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Annotation><DocumentSet>
<Document type="Wikipedia_text_weasel"><DocID type="WIKIPEDIA_ARTICLE_ID">Foo_1</DocID>
<DocumentPart type="Title"><Sentence id="S1.1">Foo</Sentence></DocumentPart>
<DocumentPart type="Text"><Sentence id="S1.2"> Foo <ccue type="speculation_modal_probable_">may</ccue> be old.</Sentence>
<Sentence id="S1.3">Some note that Foo (the town) is old.</Sentence>
<Sentence id="S1.4">Foo is a town.</Sentence></DocumentPart></Document>
<Document type="Wikipedia_text_weasel"><DocID type="WIKIPEDIA_ARTICLE_ID">Bar &amp; Baz_2</DocID>
<DocumentPart type="Text"><Sentence id="S1.1">It is <ccue type="speculation_hypo_doxastic _">believed</ccue> that <ccue type="speculation_hypo_investigation _">whether</ccue> Bar exists.</Sentence></DocumentPart></Document>
</DocumentSet></Annotation>
"""

BIO_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Annotation><DocumentSet><Document type="Biological_full_article"><DocID type="PMCID">PMC1</DocID>
<DocumentPart type="SectionTitle"><Sentence id="S1.1">Abstract</Sentence></DocumentPart>
<DocumentPart type="Text"><Sentence id="S1.2">These data <ccue type="speculation_modal_probable_">suggest</ccue> a role.</Sentence>
<Sentence id="S1.3">Cells were counted.</Sentence></DocumentPart></Document></DocumentSet></Annotation>
"""


def _szeged(tmp: Path) -> Path:
    folder = tmp / "szeged_uncertainty_corpus"
    folder.mkdir(parents=True)
    (folder / "wiki.xml").write_text(WIKI_XML, encoding="utf-8")
    for name in ("bio_bmc.xml", "bio_fly.xml", "bio_hbc.xml"):
        (folder / name).write_text(BIO_XML.replace("PMC1", name), encoding="utf-8")
    return folder


def test_szeged_cues_and_headings(tmp_path: Path) -> None:
    recs, skips = run("szeged_uncertainty_corpus", _szeged(tmp_path))
    check_records(recs, "szeged_uncertainty_corpus")
    wiki = [r for r in recs if r.doc_id.startswith("wiki:")]
    assert [(r.text, r.labels[H]) for r in wiki] == [
        ("Foo may be old.", 1),
        ("Some note that Foo (the town) is old.", 0),
        ("Foo is a town.", 0),
        ("It is believed that whether Bar exists.", 1),
    ]
    assert wiki[0].doc_id == "wiki:Foo_1" and wiki[3].doc_id == "wiki:Bar & Baz_2"
    assert [(wiki[3].text[s.start : s.end], s.label) for s in wiki[3].spans] == [
        ("believed", "speculation_hypo_doxastic"),
        ("whether", "speculation_hypo_investigation"),
    ]
    assert wiki[0].text[wiki[0].spans[0].start : wiki[0].spans[0].end] == "may"
    assert len(recs) == 4 + 3 * 2 and skips.total() == 1 + 3  # the wiki title, three section titles


def test_szeged_malformed_xml_names_line(tmp_path: Path) -> None:
    folder = _szeged(tmp_path)
    (folder / "bio_fly.xml").write_text("<Annotation>\n<DocumentSet>\n</Annotation>\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"bio_fly.xml:3"):
        run("szeged_uncertainty_corpus", folder)


def _conll(tmp: Path, rows: str) -> Path:
    _szeged(tmp)
    folder = tmp / "conll2010_wikipedia_weasel_sentences"
    folder.mkdir()
    (folder / "train.csv").write_text("text,label\n" + rows, encoding="utf-8")
    return folder


def test_conll_weasel_rule_with_szeged_match(tmp_path: Path) -> None:
    rows = (
        '"Foo is a town .\n",0\n'  # matched, certain, no cue
        '"Some note that Foo -LRB- the town -RRB- is old .\n",1\n'  # matched, uncertain, no cue: weasel
        '"Foo may be old .\n",1\n'  # matched, uncertain, cue: undecidable for U
        '"Qux is n\'t `` big \'\' .\n",0\n'  # unmatched, certain
        '"Qux is n\'t `` big \'\' .\n",0\n'  # exact duplicate
        '"Zed , perhaps .\n",1\n'  # unmatched, uncertain
        '"\n",0\n'  # empty
    )
    recs, skips = run("conll2010_wikipedia_weasel_sentences", _conll(tmp_path, rows))
    check_records(recs, "conll2010_wikipedia_weasel_sentences")
    got = [(r.text, r.doc_id, r.labels[U], r.labels[H]) for r in recs]
    assert got == [
        ("Foo is a town.", "wiki:Foo_1", 0, 0),
        ("Some note that Foo (the town) is old.", "wiki:Foo_1", 1, 0),
        ("Foo may be old.", "wiki:Foo_1", None, 1),
        ("Qux isn't \"big\".", "conll-wiki:9", 0, None),
        ("Zed, perhaps.", "conll-wiki:13", None, None),
    ]
    assert skips.counts == {"duplicate text": 1, "empty text": 1}


def test_conll_conflicting_duplicates_and_bad_label(tmp_path: Path) -> None:
    recs, skips = run("conll2010_wikipedia_weasel_sentences", _conll(tmp_path, '"A b .\n",0\n"A b .\n",1\n'))
    assert recs == [] and skips.counts["text listed as both certain and uncertain"] == 1
    folder = tmp_path / "conll2010_wikipedia_weasel_sentences"
    (folder / "train.csv").write_text('text,label\n"A .\n",0\n"B .\n",2\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"train.csv:5: label '2'"):
        run("conll2010_wikipedia_weasel_sentences", folder)


def test_detokenise() -> None:
    assert detokenise("He said `` no '' -LRB- twice -RRB- , did n't he ?") == 'He said "no" (twice), didn\'t he?'


# ------------------------------------------------------------------------------------------ real corpora


def _load(name: str, shared_data: Path, limit: int | None = None) -> tuple[list[Record], Skips]:
    folder = corpus_folder(name, shared_data)  # raises a clear CorpusError if files are missing
    skips = Skips(name)
    it = CORPORA[name].loader(folder, skips)
    recs = list(itertools.islice(it, limit) if limit else it)
    check_records(recs, name)
    return recs, skips


def _dist(recs: list[Record], marker: str) -> Counter:
    return Counter(r.labels[marker] for r in recs)


@pytest.mark.data
def test_real_ptc(shared_data: Path) -> None:
    recs, skips = _load("ptc_semeval2020_task11", shared_data)
    # PROVENANCE: 371 articles, 16,673 non-empty lines (a few hold only a BOM or no-break space)
    assert len({r.doc_id for r in recs}) == 371
    assert 16_600 <= len(recs) <= 16_673
    d = _dist(recs, S)
    # 4,753 lines overlap any technique; the six sensational ones cover fewer
    assert 2_500 <= d[1] <= 4_753 and d[None] == 0
    assert skips.total() == 0


@pytest.mark.data
def test_real_polnear_sample(shared_data: Path) -> None:
    recs, skips = _load("polnear_attribution", shared_data, limit=4000)  # ~120 articles: full load takes ~20 s
    d = _dist(recs, U)
    assert d[1] > 0 and d[0] > 0
    assert 0.02 <= d[1] / len(recs) <= 0.15  # 6.4 % over the whole corpus
    assert len({r.doc_id for r in recs}) >= 80


@pytest.mark.data
def test_real_anonymous_source_tracker(shared_data: Path) -> None:
    recs, skips = _load("anonymous_source_tracker", shared_data)
    assert len({r.doc_id for r in recs}) == 1_806  # PROVENANCE: 1,806 snippets, unique links
    assert _dist(recs, U) == Counter({1: len(recs)})
    assert all(r.spans for r in recs)


@pytest.mark.data
def test_real_szeged(shared_data: Path) -> None:
    recs, skips = _load("szeged_uncertainty_corpus", shared_data)
    by_file = Counter(r.doc_id.split(":", 1)[0] for r in recs)
    pos = Counter(r.doc_id.split(":", 1)[0] for r in recs if r.labels[H] == 1)
    assert len({r.doc_id for r in recs if r.doc_id.startswith("wiki:")}) == 2_190
    # PROVENANCE uncertain sentences per file (headings included there; they rarely hold cues)
    assert abs(pos["bio_bmc"] - 481) <= 10 and abs(pos["bio_fly"] - 721) <= 10 and abs(pos["bio_hbc"] - 2_988) <= 40
    # headings (titles, section titles) are skipped: a few hundred per file fewer than PROVENANCE
    assert 2_400 <= by_file["bio_bmc"] <= 2_773 and 11_500 <= by_file["bio_hbc"] <= 13_232


@pytest.mark.data
def test_real_conll(shared_data: Path) -> None:
    recs, skips = _load("conll2010_wikipedia_weasel_sentences", shared_data)
    # PROVENANCE: 7,363 rows, 7,331 unique texts, 2,131 uncertain
    assert 7_250 <= len(recs) <= 7_331
    du, dh = _dist(recs, U), _dist(recs, H)
    assert 800 <= du[1] <= 2_131 and du[0] >= 5_000
    assert dh[1] > 0 and dh[0] > dh[1]
    matched = sum(r.doc_id.startswith("wiki:") for r in recs)
    assert matched / len(recs) > 0.7  # most rows are found in Szeged wiki.xml
