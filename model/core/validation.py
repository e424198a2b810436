"""The checks a model directory passes before anything is built from it.

A model directory is input: it may come from anywhere, be damaged, or be edited by hand. Before an
encoder is built or a weight assigned, the loaders (`load_for_scoring`, `RedflagsModel.from_pretrained`)
read it through here:
- `read_config`: config.json's values in their ranges (settings.py), the base encoder named as a folder
  or a known package (never imported by a given name), and the encoder's sizes consistent (heads divide
  the hidden size, max_length within the positions, the same sizes as the base encoder's own config);
- `read_weights_checked`: every tensor the config implies present (the heads, each LoRA A and B of each
  targeted layer), of its shape and a floating dtype, nothing unexpected, and every value finite.
Each failure is one ModelLoadError line naming the directory and the key or tensor. The checks look at
shapes and dtypes of tensors already read, so they cost microseconds beside the load.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from redflags.core import model_dir
from redflags.core.model_dir import CONFIG_FILE, FORMAT_VERSION, ModelLoadError
from redflags.core.settings import ModelConfig, check_encoder, resolve_base

log = logging.getLogger(__name__)

FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
# Sizes that must agree between config.json and the base encoder whose weights an adapter model uses.
_SHAPE_KEYS = ("model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
               "intermediate_size", "max_position_embeddings")
Shape = tuple[int | None, ...]  # None: any size


def read_config(d: Path) -> ModelConfig:
    """The ModelConfig stored in a model directory (either format), checked; ModelLoadError names the problem."""
    if d.exists() and not d.is_dir():  # (e.g. its config.json or weights file given instead of the folder)
        raise ModelLoadError(f"{d}: is a file; --model takes the model's folder (the one holding {CONFIG_FILE})")
    if not d.is_dir():
        raise ModelLoadError(f"{d}: model directory does not exist")
    if not (d / CONFIG_FILE).is_file():
        raise ModelLoadError(f"{d}: incomplete model directory, {CONFIG_FILE} is missing")
    try:
        raw = json.loads((d / CONFIG_FILE).read_text(encoding="utf-8"))
        config = ModelConfig.from_dict(model_dir.settings_from_json(raw))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ModelLoadError(f"{d}: {CONFIG_FILE} is not valid JSON ({e})") from None
    except (TypeError, ValueError) as e:
        raise ModelLoadError(f"{d}: {CONFIG_FILE} is invalid: {e}") from None
    if config.format_version < FORMAT_VERSION:
        log.info("%s: model directory format %d; `redflags convert` rewrites it as format %d",
                 d, config.format_version, FORMAT_VERSION)
    encoder_of(d, config)  # the base encoder is resolved and compared now, before any weight is read
    return config


def encoder_of(d: Path, config: ModelConfig) -> dict[str, Any]:
    """The encoder config the weights must fit. Where the base encoder's weights are used (the adapter
    format, or no encoder_config stored), config.json's sizes must be the base's own."""
    if config.weights_format == "full" and config.encoder_config:
        return config.encoder_config
    try:
        base = resolve_base(config.base_encoder)  # type: ignore[arg-type]
        raw = json.loads((base / CONFIG_FILE).read_text(encoding="utf-8"))
    except ModelLoadError as e:
        raise ModelLoadError(f"{d}: {CONFIG_FILE}: {e}") from None
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"{d}: the base encoder's {CONFIG_FILE} is unreadable ({e})") from None
    theirs = model_dir.encoder_shape(raw)
    if not config.encoder_config:
        try:
            check_encoder(theirs, config.max_length)
        except ValueError as e:
            raise ModelLoadError(f"{d}: {CONFIG_FILE} with the base encoder {base}: {e}") from None
        return theirs
    for key in _SHAPE_KEYS:
        ours = config.encoder_config.get(key)
        if key in theirs and ours != theirs[key]:
            raise ModelLoadError(f"{d}: {CONFIG_FILE}: {key} {ours!r} differs from the base encoder's "
                                 f"{theirs[key]!r} ({base})")
    return config.encoder_config


def read_weights_checked(d: Path, config: ModelConfig) -> dict[str, torch.Tensor]:
    """The weights stored in a model directory, checked against its config; ModelLoadError names the problem."""
    from safetensors import SafetensorError

    files = model_dir.weight_files(config.weights_format, config.format_version)
    for needed in files:
        if not (d / needed).is_file():
            raise ModelLoadError(f"{d}: incomplete model directory, {needed} is missing")
    try:
        parts = model_dir.read_weight_files(d, files)
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise ModelLoadError(f"{d}: corrupt weights in {', '.join(files)} ({e})") from None
    origin = {key: name for name, part in parts.items() for key in part}
    state = {k: v for part in parts.values() for k, v in part.items()}
    check_weights(d, config, encoder_of(d, config), state, origin)
    return state


def check_weights(d: Path, config: ModelConfig, encoder: Mapping[str, Any], state: Mapping[str, torch.Tensor],
                  origin: Mapping[str, str]) -> None:
    """ModelLoadError naming the file and tensor when `state` is not what `config` describes (see the module doc)."""
    fmt, version = config.weights_format, config.format_version

    def where(key: str) -> str:  # "<dir>: <file>: <the tensor's name in that file>"
        file = origin.get(key) or model_dir.file_for(key, fmt, version)
        return f"{d}: {file}: {model_dir.stored_name(key, file)}"

    _check_groups(d, config, state, ", ".join(model_dir.weight_files(fmt, version)))
    try:
        expected = expected_tensors(config, encoder)
    except ValueError as e:
        raise ModelLoadError(f"{d}: {CONFIG_FILE}: {e}") from None
    for key, shape in expected.items():
        tensor = state.get(key)
        if tensor is None:
            raise ModelLoadError(f"{where(key)} is missing (expected a tensor of shape {_shown(shape)})")
        if not _fits(tuple(tensor.shape), shape):
            raise ModelLoadError(f"{where(key)} has shape {tuple(tensor.shape)}, expected {_shown(shape)}")
    # LoRA tensors are all listed for a BERT encoder; without LoRA settings, any is one too many.
    lora_listed = config.lora is None or _is_bert(encoder)
    for key, tensor in state.items():
        listed = key.startswith(model_dir.HEAD_PREFIXES) or ("lora_" in key and lora_listed)
        stray = (origin.get(key) == model_dir.ADAPTER_WEIGHTS_FILE and "lora_" not in key) or (
            origin.get(key) == model_dir.HEAD_FILE and not key.startswith(model_dir.HEAD_PREFIXES))
        if stray or (listed and key not in expected):
            raise ModelLoadError(f"{where(key)} is a tensor the configured model does not have (config.json: "
                                 "markers, token_head, techniques, lora)")
        # (integer *_ids buffers: token positions that older checkpoints store)
        if tensor.dtype not in FLOAT_DTYPES and not key.endswith("_ids"):
            raise ModelLoadError(f"{where(key)} is {str(tensor.dtype).removeprefix('torch.')}; "
                                 "weights must be float32, float16 or bfloat16")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelLoadError(f"{where(key)} holds NaN or infinite values (a corrupt or diverged model)")
    if config.lora is not None and not lora_listed:
        _check_lora_pairs(where, config.lora.r, state)


def _check_groups(d: Path, config: ModelConfig, state: Mapping[str, torch.Tensor], files: str) -> None:
    """The messages for a head missing as a whole, or a head whose rows are not the markers."""
    head = state.get("head.weight")
    if head is None:
        raise ModelLoadError(f"{d}: {files} has no head weights")
    if head.dim() == 2 and head.shape[0] != len(config.markers):
        raise ModelLoadError(
            f"{d}: config lists {len(config.markers)} markers {config.markers} but the head has {head.shape[0]} outputs"
        )
    if config.token_head and "token_head.weight" not in state:
        raise ModelLoadError(f"{d}: config.json has token_head true but {files} has no token head weights")
    if config.token_head and config.techniques and "technique_head.weight" not in state:
        raise ModelLoadError(f"{d}: config.json lists techniques but {files} has no technique head weights")


def expected_tensors(config: ModelConfig, encoder: Mapping[str, Any]) -> dict[str, Shape]:
    """Name -> shape of every head tensor, and of every LoRA tensor where the encoder is a BERT (whose
    layers are known without building it; other encoders get `_check_lora_pairs`). ValueError names a
    LoRA target that selects no layer."""
    hidden = encoder.get("hidden_size")
    heads = [("head", len(config.markers))]
    if config.token_head:
        heads.append(("token_head", len(config.markers)))
        if config.techniques:
            heads.append(("technique_head", len(config.techniques)))
    out: dict[str, Shape] = {}
    for name, rows in heads:
        out[f"{name}.weight"], out[f"{name}.bias"] = (rows, hidden), (rows,)
    if config.lora is not None and _is_bert(encoder):
        r, targets = config.lora.r, config.lora.target_modules
        layers = _bert_linears(encoder)
        for target in targets:
            if not any(_targets(name, target) for name in layers):
                raise ValueError(f"lora.target_modules: {target!r} names no linear layer of the encoder")
        for name, (n_out, n_in) in layers.items():
            if any(_targets(name, t) for t in targets):
                out[f"encoder.{name}.lora_A.default.weight"] = (r, n_in)
                out[f"encoder.{name}.lora_B.default.weight"] = (n_out, r)
    return out


def _is_bert(encoder: Mapping[str, Any]) -> bool:
    return encoder.get("model_type") == "bert" and all(k in encoder for k in ("hidden_size", "intermediate_size",
                                                                               "num_hidden_layers"))


def _bert_linears(encoder: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """The linear layers of a BERT encoder (no pooler: redflags mean-pools): name -> (out, in) features."""
    h, inner = encoder["hidden_size"], encoder["intermediate_size"]
    per_layer = {"attention.self.query": (h, h), "attention.self.key": (h, h), "attention.self.value": (h, h),
                 "attention.output.dense": (h, h), "intermediate.dense": (inner, h), "output.dense": (h, inner)}
    return {f"encoder.layer.{i}.{name}": shape
            for i in range(encoder["num_hidden_layers"]) for name, shape in per_layer.items()}


def _targets(module: str, target: str) -> bool:
    """Whether a LoRA target name selects a module, as peft matches a list of names."""
    return module == target or module.endswith("." + target)


def _check_lora_pairs(where: Any, r: int, state: Mapping[str, torch.Tensor]) -> None:
    """For encoders whose layers are not listed here: each lora_A (r, in) has its lora_B (out, r)."""
    for key, a in state.items():
        if ".lora_A." not in key:
            continue
        b_key = key.replace(".lora_A.", ".lora_B.")
        b = state.get(b_key)
        if b is None:
            raise ModelLoadError(f"{where(b_key)} is missing (the pair of {key})")
        if a.dim() != 2 or b.dim() != 2 or a.shape[0] != r or b.shape[1] != r:
            raise ModelLoadError(f"{where(key)} has shape {tuple(a.shape)} and its lora_B {tuple(b.shape)}; "
                                 f"lora.r is {r}")


def _fits(actual: tuple[int, ...], expected: Shape) -> bool:
    return len(actual) == len(expected) and all(e is None or a == e for a, e in zip(actual, expected))


def _shown(shape: Shape) -> str:
    return "(" + ", ".join("?" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
