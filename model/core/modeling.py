"""The redflags model: a sentence encoder, mean pooling and one logit per marker.

The files of a model directory are described in model_dir.py, its settings in settings.py, and the
checks a directory passes before it is loaded in validation.py. Base encoder weights come from their
pip package (or a local folder) at load time, never from a hub.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from redflags.core import model_dir
from redflags.atomic import atomic_dir
from redflags.markers import MARKERS
from redflags.core.model_dir import CARD_FILE, ModelLoadError
from redflags.core.probability import sigmoid
from redflags.core.settings import (  # noqa: F401  (ModelConfig and the rest are imported from here too)
    DEFAULT_BASE,
    DEFAULT_LORA_TARGETS,
    LoraSettings,
    ModelConfig,
    check_encoder,
    resolve_base,
)
from redflags.core.validation import read_config, read_weights_checked
from torch import nn


def apply_calibration(z: np.ndarray, calibration: dict[str, dict[str, float]], markers: Sequence[str]) -> np.ndarray:
    """Platt scaling per marker column: p = sigmoid(a * z + b); the one place logits become probabilities."""
    a = np.array([calibration[m]["a"] for m in markers], dtype=np.float64)
    b = np.array([calibration[m]["b"] for m in markers], dtype=np.float64)
    return sigmoid(np.asarray(z, dtype=np.float64) * a + b)


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
        check_encoder(config.encoder_config or {}, config.max_length)  # e.g. max_length within its positions
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
