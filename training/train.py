"""Multi-label fine-tuning: config -> dataset -> model -> checkpoints -> calibration -> model directory.

- Loss: binary cross-entropy on logits, masked where a label is unknown (-1), so a corpus that
  says nothing about a marker neither helps nor hurts it; per-marker pos_weight from the config.
- Sampling: each training step draws a batch with replacement where a corpus's share of the draws
  is proportional to its configured weight (a WeightedRandomSampler per epoch, seeded by
  (seed, epoch), so the order can be rebuilt exactly on resume). Draws are grouped by length within
  runs of batches (less padding), then the batches are shuffled.
- AdamW with linear warm-up and decay; optional bf16 autocast on CPU for the training steps (evaluation
  and calibration always run the scorer's float32 inference path); gradient clipping.
- Checkpoints every N steps hold the trainable weights, optimizer, scheduler, RNG states and the
  training state; `resume=True` continues from the newest one and ends with the same model as an
  uninterrupted run. The best step by dev macro PR-AUC is kept and becomes the final model.
- After training: calibration and thresholds fitted on dev (calibrate.py), model directory saved.
"""

from __future__ import annotations

import logging
import math
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from redflags import inference
from redflags.atomic import atomic_dir, atomic_path
from redflags.eval import metrics
from redflags.markers import MARKERS
from redflags.modeling import LoraSettings, ModelConfig, RedflagsModel, load_base_tokenizer, tiny_config
from redflags.training import calibrate
from redflags.training.config import RunConfig, save_config
from redflags.training.dataset import build_dataset

log = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "step-"
STATE_FILE = "state.pt"
BEST_FILE = "best.pt"


class ResumeError(RuntimeError):
    """A checkpoint cannot be resumed (missing, or made with a different config)."""


# ---------------------------------------------------------------- pieces


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(cfg: RunConfig) -> tuple[RedflagsModel, Any]:
    """A fresh model for training (seeded by the caller) and its tokenizer."""
    m = cfg.model
    lora = LoraSettings(r=m.lora.r, alpha=m.lora.alpha, dropout=m.lora.dropout,
                        target_modules=list(m.lora.target_modules)) if m.lora.enabled else None
    if m.base_encoder == "tiny":
        mc = tiny_config(max_length=m.max_length)
        mc.lora = lora
        tokenizer = load_base_tokenizer()
    else:
        mc = ModelConfig(base_encoder=m.base_encoder, max_length=m.max_length, lora=lora)
        tokenizer = load_base_tokenizer(m.base_encoder)
    mc.dropout = m.dropout
    return RedflagsModel.from_base(mc), tokenizer


def masked_bce(logits: torch.Tensor, labels: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean BCE-with-logits over the known labels only (labels: 1, 0, -1 unknown)."""
    known = (labels >= 0).to(logits.dtype)
    target = labels.clamp(min=0).to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight, reduction="none")
    return (loss * known).sum() / known.sum().clamp(min=1.0)


@dataclass
class Encoded:
    """A tokenised split: token ids per sentence (unpadded), labels (n, M) and corpus names."""

    input_ids: list[list[int]]
    labels: np.ndarray
    corpus: list[str]

    def __len__(self) -> int:
        return len(self.input_ids)


def encode(ds: Any, tokenizer: Any, max_length: int, markers: tuple[str, ...] = MARKERS) -> Encoded:
    """Token ids (the scorer's tokenisation: inference.tokenize), labels and corpus names of a split."""
    ids, _ = inference.tokenize(tokenizer, list(ds["text"]), max_length) if len(ds) else ([], None)
    labels = np.stack([np.asarray(ds[m], dtype=np.int64) for m in markers], axis=1) if len(ds) else np.zeros((0, len(markers)), np.int64)
    return Encoded(ids, labels, list(ds["corpus"]))


def collate(enc: Encoded, idx: list[int] | np.ndarray, pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad a batch to its longest sentence: (input_ids, attention_mask, labels)."""
    ids, mask = inference.pad_batch([enc.input_ids[i] for i in idx], pad_id)
    return ids, mask, torch.from_numpy(enc.labels[np.asarray(idx)])


def sample_weights(corpus: list[str], weights: dict[str, float]) -> torch.Tensor:
    """Per-example weight so that corpus c gets weights[c] / sum(weights) of the draws."""
    counts: dict[str, int] = {}
    for c in corpus:
        counts[c] = counts.get(c, 0) + 1
    present = {c: weights.get(c, 0.0) for c in counts}
    total = sum(present.values())
    if total <= 0:
        raise ValueError("no training corpus has a sampling weight > 0")
    return torch.tensor([present[c] / total / counts[c] for c in corpus], dtype=torch.double)


def epoch_order(weights: torch.Tensor, seed: int, epoch: int) -> torch.Tensor:
    """The indices drawn in one epoch (with replacement), a pure function of (seed, epoch)."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.multinomial(weights, len(weights), replacement=True, generator=g)


def epoch_batches(weights: torch.Tensor, lengths: np.ndarray, seed: int, epoch: int, batch_size: int,
                  group: int) -> list[np.ndarray]:
    """The batches of one epoch: weighted draws, grouped by length within runs of `group` batches, shuffled.

    A pure function of its arguments, so a resumed run rebuilds exactly the same batches.
    """
    order = epoch_order(weights, seed, epoch).numpy()
    chunk = batch_size * max(group, 1)
    batches: list[np.ndarray] = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        if group > 1:
            part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    if group > 1:  # otherwise the draws are already in random order
        perm = np.random.default_rng([seed, epoch, 1]).permutation(len(batches))
        batches = [batches[i] for i in perm]
    return batches


def predict_logits(model: RedflagsModel, enc: Encoded, pad_id: int, batch_size: int = 64) -> np.ndarray:
    """Logits (n, M) of an encoded split through the scorer's inference path (float32, as served)."""
    return inference.predict_logits(model, enc.input_ids, pad_id, batch_size)


def pr_auc_per_marker(logits: np.ndarray, labels: np.ndarray, markers: tuple[str, ...] = MARKERS) -> dict[str, float]:
    """PR-AUC per marker over known labels (metrics.pr_auc); markers where it is undefined are left out."""
    out = {}
    for j, m in enumerate(markers):
        known = labels[:, j] >= 0
        value = metrics.pr_auc(labels[known, j], logits[known, j])
        if value is not None:
            out[m] = value
    return out


def _subset(n: int, k: int | None, seed: int) -> np.ndarray:
    """A seeded subset of k indices out of n (all, in order, when k is None or >= n)."""
    if k is None or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:k])


def _atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


# ---------------------------------------------------------------- checkpoints


@dataclass
class TrainState:
    step: int = 0
    best_metric: float = -math.inf
    best_step: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0  # training time so far, across resumes


def checkpoints(work_dir: Path) -> list[Path]:
    """Finished checkpoints, oldest first."""
    return sorted(p for p in work_dir.glob(f"{CHECKPOINT_PREFIX}*") if (p / STATE_FILE).is_file())


def save_checkpoint(work_dir: Path, model: RedflagsModel, optimizer: Any, scheduler: Any,
                    state: TrainState, cfg_dict: dict[str, Any], keep: int) -> Path:
    """Write a checkpoint folder atomically (temporary folder, then rename) and prune old ones."""
    target = work_dir / f"{CHECKPOINT_PREFIX}{state.step:08d}"
    with atomic_dir(target) as tmp:
        torch.save({
            "model": model.trainable_state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()},
            "state": asdict(state),
            "config": cfg_dict,
        }, tmp / STATE_FILE)
    for old in checkpoints(work_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def _load_trainable(model: RedflagsModel, weights: dict[str, torch.Tensor]) -> None:
    missing, unexpected = model.load_state_dict(weights, strict=False)
    expected = set(model.trainable_state_dict())
    missing = [k for k in missing if k in expected]
    if missing or unexpected:
        raise ResumeError(f"checkpoint weights do not fit the model (missing {missing[:3]}, unexpected {unexpected[:3]})")


def _comparable(cfg_dict: dict[str, Any]) -> dict[str, Any]:
    """The parts of a config that must not change between a run and its resumption."""
    d = {k: v for k, v in cfg_dict.items() if k != "output"}
    d["training"] = {k: v for k, v in d["training"].items() if k not in ("log_every", "num_threads")}
    return d


# ---------------------------------------------------------------- the run


@dataclass
class TrainResult:
    model: RedflagsModel
    tokenizer: Any
    state: TrainState
    out_dir: Path | None
    calibration: calibrate.Calibration | None
    stopped_early: bool = False


def train(
    cfg: RunConfig,
    out_dir: Path | str,
    work_dir: Path | str | None = None,
    resume: bool = False,
    stop_after: int | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
    command: str | None = None,
) -> TrainResult:
    """Run training as configured and write the model directory `out_dir`.

    `work_dir` holds checkpoints, the best weights and the resolved config (default:
    runs/<out_dir name>). `stop_after` stops after that many steps in total, leaving a checkpoint,
    as an interruption would (used by the resume test); the model directory is then not written.
    """
    t_cfg = cfg.training
    out_dir = Path(out_dir)
    work_dir = Path(work_dir) if work_dir is not None else Path("runs") / out_dir.name
    work_dir.mkdir(parents=True, exist_ok=True)
    if t_cfg.num_threads:
        torch.set_num_threads(t_cfg.num_threads)
    cfg_dict = cfg.to_dict()
    save_config(cfg, work_dir / "config.yaml")

    dd = build_dataset(cfg.data)
    set_seed(t_cfg.seed)  # before the model is built: the head and adapters start the same every run
    model, tokenizer = build_model(cfg)
    pad_id = tokenizer.pad_token_id
    markers = tuple(model.config.markers)

    train_idx = _subset(len(dd["train"]), t_cfg.max_train_samples, t_cfg.seed)
    train_ds = dd["train"].select(train_idx)
    if len(train_ds) == 0:
        raise ValueError("the train split is empty: check data.corpora and data.split")
    dev_ds = dd["dev"]
    if cfg.calibration.dev_corpora:  # best step, calibration and thresholds come from these corpora's dev rows
        keep = set(cfg.calibration.dev_corpora)
        dev_ds = dev_ds.select([i for i, c in enumerate(dev_ds["corpus"]) if c in keep])
        if len(dev_ds) == 0:
            raise ValueError(f"calibration.dev_corpora {sorted(keep)} have no dev sentences")
    t0 = time.perf_counter()
    train_enc = encode(train_ds, tokenizer, cfg.model.max_length, markers)
    dev_enc = encode(dev_ds, tokenizer, cfg.model.max_length, markers)
    eval_idx = _subset(len(dev_enc), t_cfg.eval_max_samples, t_cfg.seed)
    eval_enc = Encoded([dev_enc.input_ids[i] for i in eval_idx], dev_enc.labels[eval_idx], [dev_enc.corpus[i] for i in eval_idx])
    log.info("train %d sentences, dev %d (eval on %d); tokenised in %.1fs", len(train_enc), len(dev_enc),
             len(eval_enc), time.perf_counter() - t0)

    weights = sample_weights(train_enc.corpus, {n: s.weight for n, s in cfg.data.corpora.items()})
    lengths = np.array([len(s) for s in train_enc.input_ids])
    steps_per_epoch = math.ceil(len(train_enc) / t_cfg.batch_size)
    total_steps = t_cfg.max_steps or max(1, math.ceil((t_cfg.epochs or 1.0) * steps_per_epoch))
    pos_weight = torch.tensor([t_cfg.pos_weight.get(m, 1.0) for m in markers], dtype=torch.float32)

    head_params = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("head.")]
    decay = [p for n, p in model.named_parameters()
             if p.requires_grad and not n.startswith("head.") and p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters()
                if p.requires_grad and not n.startswith("head.") and p.ndim < 2]
    optimizer = torch.optim.AdamW([
        {"params": decay, "weight_decay": t_cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
        {"params": head_params, "weight_decay": t_cfg.weight_decay, "lr": t_cfg.head_lr or t_cfg.lr},
    ], lr=t_cfg.lr)
    from transformers import get_linear_schedule_with_warmup

    scheduler = get_linear_schedule_with_warmup(optimizer, int(t_cfg.warmup_ratio * total_steps), total_steps)
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("%d trainable parameters; %d steps of %d (%.2f epochs)", n_trainable, total_steps, t_cfg.batch_size,
             total_steps / steps_per_epoch)

    state = TrainState()
    if not resume:
        # A fresh run must not leave an older run's checkpoints behind for a later --resume to pick up.
        stale = checkpoints(work_dir) + ([work_dir / BEST_FILE] if (work_dir / BEST_FILE).exists() else [])
        if stale:
            log.warning("fresh run: removing %d old checkpoint files from %s", len(stale), work_dir)
        for p in stale:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    if resume:
        found = checkpoints(work_dir)
        if not found:
            raise ResumeError(f"--resume: no checkpoint in {work_dir}")
        ckpt = torch.load(found[-1] / STATE_FILE, weights_only=False)
        if _comparable(ckpt["config"]) != _comparable(cfg_dict):
            raise ResumeError(f"--resume: {found[-1]} was made with a different config; resume with the same one")
        _load_trainable(model, ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        np.random.set_state(ckpt["rng"]["numpy"])
        random.setstate(ckpt["rng"]["python"])
        state = TrainState(**ckpt["state"])
        log.info("resumed from %s (step %d of %d)", found[-1], state.step, total_steps)

    model.train()
    order_epoch, order = -1, None
    bar = tqdm(total=total_steps, initial=state.step, desc="train", unit="step", disable=not progress)
    running, t_start = [], time.perf_counter()
    seconds_before = state.seconds
    stopped = False
    while state.step < total_steps:
        if stop_after is not None and state.step >= stop_after:
            stopped = True
            break
        step = state.step
        epoch, b = divmod(step, steps_per_epoch)
        if epoch != order_epoch:
            order = epoch_batches(weights, lengths, t_cfg.seed, epoch, t_cfg.batch_size, t_cfg.length_grouping)
            order_epoch = epoch
        idx = order[b]
        ids, mask, labels = collate(train_enc, idx, pad_id)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=t_cfg.bf16):
            logits = model(ids, mask)
        loss = masked_bce(logits.float(), labels, pos_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if t_cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], t_cfg.grad_clip)
        optimizer.step()
        scheduler.step()
        state.step = step + 1
        state.seconds = seconds_before + time.perf_counter() - t_start
        loss_value = loss.item()
        running.append(loss_value)
        if on_step is not None:
            on_step(state.step, loss_value)
        bar.update(1)
        if state.step % t_cfg.log_every == 0 or state.step == total_steps:
            mean = float(np.mean(running[-t_cfg.log_every:]))
            bar.set_postfix(loss=f"{mean:.4f}")
            log.info("step %d/%d loss %.4f lr %.2e (%.1f sentences/s)", state.step, total_steps, mean,
                     scheduler.get_last_lr()[0], state.step * t_cfg.batch_size / max(state.seconds, 1e-9))
        if state.step % t_cfg.eval_every == 0 or state.step == total_steps:
            _evaluate(model, eval_enc, pad_id, state, work_dir, markers)
        if state.step % t_cfg.checkpoint_every == 0 or state.step == total_steps:
            save_checkpoint(work_dir, model, optimizer, scheduler, state, cfg_dict, t_cfg.keep_checkpoints)
    bar.close()
    if stopped:
        save_checkpoint(work_dir, model, optimizer, scheduler, state, cfg_dict, t_cfg.keep_checkpoints)
        return TrainResult(model, tokenizer, state, None, None, stopped_early=True)

    if state.best_step is not None and (work_dir / BEST_FILE).is_file():
        _load_trainable(model, torch.load(work_dir / BEST_FILE, weights_only=False))
        log.info("using the best step %d (dev macro PR-AUC %.4f)", state.best_step, state.best_metric)
    model.eval()
    # float32, whatever training used: calibration and thresholds are fitted on what the scorer serves.
    dev_logits = predict_logits(model, dev_enc, pad_id)
    cal = calibrate.fit(dev_logits, dev_enc.labels, markers, cfg.calibration.method)
    calibrate.apply_to_model(model, cal)
    model.config.training_config = cfg_dict
    model.config.metrics = {
        "training": {"command": command, "steps": state.step, "best_step": state.best_step, "best_dev_macro_pr_auc": state.best_metric
                     if state.best_step is not None else None, "seconds": round(state.seconds, 1),
                     "train_sentences": len(train_enc), "dev_sentences": len(dev_enc),
                     "sentences_per_second": round(state.step * t_cfg.batch_size / max(state.seconds, 1e-9), 2)},
        "dev_calibrated": cal.report,
    }
    from redflags.training.card import render_card

    model.save_pretrained(out_dir, tokenizer, card=render_card(model.config, None))
    log.info("model written to %s (%.1f min training)", out_dir, state.seconds / 60)
    return TrainResult(model, tokenizer, state, out_dir, cal)


def _evaluate(model: RedflagsModel, enc: Encoded, pad_id: int, state: TrainState, work_dir: Path,
              markers: tuple[str, ...]) -> None:
    """Dev PR-AUC per marker; keeps the best weights (macro mean over markers with both classes)."""
    if len(enc) == 0:
        return
    per_marker = pr_auc_per_marker(predict_logits(model, enc, pad_id), enc.labels, markers)
    if not per_marker:
        return
    macro = float(np.mean(list(per_marker.values())))
    state.history.append({"step": state.step, "dev_macro_pr_auc": macro, **{f"pr_auc/{m}": v for m, v in per_marker.items()}})
    log.info("step %d dev PR-AUC macro %.4f %s", state.step, macro, {m: round(v, 4) for m, v in per_marker.items()})
    if macro > state.best_metric:
        state.best_metric, state.best_step = macro, state.step
        _atomic_torch_save(model.trainable_state_dict(), work_dir / BEST_FILE)
