"""News annotations: answers -> stored records, the loader that joins them to article texts, agreement."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from redflags.markers import MARKERS
from redflags.scoring.segment import segment
from redflags.training import dataset as ds_mod
from redflags.training import news_annotations as na
from redflags.training.config import CorpusSpec, DataConfig
from redflags.training.corpora import CORPORA, CorpusError, CorpusInfo, load_corpus
from redflags.training.corpora import news_annotations as loader
from redflags.training.records import Record, labels

U, H, S = MARKERS

ARTICLE = (
    "Officials Weigh Plan\n\n"
    "Sources close to the ministry said the plan may be dropped. The minister said in a statement\n"
    "that it would not. Critics slammed the shocking delay.\n"
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    (d / "polnear_attribution" / "train" / "text").mkdir(parents=True)
    (d / "polnear_attribution" / "train" / "attributions").mkdir()
    (d / "polnear_attribution" / "train" / "text" / "art-1.txt").write_text(ARTICLE, encoding="utf-8")
    (d / "ptc_semeval2020_task11" / "train-articles").mkdir(parents=True)
    (d / "ptc_semeval2020_task11" / "train-labels-task-flc-tc").mkdir()
    return d


def article() -> na.Article:
    return na.Article("polnear_attribution", "art-1", "test", "random", tuple(segment(ARTICLE)))


ANSWER = {"doc": "polnear_attribution/art-1", "n_sentences": 4, "annotations": [
    {"s": 2, "U": ["Sources close to the ministry"], "H": ["may"], "S": [], "borderline": []},
    {"s": 4, "U": ["Critics"], "H": [], "S": ["slammed", "shocking"], "S_kind": ["loaded_language", "loaded_language"],
     "borderline": ["U"]},
]}


def test_segmentation_of_the_test_article() -> None:
    assert [s.text for s in segment(ARTICLE)][1:3] == [
        "Sources close to the ministry said the plan may be dropped.",
        "The minister said in a statement\nthat it would not.",
    ]


def test_answer_becomes_one_record_per_sentence_with_exact_evidence_offsets() -> None:
    recs = na.answer_records(ANSWER, article(), "a", "answers.jsonl:1")
    assert len(recs) == 4 and [r["sentence"] for r in recs] == [1, 2, 3, 4]
    assert recs[0]["labels"] == {U: 0, H: 0, S: 0} and recs[2]["labels"] == {U: 0, H: 0, S: 0}
    assert recs[1]["labels"] == {U: 1, H: 1, S: 0}
    assert [ARTICLE[e["start"]:e["end"]] for e in recs[1]["evidence"]] == ["Sources close to the ministry", "may"]
    assert [ARTICLE[e["start"]:e["end"]] for e in recs[3]["evidence"]] == ["Critics", "slammed", "shocking"]
    assert recs[3]["borderline"] == [U] and recs[3]["evidence"][1]["kind"] == "loaded_language"


def test_evidence_across_a_line_break_and_second_occurrence() -> None:
    answer = {"doc": "polnear_attribution/art-1", "n_sentences": 4, "annotations": [
        {"s": 2, "U": [], "H": ["the#2"], "S": []}, {"s": 3, "U": [], "H": ["statement that"], "S": []}]}
    recs = na.answer_records(answer, article(), "a", "x:1")
    second_the = recs[1]["evidence"][0]["start"]
    assert ARTICLE[second_the:second_the + 8] == "the plan"
    ev = recs[2]["evidence"][0]
    assert ARTICLE[ev["start"]:ev["end"]] == "statement\nthat"  # the task file showed the line break as a space


@pytest.mark.parametrize("bad, message", [
    ({"n_sentences": 5}, "n_sentences is 5, the article has 4"),
    ({"annotations": [{"s": 9, "U": ["x"]}]}, r"sentence number 9 is not in 1\.\.4"),
    ({"annotations": [{"s": 2, "U": ["anonymous officials"]}]}, "evidence 'anonymous officials'.*not in the sentence"),
    ({"annotations": [{"s": 2, "U": "Sources"}]}, "U must be a list of strings"),
    ({"annotations": [{"s": 2, "borderline": ["X"]}]}, "borderline must list some of U, H, S"),
])
def test_bad_answers_name_the_file_line_and_problem(bad: dict, message: str) -> None:
    answer = {**ANSWER, **bad}
    with pytest.raises(na.AnswerError, match=f"answers.jsonl:7: .*{message}"):
        na.answer_records(answer, article(), "a", "answers.jsonl:7")


def _store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, records: list[dict]) -> Path:
    path = tmp_path / "news.jsonl"
    na.write_annotations(records, path)
    monkeypatch.setattr(loader, "ANNOTATIONS", path)
    return path


def test_loader_joins_labels_to_the_article_text(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store(tmp_path, monkeypatch, na.answer_records(ANSWER, article(), "a", "x:1"))
    recs = list(load_corpus("news_annotations", data_dir))
    assert [r.text for r in recs] == [s.text for s in segment(ARTICLE)]
    assert {r.doc_id for r in recs} == {"polnear_attribution/art-1"} and {r.split for r in recs} == {"test"}
    assert recs[1].labels == {U: 1, H: 1, S: 0}
    assert [recs[3].text[s.start:s.end] for s in recs[3].spans] == ["Critics", "slammed", "shocking"]


def test_loader_prefers_the_adjudicated_pass(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = na.answer_records(ANSWER, article(), "a", "x:1")
    b_answer = {**ANSWER, "annotations": [ANSWER["annotations"][0]]}  # b: no U/S in sentence 4
    b = na.answer_records(b_answer, article(), "b", "x:2")
    decisions = [{"doc": "polnear_attribution/art-1", "s": 4, "marker": "U", "label": 0, "evidence": []},
                 {"doc": "polnear_attribution/art-1", "s": 4, "marker": "S", "label": 1, "evidence": ["shocking"]}]
    adj = na.adjudicated_records(a, b, decisions, [article()])
    _store(tmp_path, monkeypatch, a + b + adj)
    recs = list(load_corpus("news_annotations", data_dir))
    assert len(recs) == 4 and recs[3].labels == {U: 0, H: 0, S: 1}
    assert [recs[3].text[s.start:s.end] for s in recs[3].spans] == ["shocking"]
    with pytest.raises(na.AnswerError, match="no adjudication"):
        na.adjudicated_records(a, b, decisions[:1], [article()])


def test_changed_article_text_stops_the_loader_naming_document_and_offsets(
        tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _store(tmp_path, monkeypatch, na.answer_records(ANSWER, article(), "a", "x:1"))
    path = data_dir / "polnear_attribution" / "train" / "text" / "art-1.txt"
    path.write_text(ARTICLE.replace("Sources close", "Aides close"), encoding="utf-8")
    with pytest.raises(CorpusError, match=r"polnear_attribution/art-1 no longer matches the annotation at offsets \d+-\d+"):
        list(load_corpus("news_annotations", data_dir))


def test_malformed_stored_line_names_file_and_line(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _store(tmp_path, monkeypatch, na.answer_records(ANSWER, article(), "a", "x:1"))
    lines = path.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[1])
    row["labels"][H] = 2
    lines[1] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"news.jsonl:2: labels must give 0 or 1"):
        list(load_corpus("news_annotations", data_dir))


def test_agreement_kappa_and_evidence_overlap() -> None:
    a = na.answer_records(ANSWER, article(), "a", "x:1")
    b_answer = {**ANSWER, "annotations": [
        {"s": 2, "U": ["Sources"], "H": ["may"], "S": []},  # shorter U span: partial overlap credit
        {"s": 4, "U": ["Critics"], "H": [], "S": ["slammed"]},
    ]}
    b = na.answer_records(b_answer, article(), "b", "x:2")
    ag = na.agreement(a, b)
    assert ag[U]["kappa"] == pytest.approx(1.0) and ag[H]["kappa"] == pytest.approx(1.0)
    # U evidence: b's "Sources" lies inside a's span (precision 1); a's span is covered 7/29 (recall).
    p, r = (1 + 1) / 2, (7 / 29 + 1) / 2
    assert ag[U]["evidence_f1"] == pytest.approx(2 * p * r / (p + r))
    assert ag[S]["positive_a"] == 1 and ag[S]["positive_b"] == 1
    assert na.disagreements(a, b) == Counter()


def test_replaced_documents_and_fixed_splits(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = [Record(f"Plain sentence {i} of art-1.", "src", "art-1", labels(hedging=0)) for i in range(3)]
    source += [Record(f"Plain sentence {i} of art-2.", "src", "art-2", labels(hedging=0)) for i in range(3)]
    news = [Record(f"Plain sentence {i} of art-1, re-cut.", "news", "src/art-1", labels(hedging=1), split="dev")
            for i in range(2)]
    data_dir = tmp_path / "data"
    for name, recs, replaces in (("src", source, ()), ("news", news, ("src",))):
        (data_dir / name).mkdir(parents=True)
        monkeypatch.setitem(CORPORA, name, CorpusInfo(name, (H,), "gold", "l", (), lambda f, s, _r=recs: iter(_r),
                                                      replaces=replaces))
    cfg = DataConfig(data_dir=str(data_dir), corpora={"src": CorpusSpec(), "news": CorpusSpec()},
                     cache_dir=str(tmp_path / "cache"))
    stats = ds_mod.BuildStats()
    rows = ds_mod.build_rows(cfg, data_dir, stats)
    every = [r for split in rows.values() for r in split]
    assert {r["doc_id"] for r in every} == {"art-2", "src/art-1"}  # art-1 comes from the re-annotation only
    assert {r["doc_id"] for r in rows["dev"]} >= {"src/art-1"}
    assert stats.replaced == Counter({"src": 3})


def test_rounds_pick_the_articles_of_a_round_and_a_left_out_round_keeps_its_source_copy(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = [Record(f"Plain sentence {i} of {d}.", "src", d, labels(hedging=0)) for d in ("art-1", "art-2") for i in range(2)]
    news = [Record(f"Plain sentence {i} of {d}, re-cut.", "news_annotations", f"src/{d}", labels(hedging=1), split="train")
            for d in ("art-1", "art-2") for i in range(2)]
    articles = tmp_path / "articles.jsonl"
    articles.write_text('{"corpus": "src", "doc_id": "art-1"}\n{"corpus": "src", "doc_id": "art-2", "round": 2}\n')
    monkeypatch.setattr(loader, "ARTICLES", articles)
    data_dir = tmp_path / "data"
    for name, recs, replaces in (("src", source, ()), ("news_annotations", news, ("src",))):
        (data_dir / name).mkdir(parents=True)
        monkeypatch.setitem(CORPORA, name, CorpusInfo(name, (H,), "gold", "l", (), lambda f, s, _r=recs: iter(_r),
                                                      replaces=replaces))

    def docs(rounds: list[int] | None) -> set[tuple[str, str]]:
        cfg = DataConfig(data_dir=str(data_dir), corpora={"src": CorpusSpec(), "news_annotations": CorpusSpec(rounds=rounds)},
                         cache_dir=str(tmp_path / "cache"))
        return {(r["corpus"], r["doc_id"]) for split in ds_mod.build_rows(cfg, data_dir, ds_mod.BuildStats()).values()
                for r in split}

    assert docs(None) == {("news_annotations", "src/art-1"), ("news_annotations", "src/art-2")}
    assert docs([1]) == {("news_annotations", "src/art-1"), ("src", "art-2")}  # round 2 left out: PolNeAR-like copy
    assert docs([1, 2]) == docs(None)
    articles.write_text('{"corpus": "src", "doc_id": "art-1"}\n')
    with pytest.raises(CorpusError, match="1 annotated articles are not listed, e.g. src/art-2"):
        docs([1])
    articles.write_text('{"corpus": "src", "doc_id": "art-1"}\n{"corpus": "src", "doc_id": "art-2", "round": "two"}\n')
    with pytest.raises(CorpusError, match=r"articles.jsonl:2: expected an object with corpus, doc_id and an integer round"):
        docs([1])


@pytest.mark.data
def test_committed_annotations_load_against_the_corpora(shared_data: Path) -> None:
    rows = loader.read_annotations()
    passes = Counter(r["pass"] for r in rows)
    articles = {(r["corpus"], r["doc_id"]) for r in rows if r["pass"] == "a"}
    double = {(r["corpus"], r["doc_id"]) for r in rows if r["pass"] == "b"}
    assert passes["a"] >= 5000 and len(articles) >= 200
    assert passes["b"] >= 1000 and len(double) >= 40 and passes["adjudicated"] == passes["b"]
    recs = list(load_corpus("news_annotations", shared_data))
    assert len(recs) == passes["a"]
    assert {r.split for r in recs} == {"train", "dev", "test"}
    assert set(loader.article_rounds()) >= {r.doc_id for r in recs}  # every annotated article has its round
    for m in MARKERS:  # every marker has positives and evidence in every split
        for split in ("train", "dev", "test"):
            pos = [r for r in recs if r.split == split and r.labels[m] == 1]
            assert pos and all(any(s.marker == m for s in r.spans) for r in pos)
    # The seed article is an evaluation example: it is never among the annotated articles.
    seed = (Path(__file__).resolve().parents[1] / "seeds" / "000_461dd1c7835a637b.txt").read_text(encoding="utf-8")
    first = seed.strip().splitlines()[0]
    assert not any(first in r.text for r in recs)


def test_sample_spec_only_for_the_news_annotations() -> None:
    from redflags.eval.data import DataSpecError, resolve_spec

    with pytest.raises(DataSpecError, match="only news_annotations has samples"):
        resolve_spec("babe@random:test")
    with pytest.raises(DataSpecError, match="only news_annotations has samples"):
        resolve_spec("news_annotations@odd:test")


@pytest.mark.data
def test_random_half_of_the_news_test_split(shared_data: Path, tmp_path: Path) -> None:
    from redflags.eval.data import resolve_spec, sampled_articles

    whole = resolve_spec("news_annotations:test", data_dir=shared_data)
    random_half = resolve_spec("news_annotations@random:test", data_dir=shared_data)
    ids = {e.id for e in whole.examples}
    assert random_half.examples and {e.id for e in random_half.examples} < ids  # same ids: subset specs merge
    assert {e.article for e in random_half.examples} <= sampled_articles("random")
    assert random_half.identity["sample"] == "random"
