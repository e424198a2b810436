"""Scoring gives the memory it frees back to the system (model/core/memory.py): the heap trim after each batch."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from tests.conftest import make_tiny_model

# Freed 100 KB blocks (glibc's heap, below its mmap threshold) between small live ones: the pattern of
# scoring's activation buffers, which glibc keeps resident until trimmed.
FRAGMENT = """
import json
from redflags.core.memory import release
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 >> 20
keep, big = [], []
for i in range(2000):
    big.append(bytearray(100_000))
    keep.append(bytearray(1_000))
del big
held = rss()
print(json.dumps({"held": held, "released": release(), "after": rss()}))
"""


def _fragment(trim: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "REDFLAGS_MALLOC_TRIM"}
    if trim is not None:
        env["REDFLAGS_MALLOC_TRIM"] = trim
    out = subprocess.run([sys.executable, "-c", FRAGMENT], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_release_gives_freed_heap_pages_back_by_default() -> None:
    on = _fragment(None)
    assert on["released"] is True
    assert on["held"] - on["after"] > 100, on  # ~190 MB of freed blocks were resident until the trim


@pytest.mark.skipif(platform.system() != "Linux", reason="reads /proc")
def test_release_is_off_with_the_variable() -> None:
    off = _fragment("0")
    assert off["released"] is False
    assert off["held"] - off["after"] < 20, off


class _Counting:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return True


def test_each_cpu_batch_releases_the_last_ones_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from redflags.core import inference

    counter = _Counting()
    monkeypatch.setattr(inference, "release", counter)
    model = make_tiny_model()
    ids = [[101] + [2000 + i] * (1 + i % 7) + [102] for i in range(10)]
    out = inference.predict_outputs(model, ids, pad_id=0, batch_size=3, tokens=True)
    assert counter.calls == 4  # ceil(10 / 3) batches
    assert out.logits.shape == (10, len(model.config.markers))
    counter.calls = 0
    inference.predict_outputs(model, [], pad_id=0, batch_size=3)
    assert counter.calls == 0
