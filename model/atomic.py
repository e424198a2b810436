"""Atomic writes: build a file or folder under a temporary name beside its target, then rename it.

Readers never see half a report, model or checkpoint, and an interrupted write leaves the old
version in place. The temporary files get ordinary permissions (as `open` would give), not the
0600/0700 that `tempfile` uses. Temporary names carry the writer's process id
(`.NAME.<pid>-XXXX.tmp`, `.NAME.tmp-<pid>-XXXX`, `.NAME.old-<pid>`); what a killed writer left is
removed by the next write to the same place, once no process with that id is running. Nothing
that does not match these names is ever touched.

`PidLock` is an exclusive lock file that holds its holder's pid, written the same way: a temporary
file with the pid, hard-linked into place (the link fails when the lock exists).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale(path: Path) -> list[Path]:
    """Remove the temporary files and folders that writers killed mid-write left beside `path`."""
    name = re.escape(path.name)
    pattern = re.compile(rf"\.{name}\.(?:(\d+)-[^/]*\.tmp|tmp-(\d+)-.*|old-(\d+))")
    removed = []
    try:
        siblings = list(path.parent.iterdir())
    except OSError:
        return removed
    for p in siblings:
        m = pattern.fullmatch(p.name)
        if not m:
            continue
        pid = int(next(g for g in m.groups() if g is not None))
        if pid == os.getpid() or pid_alive(pid):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(p)
    return removed


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary file path beside `path`; when the block succeeds it is renamed onto `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path | str, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


@contextlib.contextmanager
def atomic_dir(path: Path | str) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; when the block succeeds it replaces `path`.

    An existing folder at `path` is moved aside first and deleted only after the new one is in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.tmp-{os.getpid()}-"))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        for f in tmp.rglob("*"):  # some writers (safetensors) create private 0600 files
            if f.is_file():
                os.chmod(f, 0o666 & ~_umask())
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class LockHeldError(RuntimeError):
    """The lock is held by a running process (`pid`)."""

    def __init__(self, path: Path, pid: int) -> None:
        super().__init__(f"{path}: held by the running process {pid}" if pid else f"{path}: cannot take the lock")
        self.path = path
        self.pid = pid


@contextlib.contextmanager
def _serialised(folder: Path) -> Iterator[None]:
    """Hold an exclusive flock on `folder` (released when the process dies): taking a lock and breaking a
    stale one happen one process at a time. Where flock is missing (Windows, some network file systems)
    the link below still keeps two takers apart; only breaking a stale lock is then unguarded."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # (closing releases the flock)


class PidLock:
    """An exclusive lock file that holds its holder's pid, e.g. `with PidLock(out / ".lock"): ...`.

    The pid is written to a temporary file first and then hard-linked to the lock's name: the link
    fails if the lock exists, and a reader never sees a lock without its pid. A lock whose pid no
    longer runs (a killed holder) is broken; one whose pid runs raises LockHeldError.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def holder(self) -> int:
        """The pid in the lock file; 0 when there is none or it cannot be read."""
        try:
            return int(self.path.read_text(encoding="ascii").strip() or 0)
        except (OSError, ValueError, UnicodeDecodeError):
            return 0

    def acquire(self) -> None:
        remove_stale(self.path)  # pid files of takers killed before they linked
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.{os.getpid()}-", suffix=".tmp")
        tmp = Path(name)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(f"{os.getpid()}\n")
            os.chmod(tmp, 0o666 & ~_umask())
            with _serialised(self.path.parent):
                for _ in range(2):
                    try:
                        os.link(tmp, self.path)
                        return
                    except FileExistsError:
                        pid = self.holder()
                        if pid and pid != os.getpid() and pid_alive(pid):
                            raise LockHeldError(self.path, pid) from None
                        self.path.unlink(missing_ok=True)  # left by a killed holder
                raise LockHeldError(self.path, self.holder())
        finally:
            tmp.unlink(missing_ok=True)

    def release(self) -> None:
        with _serialised(self.path.parent):
            if self.holder() == os.getpid():
                self.path.unlink(missing_ok=True)

    def __enter__(self) -> "PidLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
