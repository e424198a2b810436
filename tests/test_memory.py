"""The allocator setting that keeps scoring's resident memory near what is live (model/memory.py)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CODE = "from redflags.memory import tune_allocator; print(tune_allocator(), tune_allocator())"


def _run(env_extra: dict[str, str]) -> str:
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_thresholds_are_fixed_once_on_glibc_when_asked() -> None:
    assert _run({"REDFLAGS_MALLOC_TUNING": "1"}).split() == ["True", "True"]


def test_off_by_default() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDFLAGS_MALLOC_TUNING"}
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
