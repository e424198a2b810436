"""Scorer and redflags.load on tiny models: batching, order, flags, truncation, bad input, load errors."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
import redflags
import torch
from redflags.markers import MARKERS
from redflags.core.modeling import ModelConfig, ModelLoadError, RedflagsModel
from redflags.scoring.scorer import DEFAULT_MODEL_DIR, Scorer

from tests.conftest import make_tiny_model

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_461dd1c7835a637b.txt"
ARTICLES = [
    "Sources say the plan may fail. Officials denied it.",
    "",
    "A shocking, unprecedented bombshell! It could change everything, insiders claim. Or not.",
    "One sentence only",
]


class Spy(torch.nn.Module):
    """Wraps a model's forward to record the shape of every batch."""

    def __init__(self, scorer: Scorer) -> None:
        super().__init__()
        self.inner = scorer.model
        self.config = scorer.model.config
        self.shapes: list[tuple[int, int]] = []
        self.lengths: list[list[int]] = []

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(input_ids.shape))  # type: ignore[arg-type]
        self.lengths.append(attention_mask.sum(1).tolist())
        return self.inner(input_ids, attention_mask)

    def calibrated_proba(self, logits: torch.Tensor) -> np.ndarray:
        return self.inner.calibrated_proba(logits)


@pytest.fixture(scope="module")
def scorer(tiny_model_dir: Path) -> Scorer:
    return redflags.load(tiny_model_dir)


def spy_on(scorer: Scorer) -> Spy:
    spy = Spy(scorer)
    scorer.model = spy  # type: ignore[assignment]
    return spy


def test_load_exposes_markers_thresholds_config(scorer: Scorer, tiny_model_dir: Path) -> None:
    assert scorer.markers == MARKERS
    assert scorer.thresholds == {m: 0.5 for m in MARKERS}
    assert scorer.model_dir == tiny_model_dir
    assert isinstance(scorer.config, ModelConfig)


def test_predict_proba_shape_range_and_order(scorer: Scorer) -> None:
    sentences = ["Short.", "A much longer sentence that sources say may be shocking.", "", "Mid length one."]
    p = scorer.predict_proba(sentences, batch_size=2)
    assert p.shape == (4, len(MARKERS))
    assert ((p >= 0) & (p <= 1)).all()
    one_by_one = np.vstack([scorer.predict_proba([s]) for s in sentences])
    np.testing.assert_allclose(p, one_by_one, atol=1e-5)
    assert scorer.predict_proba([]).shape == (0, len(MARKERS))


def test_score_offsets_flags_and_summary(scorer: Scorer) -> None:
    text = SEED.read_text(encoding="utf-8")
    report = scorer.score(text)
    assert len(report.sentences) == 23
    probs = scorer.predict_proba([s.text for s in report.sentences])
    for i, s in enumerate(report.sentences):
        assert s.index == i and text[s.start : s.end] == s.text
        assert [s.scores[m] for m in MARKERS] == pytest.approx(list(probs[i]), abs=1e-5)
        assert s.flags == {m: s.scores[m] >= scorer.thresholds[m] for m in MARKERS}
    for m, summ in report.summary.items():
        assert summ.flagged == sum(s.flags[m] for s in report.sentences)
        assert summ.max_score == pytest.approx(max(s.scores[m] for s in report.sentences))


def test_flag_is_at_or_above_the_stored_threshold(tmp_path: Path, tokenizer) -> None:
    model = make_tiny_model(seed=3)
    probe = "Sources say it may happen."
    model.save_pretrained(tmp_path / "m", tokenizer)
    # The probability as the scorer computes it (its own loading path), then thresholds around it.
    p = redflags.load(tmp_path / "m").predict_proba([probe])[0]
    # Threshold exactly at the probability: flagged; just above: not flagged; 0: always flagged.
    model.config.thresholds = {"unverifiable_sourcing": float(p[0]), "hedging": float(p[1]) + 1e-3, "sensational_framing": 0.0}
    model.save_pretrained(tmp_path / "m", tokenizer)
    s = redflags.load(tmp_path / "m").score(probe).sentences[0]
    assert s.flags == {"unverifiable_sourcing": True, "hedging": False, "sensational_framing": True}


def test_score_many_batches_across_articles_sorted_and_in_input_order(tiny_model_dir: Path) -> None:
    scorer = redflags.load(tiny_model_dir)
    singles = [scorer.score(t) for t in ARTICLES]
    spy = spy_on(scorer)
    many = scorer.score_many(ARTICLES, batch_size=3)
    assert [len(r.sentences) for r in many] == [len(r.sentences) for r in singles] == [2, 0, 3, 1]
    for a, b in zip(many, singles):
        assert [s.text for s in a.sentences] == [s.text for s in b.sentences]
        for sa, sb in zip(a.sentences, b.sentences):
            assert [sa.scores[m] for m in MARKERS] == pytest.approx([sb.scores[m] for m in MARKERS], abs=1e-5)
    # Six sentences in batches of at most three: two batches, so sentences of different articles share one.
    assert [n for n, _ in spy.shapes] == [3, 3]
    flat = [n for lengths in spy.lengths for n in lengths]
    assert flat == sorted(flat)  # sorted by length inside the pool


def test_iter_score_many_accepts_generators_and_sources(scorer: Scorer) -> None:
    reports = list(scorer.iter_score_many((t for t in ARTICLES), sources=["a", "b", "c", "d"]))
    assert [r.source for r in reports] == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="4 texts but 1 sources"):
        scorer.score_many(ARTICLES, sources=["a"])


def test_progress_bar_when_asked(scorer: Scorer, capsys: pytest.CaptureFixture[str]) -> None:
    scorer.score_many(ARTICLES, show_progress=False)
    assert "article" not in capsys.readouterr().err
    scorer.score_many(ARTICLES, show_progress=True)
    assert "4/4" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["", "   \n\t  "])
def test_empty_text_gives_report_without_sentences(scorer: Scorer, text: str) -> None:
    report = scorer.score(text)
    assert report.sentences == [] and report.summary["hedging"].flagged == 0


@pytest.mark.parametrize("bad", [None, b"bytes", 42, 3.5])
def test_non_str_input_is_a_type_error_saying_what_is_accepted(scorer: Scorer, bad: object) -> None:
    with pytest.raises(TypeError, match="must be a str"):
        scorer.score(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str"):
        scorer.score_many(["fine", bad])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="must be a str"):
        scorer.predict_proba(["fine", bad])  # type: ignore[list-item]


def test_a_path_is_read_as_utf8_by_score_and_named_as_a_path_elsewhere(scorer: Scorer, tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_bytes("\ufeffOfficials said the café may close. It is unclear why.".encode("utf-8"))
    from_path = scorer.score(article)
    from_text = scorer.score(article.read_text(encoding="utf-8-sig"))
    assert from_path.source == str(article) and from_path.to_dict()["sentences"] == from_text.to_dict()["sentences"]
    with pytest.raises(TypeError, match=r"texts\[0\] is a path .*score\(path\) reads one file"):
        scorer.score_many([article])  # type: ignore[list-item]
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.txt: not UTF-8 text \(byte 0xe9 at position 3\)"):
        scorer.score(tmp_path / "latin1.txt")


def test_single_string_is_not_taken_for_a_list(scorer: Scorer) -> None:
    with pytest.raises(TypeError, match="list of str"):
        scorer.predict_proba("a sentence")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="iterable of str"):
        scorer.score_many("an article")  # type: ignore[arg-type]


def test_long_sentence_is_read_in_windows_and_marked(tiny_model_dir: Path) -> None:
    scorer = redflags.load(tiny_model_dir)
    long = "The minister said " + "very " * 150 + "much."  # 155 tokens: 4 windows of 64 (16 shared)
    spy = spy_on(scorer)
    report = scorer.score(f"A short one. {long}")
    assert [s.windows for s in report.sentences] == [1, 4]
    assert not any(s.truncated for s in report.sentences)
    assert max(t for _, t in spy.shapes) <= scorer.max_length
    assert report.to_dict()["n_windowed"] == 1 and report.to_dict()["n_truncated"] == 0


@pytest.mark.slow
def test_5mb_article_is_scored_in_bounded_batches(tiny_model_dir: Path) -> None:
    scorer = redflags.load(tiny_model_dir)
    paragraph = SEED.read_text(encoding="utf-8")
    text = "\n\n".join([paragraph] * (5_000_000 // len(paragraph) + 1))
    assert len(text) >= 5_000_000
    spy = spy_on(scorer)
    report = scorer.score(text, batch_size=64)
    assert len(report.sentences) == 23 * (5_000_000 // len(paragraph) + 1)
    # Bounded memory: no batch is larger than batch_size x max_length, whatever the article's size.
    assert max(b for b, _ in spy.shapes) <= 64 and max(t for _, t in spy.shapes) <= scorer.max_length
    assert report.sentences[-1].end == len(text)


def test_loading_never_touches_the_network(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access attempted during load")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    report = redflags.load(tiny_model_dir).score("Sources say it may rain.")
    assert len(report.sentences) == 1


@pytest.mark.slow
def test_adapter_model_on_the_packaged_base_loads_without_network(
    tmp_path: Path, tokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped model's format: LoRA adapters + head over the base encoder from its pip package.
    model = RedflagsModel.from_base(ModelConfig())
    model.save_pretrained(tmp_path / "adapter", tokenizer)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access attempted during load")

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    scorer = redflags.load(tmp_path / "adapter")
    assert scorer.predict_proba(["Sources say it may rain."]).shape == (1, 3)


# --- broken model directories: redflags.load names the directory and the problem ---------------


def broken_copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_missing_model_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"nope.*does not exist"):
        redflags.load(tmp_path / "nope")


@pytest.mark.parametrize("victim", ["config.json", "model.safetensors", "tokenizer.json"])
def test_incomplete_model_directory(tiny_model_dir: Path, tmp_path: Path, victim: str) -> None:
    d = broken_copy(tiny_model_dir, tmp_path / "m")
    (d / victim).unlink()
    if victim == "tokenizer.json":
        for f in d.glob("*vocab*"):
            f.unlink()
    with pytest.raises(ModelLoadError) as info:
        redflags.load(d)
    assert str(d) in str(info.value)
    assert victim in str(info.value) or "tokenizer" in str(info.value)


def test_corrupt_weights(tiny_model_dir: Path, tmp_path: Path) -> None:
    d = broken_copy(tiny_model_dir, tmp_path / "m")
    (d / "model.safetensors").write_bytes(b"\x00garbage, not a safetensors file" * 10)
    with pytest.raises(ModelLoadError, match="corrupt weights") as info:
        redflags.load(d)
    assert str(d) in str(info.value)


def test_truncated_weights(tiny_model_dir: Path, tmp_path: Path) -> None:
    d = broken_copy(tiny_model_dir, tmp_path / "m")
    data = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="corrupt weights"):
        redflags.load(d)


def test_markers_that_do_not_match_the_head(tiny_model_dir: Path, tmp_path: Path) -> None:
    d = broken_copy(tiny_model_dir, tmp_path / "m")
    config = json.loads((d / "config.json").read_text())
    config["redflags"]["markers"] = [*MARKERS, "clickbait"]
    config["id2label"]["3"] = "clickbait"
    (d / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="head has 3 outputs") as info:
        redflags.load(d)
    assert str(d) in str(info.value) and "clickbait" in str(info.value)


def test_path_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="str or Path"):
        redflags.load(42)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.skipif(
    not (DEFAULT_MODEL_DIR / "config.json").is_file(),
    reason=f"no default model shipped yet ({DEFAULT_MODEL_DIR}/config.json is absent)",
)
def test_default_model_loads_and_scores_the_seed() -> None:
    scorer = redflags.load()
    assert scorer.model_dir == DEFAULT_MODEL_DIR and scorer.markers == MARKERS
    report = scorer.score(SEED.read_text(encoding="utf-8"))
    assert len(report.sentences) == 23
