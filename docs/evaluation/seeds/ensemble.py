"""PR-AUC per marker of two models' predictions and of their probability average (a 2-model ensemble).

    python docs/evaluation/seeds/ensemble.py A/predictions.jsonl B/predictions.jsonl

A and B are `redflags evaluate` (or `redflags seeds`) output folders' predictions of the same data.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from redflags.markers import MARKERS
from redflags.training.metrics import pr_auc


def read(path: str) -> dict[str, dict]:
    with open(path, encoding="utf-8") as f:
        return {row["id"]: row for row in map(json.loads, f)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    args = parser.parse_args()
    a, b = read(args.a), read(args.b)
    if set(a) != set(b):
        raise SystemExit("the two files do not hold the same sentences")
    ids = sorted(a)
    systems = {
        "A": lambda i, m: a[i]["proba"]["model"][m],
        "B": lambda i, m: b[i]["proba"]["model"][m],
        "mean of A and B": lambda i, m: (a[i]["proba"]["model"][m] + b[i]["proba"]["model"][m]) / 2,
    }
    print("| system | " + " | ".join(MARKERS) + " | macro |")
    print("|---|" + "---|" * (len(MARKERS) + 1))
    for name, proba in systems.items():
        scores = []
        for m in MARKERS:
            known = [i for i in ids if a[i]["labels"].get(m) is not None]
            y = np.array([a[i]["labels"][m] for i in known])
            scores.append(pr_auc(y, np.array([proba(i, m) for i in known])))
        print(f"| {name} | " + " | ".join(f"{s:.3f}" for s in scores) + f" | {np.mean(scores):.3f} |")


if __name__ == "__main__":
    main()
