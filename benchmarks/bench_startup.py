"""Where the start-up time of `redflags` goes: `python -X importtime` tables and the heavy modules loaded.

    python benchmarks/bench_startup.py [--top 15] [--reps 3] [--json FILE]

Prints JSON with:
- `importtime`: for `import redflags.cli.app` (what every command imports) and for a whole
  `redflags score seeds/` run (the CLI's lazy imports up to and during scoring included): the total
  import time (the sum of every module's self time), the self time summed per package (--top of
  them; additive, redflags split by subpackage) and the cumulative time (with everything it imports)
  of named modules (torch, numpy, rich.console, typer, tokenizers, pysbd, safetensors, redflags
  modules) where each is imported; medians of --reps new processes;
- `heavy_modules`: which of the heavy modules (training, eval, Ray, pandas, pyarrow, matplotlib,
  transformers, sklearn, scipy, torch._dynamo, fastapi, uvicorn) are in `sys.modules` at the end of
  `redflags --help` and of `redflags score seeds/`;
- `reference_s`: wall time of new processes `python -c pass` and `python -c "import torch"`, so that
  figures from a loaded machine can be read as ratios.

`-X importtime` adds its own overhead (a few %); its totals are import time only (no model load,
no scoring). Benchmark, not a test: absolute times depend on the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
NAMED = ("torch", "numpy", "rich.console", "typer", "click", "tokenizers", "pysbd", "safetensors.torch", "redflags",
         "redflags.cli.app", "redflags.cli.table", "redflags.scoring.report", "redflags.scoring.scorer",
         "redflags.core.probability", "redflags.core.modeling", "redflags.core.bert", "redflags.core.loading",
         "redflags.scoring.segment", "redflags.scoring.evidence")
HEAVY = ("redflags.training", "redflags.eval", "ray", "pandas", "pyarrow", "matplotlib", "transformers",
         "sklearn", "scipy", "torch._dynamo", "fastapi", "uvicorn")


def parse_importtime(stderr: str) -> list[tuple[str, int, int, int]]:
    """`-X importtime` lines as (module, depth, self us, cumulative us), in the order printed."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cum_us, name = line[len("import time:"):].split("|", 2)
        depth = (len(name) - len(name.lstrip(" "))) // 2  # two spaces per level, after one leading space
        rows.append((name.strip(), depth, int(self_us), int(cum_us)))
    return rows


def importtime_run(argv: list[str]) -> list[tuple[str, int, int, int]]:
    """One new process under `-X importtime`; its import rows."""
    out = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{argv}: exit {out.returncode}: {out.stderr[-1000:]}")
    return parse_importtime(out.stderr)


def package_of(module: str) -> str:
    """The group a module's time is added to: its top-level package (redflags: its first two parts)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "redflags" else parts[0]


def importtime_table(argv: list[str], reps: int, top: int) -> dict[str, Any]:
    """Median over `reps` processes: the total, self time summed per package (additive: the packages
    sum to the total) and the cumulative time of the named modules where each is imported."""
    runs = [importtime_run(argv) for _ in range(reps)]
    by_package: dict[str, list[float]] = {}
    named: dict[str, list[float]] = {}
    totals = []
    for i, rows in enumerate(runs):
        totals.append(sum(r[2] for r in rows) / 1000)
        per_run: dict[str, float] = {}
        for name, _, self_us, cum in rows:
            per_run[package_of(name)] = per_run.get(package_of(name), 0.0) + self_us / 1000
            if name in NAMED and len(named.get(name, [])) == i:  # its first row in this run
                named.setdefault(name, []).append(cum / 1000)
        for k, v in per_run.items():
            by_package.setdefault(k, []).append(v)
    total = statistics.median(totals)
    med = sorted(((k, statistics.median(v + [0.0] * (reps - len(v)))) for k, v in by_package.items()), key=lambda kv: -kv[1])
    return {"total_import_ms": round(total), "modules_imported": statistics.median(len(r) for r in runs),
            "self_ms_by_package": [{"package": k, "ms": round(v), "share": round(v / total, 3)} for k, v in med[:top]],
            "other_packages_ms": round(sum(v for _, v in med[top:])),
            "cumulative_ms_where_imported": {k: round(statistics.median(v)) for k, v in
                                             sorted(named.items(), key=lambda kv: -statistics.median(kv[1]))}}


_PROBE = """import json, sys
from redflags.cli.app import main
sys.argv = ["redflags", *{args!r}]
try:
    main()
except SystemExit:
    pass
heavy = {heavy!r}
print(json.dumps({{m: any(k == m or k.startswith(m + '.') for k in sys.modules) for m in heavy}}), file=sys.__stderr__)
"""


def heavy_modules(args: list[str]) -> dict[str, bool]:
    """Which heavy modules a `redflags ARGS` run has imported by its end (True = imported)."""
    code = _PROBE.format(args=args, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    return json.loads(out.stderr.strip().splitlines()[-1])


def wall(argv: list[str], reps: int) -> float:
    """Median wall time (s) of `reps` new processes."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    cli = str(Path(sys.executable).with_name("redflags"))
    with tempfile.TemporaryDirectory() as tmp:
        score_args = ["score", str(SEEDS), "--format", "jsonl", "--out", str(Path(tmp) / "out.jsonl")]
        result: dict[str, Any] = {
            "load_average_before": [round(x, 1) for x in os.getloadavg()],
            "importtime": {
                "import redflags.cli.app": importtime_table(["-c", "import redflags.cli.app"], args.reps, args.top),
                "redflags score seeds/": importtime_table([cli, *score_args], args.reps, args.top),
            },
            "heavy_modules": {"redflags --help": heavy_modules(["--help"]),
                              "redflags score seeds/": heavy_modules(score_args)},
            "reference_s": {"python -c pass": wall([sys.executable, "-c", "pass"], args.reps),
                            "python -c 'import torch'": wall([sys.executable, "-c", "import torch"], args.reps),
                            "python -c 'import redflags.cli.app'": wall([sys.executable, "-c", "import redflags.cli.app"], args.reps),
                            "redflags --help": wall([cli, "--help"], args.reps),
                            "redflags score seeds/": wall([cli, *score_args], args.reps)},
            "load_average_after": [round(x, 1) for x in os.getloadavg()],
        }
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
