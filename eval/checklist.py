"""Behaviour suite (CheckList-style): hand-written cases a model should get right, reported per marker and kind.

The cases are in `checklist.yaml` beside this module (written for the codebook, never taken from a
corpus). Three kinds, after Ribeiro et al. (2020):

- **mft** (minimum functionality): one sentence and the expected flag for one marker;
- **inv** (invariance): swapping a name, place or number leaves every marker's flag unchanged;
- **dir** (direction): an edit must raise (`up`) or lower (`down`) one marker's probability.

This is a report, not a target: models are never tuned to it. `run_checks` scores every case with a
scorer's `predict_proba` and flags at its stored thresholds.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import yaml
from redflags.atomic import write_text
from redflags.markers import MARKERS, STYLE_NOT_TRUTH

CASES = Path(__file__).resolve().parent / "checklist.yaml"
KINDS = ("mft", "inv", "dir")


class CheckSuiteError(ValueError):
    """The case file is malformed; the message names the file and the case."""


class Scorer(Protocol):
    markers: Sequence[str]
    thresholds: dict[str, float]

    def predict_proba(self, sentences: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    marker: str  # one marker, or "all" (invariance over every marker)
    edge_case: str
    text: str
    variant: str | None = None
    expect: Any = None  # mft: 0/1; dir: "up"/"down"; inv: None


def load_cases(path: Path | None = None) -> list[Case]:
    """The cases of a suite file, each checked; CheckSuiteError names the file and the case."""
    path = path if path is not None else CASES
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CheckSuiteError(f"{path}: cannot read the behaviour cases: {exc}") from None
    if not isinstance(raw, list):
        raise CheckSuiteError(f"{path}: expected a list of cases")
    cases, seen = [], set()
    for i, item in enumerate(raw):
        where = f"{path}: case {i + 1} ({item.get('id') if isinstance(item, dict) else item!r})"
        if not isinstance(item, dict):
            raise CheckSuiteError(f"{where}: not a mapping")
        try:
            case = Case(**item)
        except TypeError as exc:
            raise CheckSuiteError(f"{where}: {exc}") from None
        if case.id in seen:
            raise CheckSuiteError(f"{where}: id used twice")
        seen.add(case.id)
        if case.kind not in KINDS:
            raise CheckSuiteError(f"{where}: kind must be one of {', '.join(KINDS)}")
        if case.marker not in (*MARKERS, "all") or (case.marker == "all") != (case.kind == "inv"):
            raise CheckSuiteError(f"{where}: marker must be one of {', '.join(MARKERS)} ('all' for inv cases only)")
        if not isinstance(case.text, str) or not case.text.strip():
            raise CheckSuiteError(f"{where}: text must be a non-empty string")
        if case.kind == "mft" and case.expect not in (0, 1):
            raise CheckSuiteError(f"{where}: an mft case expects 0 or 1")
        if case.kind in ("inv", "dir") and not (isinstance(case.variant, str) and case.variant.strip()):
            raise CheckSuiteError(f"{where}: an {case.kind} case needs a variant text")
        if case.kind == "dir" and case.expect not in ("up", "down"):
            raise CheckSuiteError(f"{where}: a dir case expects up or down")
        cases.append(case)
    return cases


def _passed(case: Case, p: np.ndarray, pv: np.ndarray | None, markers: Sequence[str], thr: np.ndarray) -> bool:
    if case.kind == "mft":
        j = list(markers).index(case.marker)
        return bool(p[j] >= thr[j]) == bool(case.expect)
    if case.kind == "inv":
        return bool(((p >= thr) == (pv >= thr)).all())
    j = list(markers).index(case.marker)
    return bool(pv[j] > p[j]) if case.expect == "up" else bool(pv[j] < p[j])


def run_checks(scorer: Scorer, cases: Sequence[Case]) -> dict[str, Any]:
    """Pass rates per kind, per marker and kind, and per edge case, with every case's outcome."""
    markers = list(scorer.markers)
    thr = np.array([scorer.thresholds[m] for m in markers])
    cases = [c for c in cases if c.marker == "all" or c.marker in markers]  # a model may score other markers
    texts = [c.text for c in cases] + [c.variant for c in cases if c.variant is not None and c.kind != "mft"]
    probs = scorer.predict_proba(texts)
    base = probs[: len(cases)]
    variants = iter(probs[len(cases):])
    outcomes = []
    for case, p in zip(cases, base):
        pv = next(variants) if case.variant is not None and case.kind != "mft" else None
        outcomes.append({"id": case.id, "kind": case.kind, "marker": case.marker, "edge_case": case.edge_case,
                         "passed": _passed(case, p, pv, markers, thr), "expect": case.expect,
                         "scores": dict(zip(markers, map(float, p))),
                         "variant_scores": dict(zip(markers, map(float, pv))) if pv is not None else None})
    return {"n": len(cases), "thresholds": dict(zip(markers, map(float, thr))),
            "by_kind": _rates(outcomes, lambda o: o["kind"]),
            "by_marker_kind": _rates(outcomes, lambda o: f"{o['marker']} / {o['kind']}"),
            "by_edge_case": _rates(outcomes, lambda o: f"{o['marker']} / {o['kind']} / {o['edge_case']}"),
            "overall": _rates(outcomes, lambda o: "all")["all"], "cases": outcomes}


def _rates(outcomes: list[dict[str, Any]], key: Any) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[bool]] = defaultdict(list)
    for o in outcomes:
        groups[key(o)].append(o["passed"])
    return {k: {"n": len(v), "passed": sum(v), "rate": sum(v) / len(v)} for k, v in sorted(groups.items())}


def render(result: dict[str, Any], model: str) -> str:
    """The report as Markdown."""
    lines = [f"# Behaviour suite: {model}", "", f"> {STYLE_NOT_TRUTH}", "",
             f"{result['n']} hand-written cases (eval/checklist.yaml); flags at the model's thresholds "
             f"{', '.join(f'{m} {t:.3f}' for m, t in result['thresholds'].items())}. A report, not a target.", "",
             f"Overall: {result['overall']['passed']}/{result['overall']['n']} ({result['overall']['rate']:.0%})", "",
             "| marker / kind | passed | rate |", "|---|---|---|"]
    lines += [f"| {k} | {v['passed']}/{v['n']} | {v['rate']:.0%} |" for k, v in result["by_marker_kind"].items()]
    lines += ["", "| marker / kind / edge case | passed | rate |", "|---|---|---|"]
    lines += [f"| {k} | {v['passed']}/{v['n']} | {v['rate']:.0%} |" for k, v in result["by_edge_case"].items()]
    failed = [o["id"] for o in result["cases"] if not o["passed"]]
    lines += ["", f"Failed cases: {', '.join(failed) if failed else 'none'}", ""]
    return "\n".join(lines)


def write_checks(result: dict[str, Any], out_dir: Path, model: str) -> Path:
    """checks.json and checks.md in `out_dir` (each written atomically)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "checks.json", json.dumps({"model": model, **result}, indent=2) + "\n")
    return write_text(out_dir / "checks.md", render(result, model))
