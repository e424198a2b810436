"""Multi-label fine-tuning: config -> dataset -> model -> checkpoints -> calibration -> model directory.

- Loss: binary cross-entropy on logits, masked where a label is unknown (-1), so a corpus that
  says nothing about a marker neither helps nor hurts it; per-marker pos_weight from the config.
  With a token head (model.token_head), the same masked BCE on each token's evidence targets and a
  cross-entropy on the technique of sensational-framing words are added, from the same encoder pass
  (training/spans.py says which corpora teach which marker's words).
- Sampling (batching.py): each training step draws a batch with replacement where a corpus's share
  of the draws is proportional to its configured weight, seeded by (seed, epoch) so the order can
  be rebuilt exactly on resume; draws are grouped by length within runs of batches, then shuffled.
- AdamW with linear warm-up and decay; optional bf16 or fp16 (GPU) autocast for the training steps
  (evaluation and calibration always run the scorer's float32 inference path); gradient clipping.
- Devices and processes through Hugging Face Accelerate (distributed.py): the same loop on the CPU,
  a GPU, or several processes launched by `torchrun` / `accelerate launch` (data parallel). Each
  process takes its slice of every global batch; `batch_size` stays the effective batch.
- Checkpoints (checkpoints.py) every N steps hold the trainable weights, optimizer, scheduler, RNG states and the
  training state; `resume=True` continues from the newest one and ends with the same model as an
  uninterrupted run. The best step by dev macro PR-AUC is kept and becomes the final model.
- After training: calibration and thresholds fitted on dev (calibrate.py), model directory saved.
  Only the main process writes (checkpoints, best weights, config, model directory) and logs progress.
"""
# Size: over 400 lines because the training loop, its evaluation and the final calibration share the run state.

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from redflags.core import inference
from redflags.training import metrics
from redflags.core.loading import load_for_scoring
from redflags.markers import MARKERS, TECHNIQUES
from redflags.core.model_dir import HEAD_PREFIXES
from redflags.core.modeling import (
    ModelConfig,
    RedflagsModel,
    load_base_tokenizer,
    tiny_config,
)
from redflags.training import calibrate
from redflags.training import checkpoints as ckpt
from redflags.training import distributed
from redflags.training.batching import (  # noqa: F401  (re-exported: the training API in one place)
    Encoded,
    collate,
    collate_tokens,
    encode,
    epoch_batches,
    epoch_order,
    sample_weights,
    subset_indices,
)
from redflags.training.card import render_card
from redflags.training.checkpoints import ResumeError, TrainState, checkpoints  # noqa: F401  (re-exported)
from redflags.training.config import RunConfig, model_settings, save_config
from redflags.training.dataset import build_dataset
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- pieces


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_model(cfg: RunConfig) -> tuple[RedflagsModel, Any]:
    """A fresh model for training (seeded by the caller) and its tokenizer."""
    settings = model_settings(cfg.model)
    base = settings.pop("base_encoder")
    if settings["token_head"]:
        settings["techniques"] = list(TECHNIQUES)  # span thresholds start at 0.5 (fitted on dev after training)
    if base == "tiny":
        mc = dataclasses.replace(tiny_config(max_length=settings["max_length"]), **settings)
        tokenizer = load_base_tokenizer()
    else:
        mc = ModelConfig(base_encoder=base, **settings)
        tokenizer = load_base_tokenizer(base)
    model = RedflagsModel.from_base(mc)
    model.tokenizer = tokenizer
    return model, tokenizer


def masked_bce(logits: torch.Tensor, labels: torch.Tensor, pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean BCE-with-logits over the known labels only (labels: 1, 0, -1 unknown)."""
    known = (labels >= 0).to(logits.dtype)
    target = labels.clamp(min=0).to(logits.dtype)
    loss = F.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight, reduction="none")
    return (loss * known).sum() / known.sum().clamp(min=1.0)


def token_loss(token_logits: torch.Tensor, token_labels: torch.Tensor, technique_logits: torch.Tensor | None,
               techniques: torch.Tensor, pos_weight: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked BCE of the token head over known token targets, cross-entropy of the technique head over
    tokens of spans with a named technique); each 0 when nothing is known."""
    span = masked_bce(token_logits.reshape(-1, token_labels.shape[-1]), token_labels.reshape(-1, token_labels.shape[-1]),
                      pos_weight)
    if technique_logits is None or not bool((techniques >= 0).any()):
        return span, token_logits.new_zeros(())
    tech = F.cross_entropy(technique_logits.reshape(-1, technique_logits.shape[-1]), techniques.reshape(-1),
                           ignore_index=-1)
    return span, tech


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


def prepare_data(cfg: RunConfig, tokenizer: Any, markers: tuple[str, ...]) -> tuple[Encoded, Encoded, Encoded]:
    """(train, dev, the dev subset scored during training), tokenised."""
    t_cfg = cfg.training
    dd = build_dataset(cfg.data)
    train_ds = dd["train"].select(subset_indices(len(dd["train"]), t_cfg.max_train_samples, t_cfg.seed))
    if len(train_ds) == 0:
        raise ValueError("the train split is empty: check data.corpora and data.split")
    dev_ds = dd["dev"]
    if cfg.calibration.dev_corpora:  # best step, calibration and thresholds come from these corpora's dev rows
        keep = set(cfg.calibration.dev_corpora)
        dev_ds = dev_ds.select([i for i, c in enumerate(dev_ds["corpus"]) if c in keep])
        if len(dev_ds) == 0:
            raise ValueError(f"calibration.dev_corpora {sorted(keep)} have no dev sentences")
    t0 = time.perf_counter()
    spans = cfg.model.token_head
    train_enc = encode(train_ds, tokenizer, cfg.model.max_length, markers, spans=spans)
    dev_enc = encode(dev_ds, tokenizer, cfg.model.max_length, markers, spans=spans)
    eval_enc = dev_enc.subset(subset_indices(len(dev_enc), t_cfg.eval_max_samples, t_cfg.seed))
    log.info("train %d sentences, dev %d (eval on %d); tokenised in %.1fs", len(train_enc), len(dev_enc),
             len(eval_enc), time.perf_counter() - t0)
    return train_enc, dev_enc, eval_enc


def make_optimizer(model: RedflagsModel, cfg: RunConfig, total_steps: int) -> tuple[Any, Any]:
    """AdamW (no decay on biases and norms; the head at its own learning rate) and a linear warm-up schedule."""
    t_cfg = cfg.training
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    head = [p for n, p in named if n.startswith(HEAD_PREFIXES)]
    decay = [p for n, p in named if not n.startswith(HEAD_PREFIXES) and p.ndim >= 2]
    no_decay = [p for n, p in named if not n.startswith(HEAD_PREFIXES) and p.ndim < 2]
    optimizer = torch.optim.AdamW([
        {"params": decay, "weight_decay": t_cfg.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
        {"params": head, "weight_decay": t_cfg.weight_decay, "lr": t_cfg.head_lr or t_cfg.lr},
    ], lr=t_cfg.lr)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(t_cfg.warmup_ratio * total_steps), total_steps)
    return optimizer, scheduler


# ---------------------------------------------------------------- the run


@dataclass
class TrainResult:
    model: RedflagsModel
    tokenizer: Any
    state: TrainState
    out_dir: Path | None
    calibration: calibrate.Calibration | None
    stopped_early: bool = False
    num_processes: int = 1


@dataclass
class _Loop:
    """What the step loop needs, built once per run."""

    model: RedflagsModel  # the model itself (evaluated, checkpointed, saved)
    wrapped: Any  # what Accelerate made of it for training (DistributedDataParallel with several processes)
    accelerator: Any
    optimizer: Any
    scheduler: Any
    train_enc: Encoded
    eval_enc: Encoded
    weights: torch.Tensor
    lengths: np.ndarray
    pos_weight: torch.Tensor
    pad_id: int
    steps_per_epoch: int
    total_steps: int


def train(
    cfg: RunConfig,
    out_dir: Path | str,
    work_dir: Path | str | None = None,
    resume: bool = False,
    stop_after: int | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
    command: str | None = None,
    device: str = "auto",
) -> TrainResult:
    """Run training as configured and write the model directory `out_dir`.

    `work_dir` holds checkpoints, the best weights and the resolved config (default:
    runs/<out_dir name>). `stop_after` stops after that many steps in total, leaving a checkpoint,
    as an interruption would (used by the resume test); the model directory is then not written.
    `device`: auto (the GPU when there is one), cpu or cuda. Launched by `torchrun` or
    `accelerate launch` with several processes, each runs this function; only the main one writes.
    """
    # Length: over 60 lines: the steps of a run (data, model, loop, best step, calibration, save) in order.
    t_cfg = cfg.training
    out_dir = Path(out_dir)
    work_dir = Path(work_dir) if work_dir is not None else Path("runs") / out_dir.name
    accelerator = distributed.make_accelerator(device, t_cfg.precision)
    main, n_proc = accelerator.is_main_process, accelerator.num_processes
    if t_cfg.batch_size < n_proc * t_cfg.gradient_accumulation_steps:
        raise ValueError(f"training.batch_size {t_cfg.batch_size} is smaller than {n_proc} processes x "
                         f"{t_cfg.gradient_accumulation_steps} accumulation steps: some would get no sentence")
    if t_cfg.num_threads:
        torch.set_num_threads(t_cfg.num_threads)
    cfg_dict = cfg.to_dict()
    if main:
        work_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, work_dir / "config.yaml")

    set_seed(t_cfg.seed)  # before the model is built: the head and adapters start the same every run
    model, tokenizer = build_model(cfg)
    markers = tuple(model.config.markers)
    with accelerator.main_process_first():  # the main process builds the dataset cache, the others read it
        train_enc, dev_enc, eval_enc = prepare_data(cfg, tokenizer, markers)
    steps_per_epoch = math.ceil(len(train_enc) / t_cfg.batch_size)
    total_steps = t_cfg.max_steps or max(1, math.ceil((t_cfg.epochs or 1.0) * steps_per_epoch))
    optimizer, scheduler = make_optimizer(model, cfg, total_steps)
    # The scheduler is stepped by hand, once per optimizer step: Accelerate's wrapper would step it
    # once per process, for a batch that grows with the processes, which batch_size here does not.
    wrapped, optimizer = accelerator.prepare(model, optimizer)
    accelerator.unwrap_model(wrapped, keep_fp32_wrapper=False)  # autocast is ours (training steps only)
    if accelerator.process_index:  # other dropout draws in each process (rank 0 keeps the 1-process stream)
        torch.manual_seed(t_cfg.seed + accelerator.process_index)
    log.info("%d trainable parameters; %d steps of %d (%.2f epochs) on %s, %d process(es) x %d micro-batches, "
             "precision %s", sum(p.numel() for p in model.parameters() if p.requires_grad), total_steps,
             t_cfg.batch_size, total_steps / steps_per_epoch, accelerator.device, n_proc,
             t_cfg.gradient_accumulation_steps, t_cfg.precision)
    loop = _Loop(model, wrapped, accelerator, optimizer, scheduler, train_enc, eval_enc,
                 sample_weights(train_enc.corpus, {n: s.weight for n, s in cfg.data.corpora.items()}),
                 np.array([len(s) for s in train_enc.input_ids]),
                 torch.tensor([t_cfg.pos_weight.get(m, 1.0) for m in markers], dtype=torch.float32,
                              device=accelerator.device),
                 tokenizer.pad_token_id, steps_per_epoch, total_steps)

    if resume:
        state = ckpt.resume(work_dir, model, optimizer, scheduler, cfg_dict, accelerator.process_index, n_proc,
                            accelerator.scaler)
    else:
        state = TrainState()
        if main:
            ckpt.clear_stale(work_dir)
    accelerator.wait_for_everyone()
    stopped = _run_steps(loop, cfg, cfg_dict, state, work_dir, stop_after, progress and main, on_step)
    if stopped:
        _checkpoint(loop, state, cfg_dict, work_dir, t_cfg.keep_checkpoints)
        return TrainResult(model, tokenizer, state, None, None, stopped_early=True, num_processes=n_proc)
    cal = None
    if main:
        cal = _calibrate_and_save(model, tokenizer, cfg, cfg_dict, state, train_enc, dev_enc, work_dir, out_dir,
                                  command, {"num_processes": n_proc, "device": accelerator.device.type})
    # No barrier here: the other processes are done, and one waiting through a long calibration could
    # time out (NCCL) and take the main process down with it mid-write.
    return TrainResult(model, tokenizer, state, out_dir if main else None, cal, num_processes=n_proc)


def _checkpoint(loop: _Loop, state: TrainState, cfg_dict: dict[str, Any], work_dir: Path, keep: int) -> None:
    """Every process sends its RNG states; the main process writes the checkpoint; all wait for it."""
    from accelerate.utils import gather_object

    acc = loop.accelerator
    rngs = gather_object([ckpt.rng_state()])
    if acc.is_main_process:
        ckpt.save_checkpoint(work_dir, loop.model, loop.optimizer, loop.scheduler, state, cfg_dict, keep, rngs,
                             acc.scaler)
    acc.wait_for_everyone()


def _run_steps(loop: _Loop, cfg: RunConfig, cfg_dict: dict[str, Any], state: TrainState, work_dir: Path,
               stop_after: int | None, progress: bool, on_step: Callable[[int, float], None] | None) -> bool:
    """The optimisation steps, with logging, dev evaluation and checkpoints; True when stopped early."""
    t_cfg, model = cfg.training, loop.model
    model.train()
    order_epoch, order = -1, None
    bar = tqdm(total=loop.total_steps, initial=state.step, desc="train", unit="step", disable=not progress)
    running, t_start, seconds_before = [], time.perf_counter(), state.seconds
    try:
        while state.step < loop.total_steps:
            if stop_after is not None and state.step >= stop_after:
                return True
            epoch, b = divmod(state.step, loop.steps_per_epoch)
            if epoch != order_epoch:
                order = epoch_batches(loop.weights, loop.lengths, t_cfg.seed, epoch, t_cfg.batch_size, t_cfg.length_grouping)
                order_epoch = epoch
            loss = _step(loop, order[b], t_cfg)
            state.step += 1
            state.seconds = seconds_before + time.perf_counter() - t_start
            running.append(loss)
            if on_step is not None and loop.accelerator.is_main_process:
                on_step(state.step, loss)
            bar.update(1)
            if loop.accelerator.is_main_process and (state.step % t_cfg.log_every == 0
                                                     or state.step == loop.total_steps):
                mean = float(np.mean(running[-t_cfg.log_every:]))
                bar.set_postfix(loss=f"{mean:.4f}")
                log.info("step %d/%d loss %.4f lr %.2e (%.1f sentences/s)", state.step, loop.total_steps, mean,
                         loop.scheduler.get_last_lr()[0], state.step * t_cfg.batch_size / max(state.seconds, 1e-9))
            if state.step % t_cfg.eval_every == 0 or state.step == loop.total_steps:
                if loop.accelerator.is_main_process:  # the best step is the main process's business
                    _evaluate(model, loop.eval_enc, loop.pad_id, state, work_dir, tuple(model.config.markers),
                              loop.accelerator.device)
                loop.accelerator.wait_for_everyone()
            if state.step % t_cfg.checkpoint_every == 0 or state.step == loop.total_steps:
                _checkpoint(loop, state, cfg_dict, work_dir, t_cfg.keep_checkpoints)
    finally:
        bar.close()
    return False


def _scaled(loss: torch.Tensor, factor: float) -> torch.Tensor:
    return loss if factor == 1.0 else loss * factor  # 1.0: the graph of the 1-process loop, bit for bit


def _step(loop: _Loop, batch: np.ndarray, t_cfg: Any) -> float:
    """One optimizer step on one global batch (this process's micro-batches of it); returns the batch's loss.

    Each micro-batch's loss is weighted so that, summed over micro-batches and processes, the
    gradient is the one of the global batch's masked mean (distributed.LossScale). Gradients are
    exchanged once, on the last micro-batch (no_sync before it)."""
    acc = loop.accelerator
    parts = distributed.shard(batch, acc.process_index, acc.num_processes, t_cfg.gradient_accumulation_steps)
    whole = distributed.LossScale.of(loop.train_enc, batch)
    loop.optimizer.zero_grad(set_to_none=True)
    total = torch.zeros((), device=acc.device)
    for k, part in enumerate(parts):
        weight = float(acc.num_processes)  # DDP averages the processes' gradients: undo it, the loss is a sum
        if len(part) == 0:  # a short last batch: every process must still take part in the gradient exchange
            part, weight = batch[:1], 0.0
        exchange = k == len(parts) - 1
        with contextlib.nullcontext() if exchange else acc.no_sync(loop.wrapped):
            loss = _micro_loss(loop, part, whole, t_cfg)
            acc.backward(_scaled(loss, weight))
        if weight:
            total += loss.detach()
    if t_cfg.grad_clip:
        acc.clip_grad_norm_([p for p in loop.model.parameters() if p.requires_grad], t_cfg.grad_clip)
    loop.optimizer.step()
    if not getattr(loop.optimizer, "step_was_skipped", False):  # fp16: a step skipped for overflow keeps its lr
        loop.scheduler.step()
    if acc.num_processes > 1:
        total = acc.reduce(total, reduction="sum")
    return total.item()


def _micro_loss(loop: _Loop, part: np.ndarray, whole: distributed.LossScale, t_cfg: Any) -> torch.Tensor:
    """Masked losses of one micro-batch, each weighted by its share of the global batch's known targets."""
    acc = loop.accelerator
    ids, mask, labels = collate(loop.train_enc, part, loop.pad_id)
    targets = collate_tokens(loop.train_enc, part, ids.shape[1]) if loop.model.token_head is not None else None
    ids, mask, labels = ids.to(acc.device), mask.to(acc.device), labels.to(acc.device)
    with distributed.autocast(acc, t_cfg.precision):
        if targets is None:
            logits = loop.wrapped(ids, mask)
        else:
            logits, tok, tech = loop.wrapped(ids, mask, tokens=True)
    local = distributed.LossScale.of(loop.train_enc, part)
    loss = _scaled(masked_bce(logits.float(), labels, loop.pos_weight), whole.factor(local, "labels"))
    if targets is not None:
        tok_labels, techniques = targets[0].to(acc.device), targets[1].to(acc.device)
        span, technique = token_loss(tok.float(), tok_labels, None if tech is None else tech.float(), techniques,
                                     loop.pos_weight)
        loss = (loss + _scaled(t_cfg.span_loss_weight * span, whole.factor(local, "tokens"))
                + _scaled(t_cfg.technique_loss_weight * technique, whole.factor(local, "techniques")))
    return loss


def _calibrate_and_save(model: RedflagsModel, tokenizer: Any, cfg: RunConfig, cfg_dict: dict[str, Any],
                        state: TrainState, train_enc: Encoded, dev_enc: Encoded, work_dir: Path, out_dir: Path,
                        command: str | None, run: dict[str, Any]) -> calibrate.Calibration:
    """Best step's weights -> calibration and thresholds on dev -> the model directory with its card."""
    t_cfg = cfg.training
    model.to("cpu")  # calibration runs the served path, on the CPU, whatever device trained
    if state.best_step is not None and ckpt.load_best(work_dir, model):
        log.info("using the best step %d (dev macro PR-AUC %.4f)", state.best_step, state.best_metric)
    model.eval()
    # Calibrate the very model that will be served: this directory as redflags.load() reads it
    # (loading.py: plain-torch encoder, adapters folded in), in float32 whatever training used.
    staging = work_dir / "uncalibrated"
    model.save_pretrained(staging, tokenizer)
    served, _ = load_for_scoring(staging)
    out = inference.predict_outputs(served, dev_enc.input_ids, tokenizer.pad_token_id, 64,
                                    tokens=served.token_head is not None)
    cal = calibrate.fit(out.logits, dev_enc.labels, tuple(model.config.markers), cfg.calibration.method)
    calibrate.apply_to_model(model, cal)
    span_report = None
    if out.token_logits is not None and dev_enc.token_labels is not None:
        model.config.span_thresholds, span_report = calibrate.fit_span_thresholds(
            out.token_logits, dev_enc.token_labels, tuple(model.config.markers))
    model.config.training_config = cfg_dict
    model.config.metrics = {
        "training": {"command": command, "steps": state.step, "best_step": state.best_step,
                     "best_dev_macro_pr_auc": state.best_metric if state.best_step is not None else None,
                     "seconds": round(state.seconds, 1), "train_sentences": len(train_enc),
                     "dev_sentences": len(dev_enc),
                     "sentences_per_second": round(state.step * t_cfg.batch_size / max(state.seconds, 1e-9), 2),
                     **run, "gradient_accumulation_steps": t_cfg.gradient_accumulation_steps,
                     "mixed_precision": t_cfg.precision},
        "dev_calibrated": cal.report,
    }
    if span_report is not None:
        model.config.metrics["dev_span_thresholds"] = span_report
    model.save_pretrained(out_dir, tokenizer, card=render_card(model.config, None))
    log.info("model written to %s (%.1f min training)", out_dir, state.seconds / 60)
    return cal


def _evaluate(model: RedflagsModel, enc: Encoded, pad_id: int, state: TrainState, work_dir: Path,
              markers: tuple[str, ...], device: Any = "cpu") -> None:
    """Dev PR-AUC per marker; keeps the best weights (macro mean over markers with both classes)."""
    if len(enc) == 0:
        return
    logits = inference.predict_logits(model, enc.input_ids, pad_id, 64, device=device)
    per_marker = pr_auc_per_marker(logits, enc.labels, markers)
    if not per_marker:
        return
    macro = float(np.mean(list(per_marker.values())))
    state.history.append({"step": state.step, "dev_macro_pr_auc": macro, **{f"pr_auc/{m}": v for m, v in per_marker.items()}})
    log.info("step %d dev PR-AUC macro %.4f %s", state.step, macro, {m: round(v, 4) for m, v in per_marker.items()})
    if macro > state.best_metric:
        state.best_metric, state.best_step = macro, state.step
        ckpt.save_best(work_dir, model)
