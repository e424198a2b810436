"""Training on a tiny model: masked loss, learning on a toy set, exact resume, model directory."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from redflags.markers import MARKERS
from redflags.core.modeling import RedflagsModel
from redflags.training.config import from_dict
from redflags.training.records import Record, labels
from redflags.training.train import ResumeError, checkpoints, masked_bce, train
from safetensors.torch import load_file

from tests.conftest import make_tiny_model
from tests.test_dataset import fake_corpora

U, H, S = MARKERS


def toy_records() -> tuple[list[Record], list[Record]]:
    """Two separable toy corpora: hedging from 'may'/'might', sensational from loaded words."""
    rng = random.Random(0)
    subjects = ["The council", "The minister", "The company", "Our team", "The court", "The mayor", "Voters"]
    verbs = ["approve the plan", "raise taxes", "open the bridge", "close the school", "win the case"]
    hedge, sens = [], []
    for d in range(60):
        for s in range(4):
            subj, verb = rng.choice(subjects), rng.choice(verbs)
            y = rng.random() < 0.5
            text = f"{subj} {'may possibly' if y else 'will'} {verb} on day {d * 4 + s}."
            hedge.append(Record(text, "toy_hedge", f"h{d}", labels(hedging=int(y))))
            y = rng.random() < 0.5
            text = f"{subj} {'shockingly slammed the disastrous plan to' if y else 'voted to'} {verb}, report {d * 4 + s}."
            sens.append(Record(text, "toy_sens", f"s{d}", labels(sensational_framing=int(y))))
    return hedge, sens


def tiny_run_config(tmp_path: Path, data_dir: Path, **training) -> object:
    return from_dict({
        "data": {"data_dir": str(data_dir), "cache_dir": str(tmp_path / "cache"),
                 "corpora": {"toy_hedge": {"weight": 1.0}, "toy_sens": {"weight": 1.0}}},
        "model": {"base_encoder": "tiny", "max_length": 32, "lora": {"enabled": False}},
        "training": {"lr": 3e-3, "batch_size": 16, "max_steps": 8, "eval_every": 4, "checkpoint_every": 4,
                     "log_every": 2, "warmup_ratio": 0.1, "seed": 5, **training},
    })


@pytest.fixture
def toy_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    hedge, sens = toy_records()
    return fake_corpora(monkeypatch, tmp_path, {"toy_hedge": ("gold", hedge), "toy_sens": ("gold", sens)})


def test_masked_loss_ignores_unknown_labels() -> None:
    model = make_tiny_model(seed=3)
    ids = torch.randint(1000, 2000, (4, 7))
    mask = torch.ones_like(ids)
    labels_ = torch.tensor([[1, 0, -1], [0, 1, -1], [-1, 1, -1], [1, -1, -1]])
    loss = masked_bce(model(ids, mask), labels_)
    loss.backward()
    g = model.head.weight.grad
    assert torch.all(g[2] == 0) and model.head.bias.grad[2] == 0  # all-unknown marker: zero gradient
    assert g[0].abs().sum() > 0 and g[1].abs().sum() > 0
    # unknown entries do not change the value either
    logits = torch.tensor([[2.0, -1.0, 5.0]])
    a = masked_bce(logits, torch.tensor([[1, 0, -1]]))
    b = masked_bce(logits[:, :2], torch.tensor([[1, 0]]))
    assert torch.isclose(a, b)
    assert masked_bce(logits, torch.tensor([[-1, -1, -1]])) == 0


def test_loss_decreases_and_model_directory_loads(tmp_path: Path, toy_data: Path) -> None:
    losses: list[float] = []
    cfg = tiny_run_config(tmp_path, toy_data, max_steps=60, eval_every=30, checkpoint_every=30)
    train(cfg, tmp_path / "model", work_dir=tmp_path / "work", progress=False,
                   on_step=lambda step, loss: losses.append(loss), command="pytest")
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < first * 0.8, (first, last)
    model = RedflagsModel.from_pretrained(tmp_path / "model")
    cal = model.config.calibration
    assert set(cal) == set(MARKERS) and cal[U] == {"a": 1.0, "b": 0.0}  # no U labels: identity
    assert cal[H] != {"a": 1.0, "b": 0.0} and 0 < model.config.thresholds[H] < 1
    assert model.config.training_config["training"]["max_steps"] == 60
    assert model.config.metrics["training"]["steps"] == 60
    card = (tmp_path / "model" / "README.md").read_text()
    assert "toy_hedge" in card and "test-licence" in card and "not whether it is true" in card
    assert (tmp_path / "work" / "config.yaml").is_file()
    assert len(checkpoints(tmp_path / "work")) <= 2


@pytest.mark.parametrize("lora", [False, True])
def test_resume_ends_with_the_same_model(tmp_path: Path, toy_data: Path, lora: bool) -> None:
    cfg = tiny_run_config(tmp_path, toy_data)
    cfg.model.lora.enabled = lora
    train(cfg, tmp_path / "straight", work_dir=tmp_path / "w1", progress=False)
    part = train(cfg, tmp_path / "resumed", work_dir=tmp_path / "w2", progress=False, stop_after=4)
    assert part.stopped_early and part.state.step == 4 and not (tmp_path / "resumed").exists()
    train(cfg, tmp_path / "resumed", work_dir=tmp_path / "w2", progress=False, resume=True)
    a = load_file(str(tmp_path / "straight" / "model.safetensors"))
    b = load_file(str(tmp_path / "resumed" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    last_a = torch.load(checkpoints(tmp_path / "w1")[-1] / "state.pt", weights_only=False)["model"]
    last_b = torch.load(checkpoints(tmp_path / "w2")[-1] / "state.pt", weights_only=False)["model"]
    for k in last_a:
        assert torch.equal(last_a[k], last_b[k]), k


def test_resume_refuses_other_config_or_no_checkpoint(tmp_path: Path, toy_data: Path) -> None:
    cfg = tiny_run_config(tmp_path, toy_data)
    with pytest.raises(ResumeError, match="no checkpoint"):
        train(cfg, tmp_path / "m", work_dir=tmp_path / "w", progress=False, resume=True)
    train(cfg, tmp_path / "m", work_dir=tmp_path / "w", progress=False, stop_after=4)
    other = tiny_run_config(tmp_path, toy_data, lr=1e-2)
    with pytest.raises(ResumeError, match="different config"):
        train(other, tmp_path / "m", work_dir=tmp_path / "w", progress=False, resume=True)


def test_sampling_weights_follow_the_config(tmp_path: Path, toy_data: Path) -> None:
    from redflags.training.train import epoch_order, sample_weights

    corpus = ["a"] * 900 + ["b"] * 100
    w = sample_weights(corpus, {"a": 1.0, "b": 1.0})
    order = epoch_order(w, seed=1, epoch=0)
    share_b = sum(corpus[i] == "b" for i in order.tolist()) / len(order)
    assert 0.4 < share_b < 0.6  # equal weights: equal shares despite 9x fewer b sentences
    assert torch.equal(order, epoch_order(w, seed=1, epoch=0))
    assert not torch.equal(order, epoch_order(w, seed=1, epoch=1))
    w0 = sample_weights(corpus, {"a": 1.0, "b": 0.0})
    assert all(corpus[i] == "a" for i in epoch_order(w0, seed=1, epoch=0).tolist())


def test_length_grouped_batches_cover_the_draws_and_are_reproducible() -> None:
    import numpy as np
    from redflags.training.train import epoch_batches, epoch_order, sample_weights

    corpus = ["a"] * 100
    w = sample_weights(corpus, {"a": 1.0})
    lengths = np.arange(100) % 37
    batches = epoch_batches(w, lengths, seed=3, epoch=0, batch_size=8, group=4)
    assert len(batches) == 13  # ceil(100 / 8), as without grouping
    assert sorted(np.concatenate(batches).tolist()) == sorted(epoch_order(w, 3, 0).tolist())
    again = epoch_batches(w, lengths, seed=3, epoch=0, batch_size=8, group=4)
    assert all(np.array_equal(x, y) for x, y in zip(batches, again))
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    plain = np.mean([np.ptp(lengths[b]) for b in epoch_batches(w, lengths, 3, 0, 8, group=1)])
    assert spread < plain


@pytest.mark.parametrize("bf16", [False, True])
def test_fitted_probabilities_are_the_served_ones_and_the_card_matches_evaluation(
        tmp_path: Path, toy_data: Path, bf16: bool) -> None:
    """Calibration and thresholds are fitted on exactly what the scorer serves (same path, dtype, padding),
    and the card's dev figures are what the evaluation harness's metrics give on the same data."""
    import numpy as np
    import redflags
    from redflags.training.metrics import marker_metrics
    from redflags.core.modeling import apply_calibration
    from redflags.training.dataset import build_dataset
    from redflags.training.train import encode, predict_logits

    cfg = tiny_run_config(tmp_path, toy_data, max_steps=30, eval_every=10, checkpoint_every=10, bf16=bf16)
    result = train(cfg, tmp_path / "model", work_dir=tmp_path / "work", progress=False)
    dev = build_dataset(cfg.data)["dev"]
    enc = encode(dev, result.tokenizer, cfg.model.max_length)
    fitted = apply_calibration(predict_logits(result.model, enc, result.tokenizer.pad_token_id),
                               result.model.config.calibration, MARKERS)
    scorer = redflags.load(tmp_path / "model")
    served = scorer.predict_proba(list(dev["text"]), batch_size=7)  # another batching: same numbers
    assert np.abs(fitted - served).max() < 1e-6
    card = RedflagsModel.from_pretrained(tmp_path / "model").config.metrics["dev_calibrated"]
    for j, m in enumerate(MARKERS):
        if card[m]["method"] == "identity":
            continue
        y = np.asarray(dev[m])
        harness = marker_metrics(y, served[:, j], scorer.thresholds[m], n_boot=0)
        for key in ("f1", "precision", "recall", "pr_auc"):
            assert card[m][key] == pytest.approx(harness[key], abs=1e-6), (m, key)
        assert card[m]["ece_after"] == pytest.approx(harness["ece"], abs=1e-6)  # batches of 7 vs 64: float32 rounding
    flags = scorer.predict(list(dev["text"]))
    assert flags.dtype == bool and (flags == (served >= np.array([scorer.thresholds[m] for m in MARKERS]))).all()
