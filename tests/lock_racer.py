"""One of several processes racing for score-corpus's output lock (tests/test_corpus_hostile.py).

Its own module, importing only the lock: a spawned process imports this, not the test module with torch.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEAD_PID = 2**31 - 2  # beyond any pid_max: no such process


def race(out: str, trials: int, start: Any, held: Any, released: Any, results: Any) -> None:
    """Enter the lock of `out` at the same moment as the other processes, `trials` times; put (got, doubled)."""
    from redflags.corpus.engine import OutputConflictError, _Lock

    holder_mark = Path(out) / "holder"
    got, doubled = 0, 0
    for trial in range(trials):
        start.wait(timeout=60)
        try:
            with _Lock(Path(out)):
                got += 1
                try:  # a second holder at the same time finds the mark
                    os.close(os.open(holder_mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
                except FileExistsError:
                    doubled += 1
                held.wait(timeout=60)  # every process has tried while this one holds the lock
                holder_mark.unlink(missing_ok=True)
        except OutputConflictError:
            held.wait(timeout=60)
        released.wait(timeout=60)
        if trial % 2 == 0:  # every other trial starts from a lock left by a killed run (a pid that no longer runs)
            try:
                fd = os.open(Path(out) / ".lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                os.write(fd, f"{DEAD_PID}\n".encode())
                os.close(fd)
            except FileExistsError:
                pass
        released.wait(timeout=60)
    results.put((got, doubled))
