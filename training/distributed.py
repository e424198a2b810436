"""Devices, mixed precision and processes for training, through Hugging Face Accelerate.

The project writes no device or distributed code of its own: Accelerate picks the device, forms
the process group (gloo on CPU, NCCL on GPUs) when the run is launched by `torchrun` or
`accelerate launch`, wraps the model for data parallelism and scales fp16 losses. What is ours is
how a step's batch is shared out, so that the run means the same whatever the number of processes:

- `training.batch_size` is the effective batch of one optimizer step. Every process rebuilds the
  same global batch order (batching.epoch_batches, a pure function of seed and epoch) and takes
  its own slice of each global batch (`shard`); with gradient accumulation the slice is cut again
  into micro-batches. Every draw of an epoch is seen once, by one process.
- The loss of a micro-batch is its sum over known labels divided by the known labels of the whole
  global batch (`LossScale`), so the summed gradient is the gradient of the global batch's mean,
  as one process would compute it. With one process and no accumulation the scale is exactly 1.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("no", "bf16", "fp16")


class DeviceError(ValueError):
    """A device or precision that this machine cannot give (the message says why, in one line)."""


def resolve_device(device: str, mixed_precision: str) -> str:
    """'cpu' or 'cuda' for a requested device ('auto' picks the GPU when there is one); checks the precision."""
    if device not in DEVICES:
        raise DeviceError(f"--device must be one of {', '.join(DEVICES)}, got {device!r}")
    if mixed_precision not in PRECISIONS:
        raise DeviceError(f"training.mixed_precision must be one of {', '.join(PRECISIONS)}, got {mixed_precision!r}")
    has_gpu = torch.cuda.is_available()
    if device == "cuda" and not has_gpu:
        raise DeviceError("--device cuda: no GPU is visible to torch (torch.cuda.is_available() is False)")
    resolved = "cuda" if device == "cuda" or (device == "auto" and has_gpu) else "cpu"
    if mixed_precision == "fp16" and resolved != "cuda":
        raise DeviceError("training.mixed_precision fp16 needs a GPU; on the CPU use bf16 or no")
    return resolved


def make_accelerator(device: str, mixed_precision: str) -> Any:
    """An Accelerator for this process: the device, the process group when launched for several, fp16 scaling.

    Accelerate keeps one state per process and refuses a second Accelerator with other settings; a
    single-process caller (tests, notebooks) may train several times, so that state is reset first.
    A launched multi-process run is never reset (that would drop its process group).
    """
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from accelerate.state import AcceleratorState, GradientState, PartialState

    resolved = resolve_device(device, mixed_precision)
    if PartialState._shared_state and PartialState().num_processes == 1:
        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
    # find_unused_parameters: the token head runs only for batches with span targets, so on a
    # given step one process may use it and another not.
    return Accelerator(cpu=resolved == "cpu", mixed_precision=mixed_precision,
                       kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])


def autocast(accelerator: Any, mixed_precision: str) -> Any:
    """The autocast context of a training forward pass (disabled for 'no')."""
    dtype = torch.float16 if mixed_precision == "fp16" else torch.bfloat16
    return torch.autocast(accelerator.device.type, dtype=dtype, enabled=mixed_precision != "no")


def shard(batch: np.ndarray, rank: int, num_processes: int, accumulation: int) -> list[np.ndarray]:
    """This process's micro-batches of one global batch: contiguous slices, process-major.

    The slices of all processes and micro-batches partition `batch` in order. A slice can be empty
    when the batch has fewer draws than processes x accumulation (the last batch of an epoch).
    """
    parts = np.array_split(np.asarray(batch), num_processes * accumulation)
    return parts[rank * accumulation : (rank + 1) * accumulation]


@dataclass
class LossScale:
    """How many known targets the whole global batch has, per loss term (the denominators of its means)."""

    labels: int
    tokens: int = 0
    techniques: int = 0

    @classmethod
    def of(cls, enc: Any, idx: np.ndarray) -> "LossScale":
        """Counts over the draws `idx` (every process computes the same from the same global batch)."""
        labels = int((enc.labels[idx] >= 0).sum())
        tokens = techniques = 0
        if enc.token_labels is not None:
            for i in idx:
                lab = enc.token_labels[i]
                if lab is not None:
                    tokens += int((lab >= 0).sum())
                    techniques += int((enc.token_techniques[i] >= 0).sum())
        return cls(labels, tokens, techniques)

    def factor(self, part: "LossScale", term: str) -> float:
        """Weight of a micro-batch's mean loss so that micro-batches sum to the global mean: local / global count."""
        whole, local = getattr(self, term), getattr(part, term)
        return 1.0 if local == whole else local / max(whole, 1)
