"""Training through Accelerate: sharding of global batches, loss weights, devices, and real 2-process runs.

The 2-process runs are launched for real (`python -m torch.distributed.run`, i.e. torchrun, two CPU
processes over gloo) on the toy corpora of test_train.py; tests/launch_helper.py is each process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from redflags.markers import MARKERS
from redflags.training import distributed
from redflags.training.batching import Encoded
from redflags.training.train import ResumeError, checkpoints, masked_bce, train
from safetensors.torch import load_file

from tests.launch_helper import without_dropout
from tests.test_dataset import fake_corpora
from tests.test_train import tiny_run_config, toy_records

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- pieces


@pytest.mark.parametrize("n_proc,accum", [(1, 1), (2, 1), (2, 2), (3, 2)])
def test_shards_partition_every_global_batch(n_proc: int, accum: int) -> None:
    from redflags.training.batching import epoch_batches, sample_weights

    w = sample_weights(["a"] * 70 + ["b"] * 30, {"a": 1.0, "b": 2.0})
    lengths = np.arange(100) % 23
    for batch in epoch_batches(w, lengths, seed=4, epoch=0, batch_size=16, group=3):
        parts = [distributed.shard(batch, r, n_proc, accum) for r in range(n_proc)]
        assert all(len(p) == accum for p in parts)
        joined = np.concatenate([m for p in parts for m in p])
        assert np.array_equal(joined, batch)  # every draw once, by one process, in order
        sizes = [len(m) for p in parts for m in p]
        assert max(sizes) - min(sizes) <= 1
    assert [len(m) for m in distributed.shard(np.arange(3), 1, 2, 2)] == [1, 0]  # short last batch: an empty slice


def test_micro_batch_losses_sum_to_the_global_masked_mean() -> None:
    rng = np.random.default_rng(0)
    n, m = 12, len(MARKERS)
    labels = rng.integers(-1, 2, size=(n, m))
    labels[:5, 0] = -1  # uneven known counts across slices
    token_labels = [None if i % 3 == 0 else rng.integers(-1, 2, size=(4, m)).astype(np.int8) for i in range(n)]
    token_techniques = [None if t is None else rng.integers(-1, 3, size=4).astype(np.int16) for t in token_labels]
    enc = Encoded([[1, 2, 3, 4]] * n, labels, ["c"] * n, token_labels, token_techniques)
    logits = torch.randn(n, m)
    batch = np.arange(n)
    whole = distributed.LossScale.of(enc, batch)
    assert whole.labels == int((labels >= 0).sum())
    assert whole.tokens == sum(int((t >= 0).sum()) for t in token_labels if t is not None)
    assert whole.techniques == sum(int((t >= 0).sum()) for t in token_techniques if t is not None)
    target = masked_bce(logits, torch.from_numpy(labels))
    for n_proc, accum in [(2, 1), (2, 2), (3, 1)]:
        total = torch.zeros(())
        for r in range(n_proc):
            for part in distributed.shard(batch, r, n_proc, accum):
                local = distributed.LossScale.of(enc, part)
                total += masked_bce(logits[part], torch.from_numpy(labels[part])) * whole.factor(local, "labels")
        assert torch.isclose(total, target, atol=1e-6), (n_proc, accum)
    assert whole.factor(whole, "labels") == 1.0  # one process, no accumulation: the loss is untouched


def test_device_and_precision_are_checked() -> None:
    assert distributed.resolve_device("cpu", "bf16") == "cpu"
    assert distributed.resolve_device("auto", "no") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(distributed.DeviceError, match="--device must be one of auto, cpu, cuda"):
        distributed.resolve_device("tpu", "no")
    with pytest.raises(distributed.DeviceError, match="fp16 needs a GPU"):
        distributed.resolve_device("cpu", "fp16")
    if not torch.cuda.is_available():
        with pytest.raises(distributed.DeviceError, match="no GPU is visible"):
            distributed.resolve_device("cuda", "no")


def test_train_command_refuses_a_device_it_cannot_have(tmp_path: Path) -> None:
    from redflags.cli.app import app
    from typer.testing import CliRunner

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"data": {"corpora": {"babe": {}}}, "model": {"base_encoder": "tiny"},
                                    "training": {"max_steps": 2, "mixed_precision": "fp16"}}))
    res = CliRunner().invoke(app, ["train", str(path), "--out", str(tmp_path / "m"), "--device", "cpu"])
    assert res.exit_code == 1 and "fp16 needs a GPU" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["train", str(path), "--out", str(tmp_path / "m"), "--device", "gpu"])
    assert res.exit_code == 1 and "--device must be one of auto, cpu, cuda, got 'gpu'" in res.output


@pytest.fixture
def toy_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    hedge, sens = toy_records()
    return fake_corpora(monkeypatch, tmp_path, {"toy_hedge": ("gold", hedge), "toy_sens": ("gold", sens)})


def test_gradient_accumulation_is_the_same_optimisation(tmp_path: Path, toy_data: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Without dropout, 4 micro-batches of 4 per step give the model that batches of 16 give (up to rounding)."""
    import redflags.training.train as train_mod

    with monkeypatch.context() as mp:
        mp.setattr(train_mod, "tiny_config", train_mod.tiny_config)  # restored when the context ends
        without_dropout()
        runs = {}
        for accum in (1, 4):
            cfg = tiny_run_config(tmp_path, toy_data, gradient_accumulation_steps=accum)
            cfg.model.dropout = 0.0
            runs[accum] = train(cfg, tmp_path / f"m{accum}", work_dir=tmp_path / f"w{accum}", progress=False)
    a, b = (load_file(str(tmp_path / f"m{k}" / "model.safetensors")) for k in (1, 4))
    assert max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4
    assert runs[4].model.config.metrics["training"]["gradient_accumulation_steps"] == 4


def _plain_torch_step(model, optimizer, scheduler, enc, idx, pad_id, pos_weight, grad_clip) -> None:  # noqa: ANN001
    """The training step as it was before Accelerate (plain torch, one process), kept here as the reference."""
    from redflags.training.batching import collate

    ids, mask, labels = collate(enc, idx, pad_id)
    loss = masked_bce(model(ids, mask).float(), labels, pos_weight)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], grad_clip)
    optimizer.step()
    scheduler.step()


@pytest.mark.parametrize("lora", [False, True])
def test_one_process_is_the_plain_torch_loop_bit_for_bit(tmp_path: Path, toy_data: Path, lora: bool) -> None:
    """One process through Accelerate trains exactly what the plain loop trained: same weights, to the bit
    (so configs/default.yaml still trains the shipped model)."""
    from redflags.training import train as t

    cfg = tiny_run_config(tmp_path, toy_data, max_steps=6, eval_every=100, checkpoint_every=100)
    cfg.model.lora.enabled = lora
    train(cfg, tmp_path / "m", work_dir=tmp_path / "w", progress=False, device="cpu")
    got = torch.load(checkpoints(tmp_path / "w")[-1] / "state.pt", weights_only=False)["model"]

    t_cfg = cfg.training
    t.set_seed(t_cfg.seed)
    model, tokenizer = t.build_model(cfg)
    train_enc, _, _ = t.prepare_data(cfg, tokenizer, tuple(model.config.markers))
    optimizer, scheduler = t.make_optimizer(model, cfg, 6)
    weights = t.sample_weights(train_enc.corpus, {n: c.weight for n, c in cfg.data.corpora.items()})
    lengths = np.array([len(x) for x in train_enc.input_ids])
    order = t.epoch_batches(weights, lengths, t_cfg.seed, 0, t_cfg.batch_size, t_cfg.length_grouping)
    model.train()
    for step in range(6):
        _plain_torch_step(model, optimizer, scheduler, train_enc, order[step], tokenizer.pad_token_id,
                          torch.ones(len(MARKERS)), t_cfg.grad_clip)
    want = model.trainable_state_dict()
    assert want.keys() == got.keys()
    for k in want:
        assert torch.equal(want[k], got[k]), k


# ---------------------------------------------------------------- real 2-process launches


def _launch(root: Path, spec: dict, name: str) -> subprocess.CompletedProcess:
    spec_path = root / f"{name}.json"
    spec_path.write_text(json.dumps({"root": str(root), **spec}))
    for old in root.glob("writes-rank*.json"):
        old.unlink()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(REPO / "tests" / "launch_helper.py"), str(spec_path)]
    res = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    return res


def _writes(root: Path, rank: int, under: list[Path]) -> list[str]:
    paths = json.loads((root / f"writes-rank{rank}.json").read_text())
    return [p for p in paths if any(p.startswith(str(u.resolve())) for u in under)]


def _config(root: Path, data_dir: Path, dropout: bool) -> Path:
    """The toy run of test_train.tiny_run_config as a YAML file (8 steps of 16, checkpoints every 4)."""
    cfg = {"data": {"data_dir": str(data_dir), "cache_dir": str(root / "cache"),
                    "corpora": {"toy_hedge": {"weight": 1.0}, "toy_sens": {"weight": 1.0}}},
           "model": {"base_encoder": "tiny", "max_length": 32, "lora": {"enabled": False},
                     "dropout": 0.1 if dropout else 0.0},
           "training": {"lr": 3e-3, "batch_size": 16, "max_steps": 8, "eval_every": 4, "checkpoint_every": 4,
                        "log_every": 2, "warmup_ratio": 0.1, "seed": 5, "num_threads": 1}}
    path = root / ("c.yaml" if dropout else "c-no-dropout.yaml")
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder with: a 2-process CLI run without dropout (m2, w2) and its 1-process twin (m1, w1);
    a 2-process run with dropout straight (s2, ws) and stopped at step 4 then resumed (r2, wr)."""
    root = tmp_path_factory.mktemp("two")
    with pytest.MonkeyPatch.context() as mp:
        hedge, sens = toy_records()
        data_dir = fake_corpora(mp, root, {"toy_hedge": ("gold", hedge), "toy_sens": ("gold", sens)})
        plain, with_dropout = _config(root, data_dir, dropout=False), _config(root, data_dir, dropout=True)
        res = _launch(root, {"no_dropout": True, "argv": ["train", str(plain), "--out", str(root / "m2"), "--work-dir",
                                                          str(root / "w2"), "--device", "cpu", "--no-progress"]}, "cli")
        (root / "cli.out").write_text(res.stdout)
        for rank in (0, 1):
            (root / f"cli-writes-rank{rank}.json").write_text((root / f"writes-rank{rank}.json").read_text())
        import redflags.training.train as train_mod
        from redflags.training.config import load_config

        mp.setattr(train_mod, "tiny_config", train_mod.tiny_config)  # restored when the context ends
        without_dropout()
        train(load_config(plain), root / "m1", work_dir=root / "w1", progress=False, device="cpu")
        # The straight run and the interrupted one share a launch; the resumption is a new launch, as after a crash.
        _launch(root, {"train": [{"config": str(with_dropout), "out_dir": str(root / "s2"), "work_dir": str(root / "ws")},
                                 {"config": str(with_dropout), "out_dir": str(root / "r2"), "work_dir": str(root / "wr"),
                                  "stop_after": 4}]}, "straight-and-stop")
        _launch(root, {"train": {"config": str(with_dropout), "out_dir": str(root / "r2"), "work_dir": str(root / "wr"),
                                 "resume": True}}, "resume")
    return root


def test_two_processes_train_the_model_one_process_trains(two_processes: Path) -> None:
    root = two_processes
    one, two = (json.loads((root / m / "config.json").read_text())["redflags"] for m in ("m1", "m2"))
    assert two["metrics"]["training"]["num_processes"] == 2 and one["metrics"]["training"]["num_processes"] == 1
    assert two["metrics"]["training"]["steps"] == 8
    # Same model directory shape as a 1-process run: same files, same config keys.
    assert sorted(p.name for p in (root / "m2").iterdir()) == sorted(p.name for p in (root / "m1").iterdir())
    assert one.keys() == two.keys()
    # Without dropout the two runs differ only by float rounding (slices padded on their own, sums reordered).
    a, b = (load_file(str(root / m / "model.safetensors")) for m in ("m1", "m2"))
    assert a.keys() == b.keys() and max((a[k] - b[k]).abs().max().item() for k in a) < 1e-4
    import redflags
    from redflags.training.dataset import build_dataset
    from redflags.training.config import load_config

    with pytest.MonkeyPatch.context() as mp:
        hedge, sens = toy_records()
        sub = root / "again"
        sub.mkdir(exist_ok=True)
        fake_corpora(mp, sub, {"toy_hedge": ("gold", hedge), "toy_sens": ("gold", sens)})
        dev = list(build_dataset(load_config(root / "c-no-dropout.yaml").data)["dev"]["text"])
    p1, p2 = (redflags.load(root / m).predict_proba(dev) for m in ("m1", "m2"))
    assert len(dev) > 20 and np.abs(p1 - p2).max() < 1e-3


def test_only_the_main_process_writes(two_processes: Path) -> None:
    """Every file or folder created, opened for writing or renamed in the run's folder (model directory,
    checkpoints, best weights, config, dataset cache) comes from the main process."""
    root = two_processes
    main, other = (json.loads((root / f"cli-writes-rank{r}.json").read_text()) for r in (0, 1))
    main, other = ([p for p in w if p.startswith(str(root) + os.sep)] for w in (main, other))
    assert other == [], other[:5]
    assert str(root / "m2") in main and str(root / "w2" / "config.yaml") in main and str(root / "w2" / "best.pt") in main
    assert any(p.startswith(str(root / "w2" / ".step-")) for p in main)
    assert (root / "cli.out").read_text().count("model written to") == 1
    assert len(checkpoints(root / "w2")) == 2


def test_two_process_resume_is_exact_and_another_process_count_is_refused(two_processes: Path) -> None:
    root = two_processes
    a, b = (load_file(str(root / m / "model.safetensors")) for m in ("s2", "r2"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    state = torch.load(checkpoints(root / "wr")[-1] / "state.pt", weights_only=False)
    assert state["num_processes"] == 2 and len(state["rng_per_process"]) == 2
    assert not torch.equal(state["rng_per_process"][0]["torch"], state["rng_per_process"][1]["torch"])
    from redflags.training.config import load_config

    with pytest.MonkeyPatch.context() as mp:
        hedge, sens = toy_records()
        sub = root / "refuse"
        sub.mkdir(exist_ok=True)
        fake_corpora(mp, sub, {"toy_hedge": ("gold", hedge), "toy_sens": ("gold", sens)})
        with pytest.raises(ResumeError, match=r"written by a run of 2 process\(es\) and this run has 1"):
            train(load_config(root / "c.yaml"), root / "r1", work_dir=root / "wr", progress=False, resume=True,
                  device="cpu")
