"""Keep the resident memory of scoring near what is live, on glibc (Linux).

Measured (benchmarks/bench_scoring.py, a 5 MB article): scoring held about 750 MB more than the
model itself, and `malloc_trim` gave back nearly all of it at once, so it was freed memory that
glibc kept, not live objects. The encoder's activations are a few MB to tens of MB per batch, and
their sizes change with every length-sorted batch; glibc raises its mmap threshold after the first
such buffer is freed, so later ones come from the heap, where freed blocks of the wrong size pile
up. A fixed threshold of 1 MB sends every large buffer to mmap, which returns it to the system when
it is freed.

It is a trade, so it is opt-in: `REDFLAGS_MALLOC_TUNING=1` in the environment. Measured on this
project's machine with benchmarks/bench_memory.py (2,482 sentences of 60 news articles, 1 thread,
two rounds each): peak RSS 503 MB instead of 722 MB, but 66 instead of 83 sentences/s, because every large buffer is
then a fresh mapping whose pages the kernel zeroes again (a 4 MB threshold: 620 MB at 64 sentences/s).
For the 5 MB article: 622 MB peak instead of 1,160 MB. It changes a process-wide allocator setting,
once, when a model is loaded (`redflags.load`), and only where the C library is glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1  # mallopt parameters (glibc malloc.h)
_M_MMAP_THRESHOLD = -3
THRESHOLD = 1 << 20  # bytes: buffers this large are mmapped and unmapped when freed

_done = False


def tune_allocator() -> bool:
    """With REDFLAGS_MALLOC_TUNING=1: fix glibc's mmap and trim thresholds (once per process).
    False where not asked for or not glibc."""
    global _done
    if _done:
        return True
    if os.environ.get("REDFLAGS_MALLOC_TUNING", "0") != "1":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl without mallopt)
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, THRESHOLD) == 1
    _done = ok
    log.debug("glibc mmap/trim thresholds fixed at %d bytes: %s", THRESHOLD, ok)
    return ok
