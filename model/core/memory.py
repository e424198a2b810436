"""Keep the resident memory of scoring near what is live, on glibc (Linux).

Scoring's memory beyond the model is not live objects but freed activation buffers that glibc keeps.
The encoder's activations are a few MB to tens of MB per batch and their sizes change with every
length-sorted batch; glibc serves them from its heap (its adaptive mmap threshold rises after the
first one is freed), where freed blocks of the wrong size pile up between small live objects and
are never given back. A 5 MB article peaked at 1,164 MB that way; with the trim below, at 592 MB.

`release()` runs before every CPU batch (inference.py), so after the last batch and after
tokenising, and hands the freed pages back with `malloc_trim(0)`. Within a batch, each layer's
buffers reuse the previous layer's freed blocks, so only a batch's first layer touches fresh pages:
the cost is a few page faults per batch, not per buffer. (Fixing the mmap threshold instead, as an
earlier version did, made every large buffer a fresh mapping and scoring about 20% slower.)
Measured with benchmarks/bench_memory.py; figures in the README. `REDFLAGS_MALLOC_TRIM=0` turns
it off; elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Any, Callable, Optional

_UNSET: Any = object()
_trim: Optional[Callable[[int], int]] = _UNSET


def _resolve() -> Optional[Callable[[int], int]]:
    """glibc's malloc_trim, or None where it is off or absent (read once per process)."""
    if os.environ.get("REDFLAGS_MALLOC_TRIM", "1") == "0":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc: macOS, Windows, musl
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release() -> bool:
    """Give the heap's freed pages back to the system (glibc `malloc_trim(0)`); False where off or not glibc."""
    global _trim
    if _trim is _UNSET:
        _trim = _resolve()
    if _trim is None:
        return False
    _trim(0)
    return True

