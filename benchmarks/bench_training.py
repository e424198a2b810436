"""Training speed of 1 process against 2 processes (1 thread each), and how close their models are
(a benchmark, not a test).

    python benchmarks/bench_training.py [--steps 30] [--json benchmarks/last_training_run.json]

Two set-ups, both on configs/tiny.yaml's data (900 records of PolNeAR, BioScope and BABE, read
from the data folder: $REDFLAGS_DATA or ../shared/data):

- tiny: configs/tiny.yaml as it is (the 2-layer test encoder, 40 steps of 16);
- default encoder: the model section of configs/default.yaml (MiniLM-L6, LoRA, token head,
  max_length 96) and its batch of 32, for --steps steps.

Each set-up is trained twice with the same seed and effective batch, one run after the other:
`python -m redflags train ... --device cpu` (1 process) and `python -m torch.distributed.run
--standalone --nproc_per_node 2 -m redflags train ... --device cpu` (2 processes over gloo), each
process with training.num_threads=1. Throughput is the run's own figure (steps x batch / training
seconds, recorded in the model's config.json; evaluation only at the last step, after the clock
stops). Closeness: the largest difference of calibrated probabilities on the dev split between the
two models, and their dev figures. Dropout draws differ between the runs (each process has its own
stream), so the models are close, not equal.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "configs" / "tiny.yaml"


def default_model_overrides(steps: int) -> list[str]:
    """configs/default.yaml's model section and batch size, as --set overrides of tiny.yaml."""
    import yaml

    default = yaml.safe_load((REPO / "configs" / "default.yaml").read_text())
    model, training = default["model"], default["training"]
    sets = [f"model.{k}={json.dumps(v)}" for k, v in model.items() if k != "lora"]
    sets += [f"model.lora.{k}={json.dumps(v)}" for k, v in model["lora"].items()]
    sets += [f"training.batch_size={training['batch_size']}", f"training.lr={training['lr']}",
             f"training.head_lr={training['head_lr']}", f"training.max_steps={steps}"]
    return sets


def run(name: str, processes: int, sets: list[str], work: Path) -> dict[str, Any]:
    """One training run as a new process (or two); returns its recorded training figures."""
    out, wd = work / f"{name}-{processes}p", work / f"{name}-{processes}p-work"
    args = ["-m", "redflags", "train", str(TINY), "--out", str(out), "--work-dir", str(wd), "--device", "cpu",
            "--no-progress", "--set", "training.num_threads=1", "--set", "training.eval_every=100000",
            "--set", "training.checkpoint_every=100000"]
    for s in sets:
        args += ["--set", s]
    if processes > 1:
        args = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)] + args
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, *args], cwd=work, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"{name}, {processes} process(es) failed:\n{res.stderr[-4000:]}")
    training = json.loads((out / "config.json").read_text())["redflags"]["metrics"]["training"]
    return {"model": out, "wall_s": round(time.perf_counter() - t0, 1), **training}


def dev_comparison(one: Path, two: Path) -> dict[str, Any]:
    """Largest calibrated-probability difference on the dev split, and both models' dev figures."""
    import numpy as np
    import redflags
    from redflags.markers import MARKERS
    from redflags.training.config import load_config
    from redflags.training.dataset import build_dataset

    dev = build_dataset(load_config(TINY).data)["dev"]
    texts = list(dev["text"])
    p1, p2 = (redflags.load(m).predict_proba(texts) for m in (one, two))
    diff = np.abs(p1 - p2)
    figures = {}
    for name, m in (("1 process", one), ("2 processes", two)):
        cal = json.loads((m / "config.json").read_text())["redflags"]["metrics"]["dev_calibrated"]
        figures[name] = {k: {f: cal[k].get(f) for f in ("f1", "pr_auc")} for k in MARKERS if k in cal}
    flags1 = np.stack([p1[:, j] >= redflags.load(one).thresholds[m] for j, m in enumerate(MARKERS)], 1)
    flags2 = np.stack([p2[:, j] >= redflags.load(two).thresholds[m] for j, m in enumerate(MARKERS)], 1)
    return {"dev_sentences": len(texts), "largest_probability_difference": float(diff.max()),
            "largest_per_marker": {m: float(diff[:, j].max()) for j, m in enumerate(MARKERS)},
            "mean_probability_difference": float(diff.mean()), "flags_changed": int((flags1 != flags2).sum()),
            "dev_figures": figures}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=30, help="steps of the default-encoder set-up")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    a = ap.parse_args()
    json_path = a.json.resolve() if a.json else None  # before the chdir below
    setups = {"tiny": [], "default encoder": default_model_overrides(a.steps)}
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                          "load_average_before": os.getloadavg()}, "setups": {}}
    with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
        work = Path(tmp)
        os.chdir(work)  # the dataset cache (data.cache_dir, relative) is built once, here
        for name, sets in setups.items():
            runs = {n: run(name.replace(" ", "-"), n, sets, work) for n in (1, 2)}
            entry: dict[str, Any] = {"set": sets}
            for n, r in runs.items():
                entry[f"{n} process(es)"] = {k: r[k] for k in ("steps", "seconds", "sentences_per_second", "wall_s",
                                                                "num_processes")}
            entry["speed-up"] = runs[2]["sentences_per_second"] / runs[1]["sentences_per_second"]
            entry["dev"] = dev_comparison(runs[1]["model"], runs[2]["model"])
            result["setups"][name] = entry
            print(f"{name}: {runs[1]['sentences_per_second']:.1f} sentences/s with 1 process, "
                  f"{runs[2]['sentences_per_second']:.1f} with 2 (x{entry['speed-up']:.2f}); largest dev probability "
                  f"difference {entry['dev']['largest_probability_difference']:.4f} over "
                  f"{entry['dev']['dev_sentences']} sentences, {entry['dev']['flags_changed']} flags changed",
                  flush=True)
    result["machine"]["load_average_after"] = os.getloadavg()
    text = json.dumps(result, indent=1)
    print(text)
    if json_path:
        json_path.write_text(text + "\n")


if __name__ == "__main__":
    main()
