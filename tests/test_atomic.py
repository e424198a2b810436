"""Atomic writes leave either the old or the new content, and ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from redflags.atomic import atomic_dir, write_text


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_write_text_replaces_and_uses_umask_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    write_text(target, "one")
    write_text(target, "two")
    assert target.read_text() == "two"
    umask = os.umask(0)
    os.umask(umask)
    assert _mode(target) == 0o666 & ~umask
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_failed_directory_write_keeps_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(target) as tmp:
            (tmp / "a").write_text("new")
            raise RuntimeError("interrupted")
    assert (target / "a").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    umask = os.umask(0)
    os.umask(umask)
    assert _mode(target) == 0o777 & ~umask


def test_private_files_in_a_directory_write_get_ordinary_permissions(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "weights").write_bytes(b"x")
        os.chmod(tmp / "weights", 0o600)  # as safetensors writes them
    umask = os.umask(0)
    os.umask(umask)
    assert _mode(target / "weights") == 0o666 & ~umask
