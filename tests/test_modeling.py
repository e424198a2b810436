"""Model directory round trip and the errors a broken directory gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from redflags.markers import MARKERS
from redflags.modeling import ModelConfig, ModelLoadError, RedflagsModel

from tests.conftest import make_tiny_model


def _logits(model, tokenizer, texts):
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        return model(enc["input_ids"], enc["attention_mask"])


def test_round_trip_gives_same_logits(tmp_path: Path, tokenizer) -> None:
    model = make_tiny_model(seed=1).eval()
    model.config.thresholds["hedging"] = 0.3
    model.save_pretrained(tmp_path / "m", tokenizer)
    loaded, tok = RedflagsModel.from_pretrained(tmp_path / "m")
    texts = ["Officials, speaking on condition of anonymity, said it may rain.", ""]
    assert torch.allclose(_logits(model, tokenizer, texts), _logits(loaded, tok, texts))
    assert loaded.config.thresholds["hedging"] == 0.3
    assert loaded.config.markers == list(MARKERS)
    assert not list(tmp_path.glob(".m.tmp-*")), "temporary directory left behind"


def test_calibration_is_platt_on_logits(tiny_model_dir: Path) -> None:
    model, _ = RedflagsModel.from_pretrained(tiny_model_dir)
    model.config.calibration["hedging"] = {"a": 2.0, "b": -1.0}
    p = model.calibrated_proba(np.zeros((1, 3)))
    assert p[0, 1] == pytest.approx(1 / (1 + np.exp(1.0)))
    assert p[0, 0] == pytest.approx(0.5)


def test_adapter_format_stores_only_adapters_and_head() -> None:
    config = ModelConfig()
    assert config.weights_format == "adapter"
    model = RedflagsModel.from_base(config)
    keys = model.trainable_state_dict().keys()
    assert keys and all("lora_" in k or k.startswith("head.") for k in keys)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == set(keys)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        RedflagsModel.from_pretrained(tmp_path / "nope")


@pytest.mark.parametrize("victim", ["config.json", "model.safetensors"])
def test_incomplete_directory(tmp_path: Path, tiny_model_dir: Path, victim: str) -> None:
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    (d / victim).unlink()
    with pytest.raises(ModelLoadError, match=f"{d}.*{victim} is missing"):
        RedflagsModel.from_pretrained(d)


def test_corrupt_weights(tmp_path: Path, tiny_model_dir: Path) -> None:
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    (d / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ModelLoadError, match="corrupt weights"):
        RedflagsModel.from_pretrained(d)


def test_markers_that_do_not_match_the_head(tmp_path: Path, tiny_model_dir: Path) -> None:
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["markers"] = cfg["markers"][:2]
    cfg["calibration"] = {m: cfg["calibration"][m] for m in cfg["markers"]}
    cfg["thresholds"] = {m: cfg["thresholds"][m] for m in cfg["markers"]}
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="2 markers .* head has 3 outputs"):
        RedflagsModel.from_pretrained(d)


def test_unknown_config_key(tmp_path: Path, tiny_model_dir: Path) -> None:
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["colour"] = "red"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="unknown keys"):
        RedflagsModel.from_pretrained(d)


def test_missing_tokenizer_files(tmp_path: Path, tiny_model_dir: Path) -> None:
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    for f in ("tokenizer.json", "vocab.txt"):
        (d / f).unlink(missing_ok=True)
    with pytest.raises(ModelLoadError, match="tokenizer files"):
        RedflagsModel.from_pretrained(d)
