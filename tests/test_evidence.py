"""Evidence spans: token targets, decoding, exact offsets, old models, reports and span metrics."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from redflags.scoring.evidence import Evidence, decode
from redflags.markers import MARKERS, TECHNIQUES

from tests.conftest import make_tiny_model

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_461dd1c7835a637b.txt"

# The awkward texts of the segmentation tests: line breaks inside sentences, abbreviations, curly
# quotes and dashes, headings, list items, CRLF, accents and emoji (offsets must survive them all).
AWKWARD = [
    SEED.read_text(encoding="utf-8"),
    "\n".join(textwrap.fill(line, 40) for line in SEED.read_text(encoding="utf-8").splitlines()),
    "Troops of the U.S. European Command arrived on Jan. 5 at 5 p.m. and met Dr. Jones. Mr. Smith left.",
    "The minister said on Tuesday that the\ngovernment would act within weeks. Nobody believed it.",
    "“Is this real?” she asked. “Yes,” he said. The drone—whether Ukrainian or Russian—was never identified.",
    "Key points:\n- Romania will build drones\n- Ukraine brings expertise.\n• NATO is watching\n1. First\n2) Second",
    "A paragraph without a stop\n\n\nAnother one.\r\nIts second line.\r\n",
    "  Café owners in Zürich — naïvely, perhaps — said the crisis may be 🔥 a catastrophe… Sources say so.  ",
]


def _evidence_dir(tmp_path: Path, tokenizer, span_threshold: float) -> Path:
    model = make_tiny_model(token_head=True, techniques=list(TECHNIQUES),
                            span_thresholds={m: span_threshold for m in MARKERS},
                            thresholds={m: 0.0 for m in MARKERS})  # every marker flagged: evidence for all
    out = tmp_path / f"evidence-{span_threshold}"
    model.save_pretrained(out, tokenizer)
    return out


@pytest.fixture(scope="module")
def evidence_scorer(tmp_path_factory: pytest.TempPathFactory, tokenizer):
    import redflags

    # A random head puts token probabilities near 0.5: a threshold of 0.0 makes every word evidence.
    return redflags.load(_evidence_dir(tmp_path_factory.mktemp("ev"), tokenizer, 0.0))


# --- training targets --------------------------------------------------------------------------


def test_token_targets_mark_overlapping_tokens_and_mask_the_rest() -> None:
    from redflags.training.spans import MASKED, token_targets

    offsets = [(0, 0), (0, 9), (10, 13), (14, 17), (18, 21), (21, 22), (0, 0)]  # [CLS] officials who ... [SEP]
    spans = [{"start": 0, "end": 13, "marker": "unverifiable_sourcing", "technique": ""},
             {"start": 14, "end": 17, "marker": "sensational_framing", "technique": "loaded_language"}]
    labels, tech = token_targets(offsets, spans, ["unverifiable_sourcing", "sensational_framing"])
    u, h, s = (MARKERS.index(m) for m in MARKERS)
    assert labels[:, u].tolist() == [MASKED, 1, 1, 0, 0, 0, MASKED]
    assert labels[:, h].tolist() == [MASKED] * 7  # hedging not marked by this corpus
    assert labels[:, s].tolist() == [MASKED, 0, 0, 1, 0, 0, MASKED]
    assert tech.tolist() == [MASKED, MASKED, MASKED, TECHNIQUES.index("loaded_language"), MASKED, MASKED, MASKED]


def test_positive_sentence_without_spans_is_masked_not_negative() -> None:
    from redflags.training.spans import known_span_markers

    # PolNeAR: a missing source makes the sentence positive, but no words are marked.
    assert known_span_markers(["unverifiable_sourcing"], {"unverifiable_sourcing": 1}, []) == []
    assert known_span_markers(["unverifiable_sourcing"], {"unverifiable_sourcing": 0}, []) == ["unverifiable_sourcing"]
    assert known_span_markers(["hedging"], {"hedging": None}, []) == []


def test_ptc_techniques_map_to_the_codebook_names() -> None:
    from redflags.training.spans import technique_of

    assert technique_of("Exaggeration,Minimisation", "sensational_framing") == "exaggeration"
    assert technique_of("Appeal_to_fear-prejudice", "sensational_framing") == "fear_appeal"
    assert technique_of("dramatised_secrecy", "sensational_framing") == "dramatised_secrecy"
    assert technique_of("lexical_bias_neg", "sensational_framing") is None
    assert technique_of("Loaded_Language", "hedging") is None


# --- decoding ----------------------------------------------------------------------------------


def test_decode_joins_neighbouring_words_and_skips_punctuation(tokenizer) -> None:
    text = "Officials, who asked not to be named, said so."
    enc = tokenizer(text, return_offsets_mapping=True)
    offsets, words = enc["offset_mapping"], enc.word_ids()
    j = MARKERS.index("unverifiable_sourcing")
    logits = np.full((len(offsets), len(MARKERS)), -5.0)
    wanted = {"asked", "not", "to", "be", "named", ","}  # the comma must not extend the span
    for t, (s, e) in enumerate(offsets):
        if e > s and text[s:e] in wanted:
            logits[t, j] = 5.0
    spans = decode(text, offsets, words, logits, None, MARKERS, {m: 0.5 for m in MARKERS}, TECHNIQUES, base=100)
    assert [(e.marker, e.text, e.start) for e in spans] == [("unverifiable_sourcing", "asked not to be named", 115)]
    assert spans[0].score > 0.99 and spans[0].technique is None


@pytest.mark.parametrize("text", AWKWARD, ids=range(len(AWKWARD)))
def test_evidence_offsets_are_exact_on_awkward_texts(evidence_scorer, text: str) -> None:
    report = evidence_scorer.score(text)
    seen = 0
    for s in report.sentences:
        assert s.evidence is not None
        for e in s.evidence:
            assert text[e.start:e.end] == e.text and s.start <= e.start < e.end <= s.end
            assert e.text == e.text.strip() and any(c.isalnum() for c in e.text)
            assert (e.technique in TECHNIQUES) == (e.marker == "sensational_framing")
            seen += 1
    assert seen >= len(report.sentences)  # threshold 0: every sentence has evidence words


def test_predict_spans_offsets_index_each_sentence(evidence_scorer) -> None:
    sentences = ["Officials who asked not to be named said the plan may collapse.", "", "Ok."]
    spans = evidence_scorer.predict_spans(sentences)
    assert len(spans) == 3 and spans[1] == []
    for sent, found in zip(sentences, spans):
        assert all(sent[e.start:e.end] == e.text for e in found)
    # predict_proba is the same whether or not the model also has a token head
    assert evidence_scorer.predict_proba(sentences).shape == (3, len(MARKERS))


def test_flagged_marker_without_a_span_says_so(tmp_path: Path, tokenizer) -> None:
    import redflags

    scorer = redflags.load(_evidence_dir(tmp_path, tokenizer, 1.0))  # a random head's words stay near 0.5
    report = scorer.score("Officials who asked not to be named said the plan may collapse.")
    s = report.sentences[0]
    assert s.flagged_markers == list(MARKERS)
    assert s.evidence == () and s.evidence_missing == list(MARKERS)
    d = s.to_dict()
    assert d["evidence"] == [] and d["evidence_missing"] == list(MARKERS)
    from redflags.cli.table import _flag_cell

    assert "no evidence word above the span threshold" in _flag_cell(s, "hedging")
    assert "hedging: no word above the span threshold" in report.to_html()


def test_old_model_directory_without_token_head_scores_with_no_evidence(tiny_model_dir: Path) -> None:
    import redflags

    scorer = redflags.load(tiny_model_dir)
    assert not scorer.has_evidence and scorer.span_thresholds == {}
    report = scorer.score("Officials who asked not to be named said the plan may collapse.")
    assert report.sentences[0].evidence is None and report.sentences[0].evidence_missing == []
    assert report.to_dict()["sentences"][0]["evidence"] is None
    assert 'class="ev ' not in report.to_html().split("</ul>", 1)[1]  # no highlighted words, no evidence legend
    with pytest.raises(ValueError, match="no token head"):
        scorer.predict_spans(["A sentence."])


def test_model_directory_stores_token_head_thresholds_and_techniques(tmp_path: Path, tokenizer) -> None:
    from redflags.core.modeling import RedflagsModel

    out = _evidence_dir(tmp_path, tokenizer, 0.3)
    cfg = json.loads((out / "config.json").read_text())["redflags"]
    assert cfg["token_head"] is True and cfg["techniques"] == list(TECHNIQUES)
    assert cfg["span_thresholds"] == {m: 0.3 for m in MARKERS}
    back = RedflagsModel.from_pretrained(out)
    assert back.token_head is not None and back.technique_head.out_features == len(TECHNIQUES)


def test_token_head_without_weights_is_refused(tmp_path: Path, tokenizer, tiny_model_dir: Path) -> None:
    import shutil

    from redflags.core.modeling import ModelLoadError, RedflagsModel

    bad = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, bad)
    raw = json.loads((bad / "config.json").read_text())
    raw["redflags"]["token_head"] = True
    (bad / "config.json").write_text(json.dumps(raw))
    with pytest.raises(ModelLoadError, match="no token head weights"):
        RedflagsModel.from_pretrained(bad)


# --- reports -----------------------------------------------------------------------------------


def test_html_escapes_span_text_and_highlights_it() -> None:
    from redflags.scoring.report import ArticleReport, SentenceScore

    text = 'The <script>alert("x")</script> & "evil" plan.'
    ev = (Evidence("sensational_framing", 4, 31, text[4:31], 0.9, "loaded_language", 0.8),)
    s = SentenceScore(0, text, 0, len(text), {m: 0.9 for m in MARKERS}, {m: True for m in MARKERS}, evidence=ev)
    page = ArticleReport(text, [s], MARKERS, {m: 0.5 for m in MARKERS}).to_html()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert '<mark class="ev e-sensational-framing" title="sensational_framing evidence 0.90, loaded_language 0.80">' in page
    assert "evidence words" in page  # the legend explains the highlight


def test_html_keeps_overlapping_evidence_apart_and_shows_the_technique() -> None:
    from redflags.scoring.report import ArticleReport, SentenceScore

    text = "Insiders say the shocking plan may collapse."
    ev = (Evidence("unverifiable_sourcing", 0, 12, "Insiders say", 0.9),
          Evidence("hedging", 9, 12, "say", 0.6),
          Evidence("sensational_framing", 17, 25, "shocking", 0.8, "loaded_language", 0.7))
    s = SentenceScore(0, text, 0, len(text), {m: 0.9 for m in MARKERS}, {m: True for m in MARKERS}, evidence=ev)
    page = ArticleReport(text, [s], MARKERS, {m: 0.5 for m in MARKERS}).to_html()
    # "say" carries two markers: two nested marks, each with its own class (its own underline)
    assert ('<mark class="ev e-unverifiable-sourcing" title="unverifiable_sourcing evidence 0.90">'
            '<mark class="ev e-hedging" title="hedging evidence 0.60">say</mark></mark>') in page
    # the technique is visible text right after its words, not only in a title
    assert ('shocking</mark><span class="tech t-sensational-framing">[loaded language]</span>') in page
    assert all(f".e-{m.replace('_', '-')} {{ text-decoration-style:" in page for m in MARKERS)
    styles = [page.split(f".e-{m.replace('_', '-')} {{ text-decoration-style: ")[1].split(";")[0] for m in MARKERS]
    assert len(set(styles)) == len(MARKERS)  # a pattern per marker, not only a colour


def test_json_and_table_carry_the_spans(evidence_scorer) -> None:
    import io

    from redflags.cli.table import render_table
    from rich.console import Console

    report = evidence_scorer.score("The [bold] plan may collapse, critics say.")
    spans = report.to_dict()["sentences"][0]["evidence"]
    assert spans and all({"marker", "start", "end", "text", "score"} <= set(x) for x in spans)
    assert any("technique" in x for x in spans if x["marker"] == "sensational_framing")
    buf = io.StringIO()
    render_table([report], Console(file=buf, width=200, color_system=None))
    assert "“" in buf.getvalue() and "[bold]" in buf.getvalue()  # evidence words shown, brackets not eaten as markup


# --- span metrics ------------------------------------------------------------------------------


def test_overlap_prf_gives_partial_credit() -> None:
    from redflags.eval.spans import word_prf
    from redflags.training.metrics import overlap_prf

    got = overlap_prf([[(0, 10)]], [[(5, 15)]])
    assert got["precision"] == pytest.approx(0.5) and got["recall"] == pytest.approx(0.5)
    assert overlap_prf([[]], [[(0, 3)]])["f1"] == 0.0
    assert overlap_prf([[(0, 3)]], [[(0, 3)]])["f1"] == pytest.approx(1.0)
    words = word_prf(["may be true"], [[(0, 3)]], [[(0, 6)]])  # "may" found, "be" missed
    assert words["precision"] == 1.0 and words["recall"] == 0.5


def test_span_evaluation_reports_model_and_baselines(evidence_scorer) -> None:
    from redflags.eval.baselines import LexiconBaseline
    from redflags.eval.interchange import Example
    from redflags.eval.spans import evaluate_spans

    def ex(i: int, text: str, spans: list, known: list, corpus: str = "c") -> Example:
        return Example(str(i), text, {m: None for m in MARKERS}, corpus, str(i), {"spans": spans, "span_markers": known})

    S = "sensational_framing"
    test = [ex(0, "The plan may fail.", [{"start": 9, "end": 12, "marker": "hedging", "technique": ""}], ["hedging"]),
            ex(1, "A disastrous, shameful plan.", [{"start": 2, "end": 12, "marker": S, "technique": "loaded_language"}], [S]),
            ex(2, "No spans here.", [], [])]
    train = [ex(3, "Traitors everywhere.", [{"start": 0, "end": 8, "marker": S, "technique": "name_calling"}], [S]),
             ex(4, "A horrific act.", [{"start": 2, "end": 10, "marker": S, "technique": "loaded_language"}], [S]),
             ex(5, "A vile deal.", [{"start": 2, "end": 6, "marker": S, "technique": "loaded_language"}], [S])]
    lexicon = LexiconBaseline({"hedging": ["may"], S: ["disastrous", "vile"]})
    res = evaluate_spans(evidence_scorer, test, lexicon=lexicon, train=train)
    assert res["sentences"] == 2
    assert set(res["systems"]) == {"model", "model, flagged only", "lexicon"}
    assert res["systems"]["lexicon"]["hedging"]["all"]["spans"]["f1"] == pytest.approx(1.0)
    assert res["systems"]["lexicon"][S]["all"]["spans"]["precision"] == pytest.approx(1.0)
    assert "unverifiable_sourcing" not in res["systems"]["model"]  # no sentence marks it
    tech = res["techniques"]
    assert set(tech) == {"model", "majority", "tfidf_logreg"}
    assert tech["majority"]["all"]["micro_f1"] == pytest.approx(1.0)  # majority = loaded_language
    from redflags.training.result_tables import span_tables

    md = "".join(t.markdown() for t in span_tables(res))
    assert "lexicon: span F1" in md and "majority: micro-F1" in md


def test_token_loss_ignores_masked_tokens_and_unnamed_techniques() -> None:
    import torch
    from redflags.training.train import token_loss

    logits = torch.zeros(1, 3, len(MARKERS))
    labels = torch.full((1, 3, len(MARKERS)), -1)
    techs = torch.full((1, 3), -1)
    span, tech = token_loss(logits, labels, torch.zeros(1, 3, len(TECHNIQUES)), techs)
    assert span.item() == 0.0 and tech.item() == 0.0  # nothing known: no loss, no NaN
    labels[0, 1, 0] = 1
    techs[0, 1] = 0
    span, tech = token_loss(logits, labels, torch.zeros(1, 3, len(TECHNIQUES)), techs)
    assert span.item() == pytest.approx(np.log(2)) and tech.item() == pytest.approx(np.log(len(TECHNIQUES)))


def test_dataset_rows_keep_the_spans_of_the_copy_they_keep() -> None:
    from redflags.training.dataset import deduplicate
    from redflags.training.records import Record, Span, labels

    S = "sensational_framing"
    ptc = Record("The vile plan.", "ptc_semeval2020_task11", "d1", labels(**{S: 1}), [Span(4, 8, "Loaded_Language", S)])
    (row,) = deduplicate([ptc])
    assert row["spans"] == [{"start": 4, "end": 8, "marker": S, "technique": "loaded_language"}]
    assert row["span_markers"] == [S]
    # A gold copy that disagrees (BABE says not biased) sorts first and loses the merged vote (tie -> positive):
    # its "no spans" would teach the token head that "vile" is not evidence, so the row's span targets are masked.
    babe = Record("The vile plan.", "babe", "b1", labels(**{S: 0}))
    (row,) = deduplicate([ptc, babe])
    assert row["corpus"] == "babe" and row[S] == 1 and row["span_markers"] == [] and row["spans"] == []


def test_spans_are_whole_words_and_never_a_lone_function_word(tokenizer) -> None:
    # The words a reader could not trust as evidence: "and", "an", the "s" of "it's", a fragment of
    # "deployments", and a bracket around a word.
    text = "It's an outrage and (allegedly) the deployments were hidden."
    enc = tokenizer(text, return_offsets_mapping=True)
    offsets, words = enc["offset_mapping"], enc.word_ids()
    j = MARKERS.index("sensational_framing")
    logits = np.full((len(offsets), len(MARKERS)), -5.0)
    for t, (s, e) in enumerate(offsets):
        if text[s:e] in {"s", "an", "and", "(", "allegedly", "deploy"} or (s, e) == (0, 2):
            logits[t, j] = 5.0
    spans = decode(text, offsets, words, logits, None, MARKERS, {m: 0.5 for m in MARKERS}, TECHNIQUES)
    # "It's" and "an" are function words: trimmed and dropped; "(" is punctuation: trimmed; a
    # scored piece of "deployments" makes the whole word evidence.
    assert [e.text for e in spans] == ["allegedly", "deployments"]
    assert all(text[e.start:e.end] == e.text for e in spans)


def test_function_words_are_trimmed_from_span_edges_but_kept_inside(tokenizer) -> None:
    text = "He spoke on the condition of anonymity to the paper."
    enc = tokenizer(text, return_offsets_mapping=True)
    offsets, words = enc["offset_mapping"], enc.word_ids()
    j = MARKERS.index("unverifiable_sourcing")
    logits = np.full((len(offsets), len(MARKERS)), -5.0)
    for t, (s, e) in enumerate(offsets):
        if s >= text.index("on the") and e <= text.index(" the paper"):
            logits[t, j] = 5.0
    spans = decode(text, offsets, words, logits, None, MARKERS, {m: 0.5 for m in MARKERS}, TECHNIQUES)
    assert [e.text for e in spans] == ["condition of anonymity"]
