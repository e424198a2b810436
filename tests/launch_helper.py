"""One process of a real multi-process launch in the tests (tests/test_distributed.py).

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/launch_helper.py SPEC.json

SPEC (JSON): "root" (the test's folder; the toy corpora's data folder is ROOT/data), "argv" (the
`redflags` command line to run, e.g. ["train", "c.yaml", ...]) or "train" (keyword arguments of
redflags.training.train.train: config path, out_dir, work_dir, resume, stop_after; or a list of
them, run in turn), and "no_dropout".

Each process registers the toy corpora of tests/test_train.py (a launched process cannot see the
test's monkeypatched registry) and records, through an audit hook, every file or folder it
creates, opens for writing or renames, in ROOT/writes-rank<RANK>.json when it exits.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_WRITES: list[str] = []
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND


def _audit(event: str, args: tuple) -> None:
    if event == "open":
        path, mode, flags = args
        writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (mode is None and flags & _WRITE_FLAGS)
        if writing and isinstance(path, (str, os.PathLike)):
            _WRITES.append(os.path.abspath(path))
    elif event in ("os.mkdir", "os.rename", "os.replace"):
        _WRITES.append(os.path.abspath(args[1] if event != "os.mkdir" else args[0]))


def register_toy_corpora() -> None:
    from redflags.markers import MARKERS
    from redflags.training.corpora import CORPORA, CorpusInfo

    from tests.test_train import toy_records

    for name, records in zip(("toy_hedge", "toy_sens"), toy_records()):
        def load(folder, skips, _records=records):  # noqa: ANN001
            yield from _records

        informs = tuple(m for m in MARKERS if any(r.labels[m] is not None for r in records))
        CORPORA[name] = CorpusInfo(name, informs, "gold", "test-licence", (), load)


def without_dropout() -> None:
    """The tiny encoder with its dropout off: then one and two processes must compute the same steps."""
    import redflags.training.train as train_mod

    tiny = train_mod.tiny_config

    def tiny_no_dropout(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        mc = tiny(*args, **kwargs)
        mc.encoder_config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        return mc

    train_mod.tiny_config = tiny_no_dropout


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    root, rank = Path(spec["root"]), os.environ.get("RANK", "0")

    def dump() -> None:
        writes = list(_WRITES)  # copied first: writing this file is itself audited
        Path(root / f"writes-rank{rank}.json").write_text(json.dumps(writes))

    atexit.register(dump)
    sys.addaudithook(_audit)
    register_toy_corpora()
    if spec.get("no_dropout"):
        without_dropout()
    if "argv" in spec:
        from redflags.cli.app import app

        app(spec["argv"], prog_name="redflags")
    else:
        from redflags.training.config import load_config
        from redflags.training.train import train

        jobs = spec["train"] if isinstance(spec["train"], list) else [spec["train"]]
        for job in jobs:  # one after the other in the same processes (and process group)
            kw = dict(job)
            train(load_config(kw.pop("config")), progress=False, device="cpu", **kw)


if __name__ == "__main__":
    main()
