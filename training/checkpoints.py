"""Checkpoints of a training run: atomic folders that a resumed run continues from exactly.

A checkpoint holds the trainable weights, optimizer, scheduler (and fp16 loss scaler), the RNG
states of every process, the training state, the run config and the number of processes; `resume`
refuses one made with another config or another number of processes (each process's dropout
stream is part of the exact state, and cannot be re-divided). Only the main process writes; the
others send it their RNG states. The best weights by dev PR-AUC are kept beside them (best.pt).
"""

from __future__ import annotations

import logging
import math
import random
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from redflags.atomic import atomic_dir, atomic_path
from redflags.core.modeling import RedflagsModel
from redflags.training.config import ConfigError, from_dict

log = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "step-"
STATE_FILE = "state.pt"
BEST_FILE = "best.pt"


class ResumeError(RuntimeError):
    """A checkpoint cannot be resumed (missing, or made with a different config)."""


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


def rng_state() -> dict[str, Any]:
    """This process's random states (torch, CUDA when present, numpy, python)."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save_checkpoint(work_dir: Path, model: RedflagsModel, optimizer: Any, scheduler: Any,
                    state: TrainState, cfg_dict: dict[str, Any], keep: int,
                    rng_per_process: list[dict[str, Any]] | None = None, scaler: Any = None) -> Path:
    """Write a checkpoint folder atomically (temporary folder, then rename) and prune old ones.

    `rng_per_process`: the RNG states of every process, in process order (default: this process only)."""
    rngs = rng_per_process or [rng_state()]
    target = work_dir / f"{CHECKPOINT_PREFIX}{state.step:08d}"
    with atomic_dir(target) as tmp:
        torch.save({
            "model": model.trainable_state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": None if scaler is None else scaler.state_dict(),
            "rng": rngs[0],
            "rng_per_process": rngs,
            "num_processes": len(rngs),
            "state": asdict(state),
            "config": cfg_dict,
        }, tmp / STATE_FILE)
    for old in checkpoints(work_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return target


def save_best(work_dir: Path, model: RedflagsModel) -> None:
    with atomic_path(work_dir / BEST_FILE) as tmp:
        torch.save(model.trainable_state_dict(), tmp)


def load_trainable(model: RedflagsModel, weights: dict[str, torch.Tensor]) -> None:
    missing, unexpected = model.load_state_dict(weights, strict=False)
    expected = set(model.trainable_state_dict())
    missing = [k for k in missing if k in expected]
    if missing or unexpected:
        raise ResumeError(f"checkpoint weights do not fit the model (missing {missing[:3]}, unexpected {unexpected[:3]})")


def load_best(work_dir: Path, model: RedflagsModel) -> bool:
    """Load the best weights of the run into `model`; False when there are none."""
    if not (work_dir / BEST_FILE).is_file():
        return False
    load_trainable(model, torch.load(work_dir / BEST_FILE, map_location="cpu", weights_only=False))
    return True


def comparable(cfg_dict: dict[str, Any]) -> dict[str, Any]:
    """The parts of a config that must not change between a run and its resumption."""
    d = {k: v for k, v in cfg_dict.items() if k != "output"}
    d["training"] = {k: v for k, v in d["training"].items() if k not in ("log_every", "num_threads")}
    return d


def clear_stale(work_dir: Path) -> None:
    """A fresh run must not leave an older run's checkpoints behind for a later --resume to pick up."""
    stale = checkpoints(work_dir) + ([work_dir / BEST_FILE] if (work_dir / BEST_FILE).exists() else [])
    if stale:
        log.warning("fresh run: removing %d old checkpoint files from %s", len(stale), work_dir)
    for p in stale:
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def resume(work_dir: Path, model: RedflagsModel, optimizer: Any, scheduler: Any, cfg_dict: dict[str, Any],
           process_index: int = 0, num_processes: int = 1, scaler: Any = None) -> TrainState:
    """Restore weights, optimizer, scheduler and this process's RNG states from the newest checkpoint."""
    found = checkpoints(work_dir)
    if not found:
        raise ResumeError(f"--resume: no checkpoint in {work_dir}")
    ckpt = torch.load(found[-1] / STATE_FILE, map_location="cpu", weights_only=False)
    written_by = ckpt.get("num_processes", 1)  # checkpoints from before Accelerate: one process
    if written_by != num_processes:
        raise ResumeError(f"--resume: {found[-1]} was written by a run of {written_by} process(es) and this run has "
                          f"{num_processes}; resume it with {written_by} (each process's random stream is part of "
                          f"the exact state)")
    try:  # re-parsed, so that keys added to the config since the checkpoint take their defaults
        stored = from_dict(ckpt["config"]).to_dict()
    except ConfigError as e:
        raise ResumeError(f"--resume: the config stored in {found[-1]} no longer parses ({e})") from None
    if comparable(stored) != comparable(cfg_dict):
        raise ResumeError(f"--resume: {found[-1]} was made with a different config; resume with the same one")
    load_trainable(model, ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    if scaler is not None and ckpt.get("scaler") is not None:
        scaler.load_state_dict(ckpt["scaler"])
    set_rng_state(ckpt.get("rng_per_process", [ckpt["rng"]])[process_index])
    state = TrainState(**ckpt["state"])
    log.info("resumed from %s (step %d)", found[-1], state.step)
    return state
