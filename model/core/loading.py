"""Loading a model directory for scoring, quickly.

`load_for_scoring` builds the same RedflagsModel that `RedflagsModel.from_pretrained` builds, with
three differences that cut start-up by seconds and change no score (tests hold the two equal):
- a BERT encoder runs on bert.py (plain torch) instead of transformers;
- LoRA adapters are folded into the base weights here, W + (B @ A) * alpha / r, as peft's merge
  does, without importing peft;
- the tokenizer is tokenizer.json read by the `tokenizers` library (tokenizer.py).
Encoders of another architecture fall back to `RedflagsModel.from_pretrained`. The result is for
inference only: `Scorer.save_pretrained` reloads the directory to save it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from redflags.core import model_dir
from redflags.core.model_dir import ModelLoadError
from redflags.core.modeling import RedflagsModel
from redflags.core.settings import resolve_base
from redflags.core.validation import read_config, read_weights_checked

log = logging.getLogger(__name__)

_LORA = (".lora_A.default.weight", ".lora_B.default.weight")


def fold_lora(base: dict[str, torch.Tensor], adapters: dict[str, torch.Tensor], scale: float) -> None:
    """Add each adapter's update B @ A * scale to the weight it adapts (in place); keys as RedflagsModel names them."""
    for key, a in adapters.items():
        if not key.endswith(_LORA[0]):
            continue
        module = key[: -len(_LORA[0])]
        b = adapters.get(module + _LORA[1])
        target = module + ".weight"
        if b is None or target not in base:
            raise ModelLoadError(f"adapter {module} has no lora_B or no base weight {target}")
        base[target] = base[target].float().add_((b.float() @ a.float()) * scale)  # in place: no second copy


def load_for_scoring(directory: Path) -> tuple[RedflagsModel, Any]:
    """(model in eval mode, tokenizer) for scoring; see the module doc. The directory is checked first
    (validation.py): nothing is built from one that does not fit its config."""
    # Length: over 60 lines: the load's steps (check, read, fold adapters, build on meta, fill, tokenizer)
    # read best in order, and each failure is turned into one ModelLoadError line where it can happen.
    from redflags.core.bert import BertEncoder, supports
    from redflags.core.tokenizer import ScoringTokenizer

    config = read_config(directory)
    if not supports(config.encoder_config or {}) or not (directory / "tokenizer.json").is_file():
        from redflags.extras import missing

        absent = [d for d in missing("train") if d in ("transformers", "peft")]
        if absent:  # the base install scores BERT encoders with tokenizer.json; others load through transformers
            raise ModelLoadError(f"{directory}: this model (not a BERT encoder with tokenizer.json) loads through "
                                 f"transformers: pip install 'redflags[train]' (missing: {', '.join(absent)})")
        model = RedflagsModel.from_pretrained(directory)
        if config.weights_format == "adapter":
            model.merge_adapters()  # the same scores, about 20% faster on CPU
        model._inference_only = True  # noqa: SLF001 - see Scorer.save_pretrained
        return model, model.tokenizer
    state = read_weights_checked(directory, config)
    stored = {k.removeprefix("encoder."): v for k, v in state.items() if k.startswith("encoder.")}
    adapters = {k: v for k, v in stored.items() if "lora_" in k}
    # (peft keeps an adapted layer's own weight as "<layer>.base_layer.weight")
    encoder_state = {k.replace(".base_layer.", "."): v for k, v in stored.items() if "lora_" not in k}
    if config.weights_format == "adapter":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = resolve_base(config.base_encoder) / model_dir.FULL_WEIGHTS_FILE  # type: ignore[arg-type]
        try:
            encoder_state = load_file(str(path))
        except (SafetensorError, OSError) as e:
            raise ModelLoadError(f"{directory}: cannot read the base encoder's weights {path} ({e})") from None
    if adapters:
        if config.lora is None:
            raise ModelLoadError(f"{directory}: LoRA weights stored, but config.json has no lora settings")
        try:
            fold_lora(encoder_state, adapters, config.lora.alpha / config.lora.r)
        except RuntimeError as e:  # the base's weights do not fit the adapters (checked: they fit config.json)
            raise ModelLoadError(f"{directory}: the adapters do not fit the base encoder's weights "
                                 f"({str(e).splitlines()[0]})") from None
    # Built on the meta device and filled by assignment: no random initialisation, no second copy of
    # the weights (peak memory at load stays near one copy of the encoder).
    with torch.device("meta"):
        encoder = BertEncoder(config.encoder_config or {})
    wanted = set(encoder.state_dict())
    # The base checkpoint has a pooler (unused: redflags mean-pools) and older ones a position_ids buffer.
    encoder_state = {k: v for k, v in encoder_state.items() if k in wanted}
    missing = sorted(wanted - set(encoder_state))
    if missing:
        raise ModelLoadError(f"{directory}: encoder weights missing: {missing[:3]}")
    try:
        encoder.load_state_dict({k: v.float().contiguous() for k, v in encoder_state.items()}, assign=True)
        del encoder_state, stored
        model = RedflagsModel(config, encoder)
        model.load_state_dict({k: v for k, v in state.items() if k.startswith(model_dir.HEAD_PREFIXES)}, strict=False)
    except RuntimeError as e:  # shape mismatches
        raise ModelLoadError(f"{directory}: weights do not fit the configured model ({str(e).splitlines()[0]})") from None
    try:
        tokenizer = ScoringTokenizer(directory)
    except Exception as e:  # noqa: BLE001 - tokenizers raises its own Exception types for a bad file
        raise ModelLoadError(f"{directory}: tokenizer.json is unreadable ({e})") from None
    model._inference_only = True  # noqa: SLF001 - see Scorer.save_pretrained
    return model.eval(), tokenizer
