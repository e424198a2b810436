"""Which precision the scorer computes in: float32, or bfloat16 where it is both fast and checked.

bfloat16 autocast (matrix products in bf16, norms and softmax in float32) is fast only on hardware
with native bf16 matrix units: on a CPU, AMX or AVX512-BF16; elsewhere the CPU emulates it, slower
than float32. It is also only safe for a model whose parity check passed: the check (`redflags
parity`, parity.py) scores the model's test split both ways and records, in the model directory,
how far the probabilities move and how many flags change. `dtype="auto"` therefore picks bf16 only
when both hold, and float32 otherwise.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

log = logging.getLogger(__name__)

DTYPES = ("auto", "float32", "bfloat16")
_CPUINFO = Path("/proc/cpuinfo")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 matrices natively (AMX or AVX512-BF16), detected at run time."""
    try:
        import torch

        if torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported():
            return True
    except (AttributeError, RuntimeError):  # older torch: read the CPU flags instead
        pass
    try:
        flags = _CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    words = set(flags.split())
    return bool({"amx_bf16", "avx512_bf16"} & words)


def parity_passed(parity: Mapping[str, Any] | None) -> bool:
    """Whether a model's recorded bf16 parity check passed (False when none was recorded)."""
    return bool((parity or {}).get("bfloat16", {}).get("passed"))


def resolve_dtype(dtype: str, device: str, parity: Mapping[str, Any] | None,
                  native_bf16: bool | None = None) -> str:
    """The precision to compute in, "float32" or "bfloat16", for a requested `dtype` (see the module doc).

    `native_bf16` overrides the hardware check (tests simulate CPUs with it).
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if dtype != "auto":
        return dtype
    if native_bf16 is None:
        if str(device).startswith("cuda"):
            import torch

            native_bf16 = torch.cuda.is_bf16_supported()
        else:
            native_bf16 = cpu_has_native_bf16()
    if not native_bf16:
        log.info("dtype auto: float32 (no native bf16 matrix support on %s)", device)
        return "float32"
    if not parity_passed(parity):
        log.info("dtype auto: float32 (the model records no passed bf16 parity check; run `redflags parity`)")
        return "float32"
    return "bfloat16"
