"""PR-AUC per marker of model A and of the weight-space average ("soup") of models A and B.

    python docs/evaluation/seeds/soup.py A_DIR B_DIR PREDICTIONS.jsonl

Both model directories are loaded for scoring (LoRA adapters folded into the encoder's weights), every
weight that differs is averaged, and the sentences of PREDICTIONS.jsonl (a `redflags evaluate` output
of the data to score) are scored by A and by the soup. PR-AUC only: the soup keeps A's calibration,
which is monotonic per marker, so the ranking is the soup's own.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import redflags
import torch
from redflags.markers import MARKERS
from redflags.training.metrics import pr_auc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("predictions")
    args = parser.parse_args()
    with open(args.predictions, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    texts = [row["text"] for row in rows]
    a, b = redflags.load(args.a), redflags.load(args.b)

    def line(name: str, scorer: redflags.Scorer) -> str:
        probs = scorer.predict_proba(texts, batch_size=64)
        scores = []
        for j, m in enumerate(MARKERS):
            known = [i for i, row in enumerate(rows) if row["labels"].get(m) is not None]
            scores.append(pr_auc(np.array([rows[i]["labels"][m] for i in known]), probs[known, j]))
        return f"| {name} | " + " | ".join(f"{s:.3f}" for s in scores) + f" | {np.mean(scores):.3f} |"

    print("| system | " + " | ".join(MARKERS) + " | macro |")
    print("|---|" + "---|" * (len(MARKERS) + 1))
    print(line("A", a))
    sa, sb = a.model.state_dict(), b.model.state_dict()
    with torch.no_grad():
        a.model.load_state_dict({k: (sa[k] + sb[k]) / 2 if not torch.equal(sa[k], sb[k]) else sa[k] for k in sa})
    print(line("soup of A and B", a))


if __name__ == "__main__":
    main()
