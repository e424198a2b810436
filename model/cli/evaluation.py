"""Typer command functions of the evaluation: evaluate, cross-corpus, compare, seeds, check.

Heavy imports (sklearn, matplotlib, datasets, torch) happen inside the commands so that
`redflags score` does not pay for them. `register(app)` adds them to the CLI.
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path
from typing import Callable, List, Optional, TypeVar

import typer
from redflags.cli.messages import fail, need_extra

log = logging.getLogger(__name__)

T = TypeVar("T")

DATA_HELP = ("corpus:split (e.g. ptc_semeval2020_task11:test, all:dev; split is train, dev, test or all) "
             "or a .jsonl file in the interchange format (docs: redflags.eval.interchange). Repeatable.")


def _command_line(ctx: typer.Context) -> str:
    """The command as resolved (every option, defaults included), so a report says exactly what ran."""
    parts = [ctx.command_path]
    for key, value in ctx.params.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{key.replace('_', '-')}")
        elif isinstance(value, (list, tuple)):
            parts += [f"{flag} {shlex.quote(str(v))}" for v in value]
        elif value is not None:
            parts.append(f"{flag} {shlex.quote(str(value))}")
    return " ".join(parts)


def _run(fn: Callable[[], T]) -> T:
    """Run a command body; known input problems become one error line and exit status 1."""
    from redflags.eval.data import DataSpecError
    from redflags.eval.interchange import InterchangeError

    known: tuple[type[BaseException], ...] = (DataSpecError, InterchangeError, FileNotFoundError, ValueError)
    try:
        from redflags.training.corpora import CorpusError

        known += (CorpusError,)
    except ImportError:
        pass
    try:
        from redflags.core.modeling import ModelLoadError

        known += (ModelLoadError,)
    except ImportError:
        pass
    try:
        return fn()
    except known as e:
        fail(str(e))


def evaluate(
    ctx: typer.Context,
    model: Optional[Path] = typer.Option(None, "--model", help="Model directory (default: the shipped model)."),
    data: List[str] = typer.Option(..., "--data", help=DATA_HELP),
    out: Path = typer.Option(..., "--out", help="Folder for metrics.json, predictions.jsonl, report.md/html, figures/."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Score lexicon, TF-IDF+LR and majority baselines too."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the corpora (default $REDFLAGS_DATA or ../shared/data)."),
    n_boot: int = typer.Option(1000, "--n-boot", min=0, help="Bootstrap resamples for the 95% CIs (0: none)."),
    seed: int = typer.Option(20240607, "--seed", help="Bootstrap seed (fixed: reruns give identical numbers)."),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Write PR curves and reliability diagrams."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 (the default; the card's figures) or bfloat16; "
                              "recorded in metrics.json."),
) -> None:
    """Evaluate a model (and baselines) per marker and per corpus; write a report a paper can cite."""
    need_extra("eval", "evaluate")
    from redflags.eval.evaluate import run_evaluate

    result = _run(lambda: run_evaluate(model, data, out, baselines=baselines, data_dir=data_dir, n_boot=n_boot,
                                       seed=seed, batch_size=batch_size, command=_command_line(ctx), figures=figures,
                                       dtype=dtype))
    for name, sys_ in result["systems"].items():
        mac = sys_["metrics"]["macro"]
        typer.echo(f"{name:>14}: macro F1 {mac['f1'] or 0:.3f}  macro PR-AUC {mac['pr_auc'] or 0:.3f}")
    typer.echo(f"report: {out / 'report.md'} and {out / 'report.html'}")


def cross_corpus(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", help="Folder for crosscorpus.json and crosscorpus.md."),
    system: str = typer.Option("tfidf", "--system", help="tfidf, majority, or module:function(train, dev) -> system. "
                               "A transformer per cell is too slow on a small CPU; plug one in via module:function."),
    corpus: Optional[List[str]] = typer.Option(None, "--corpus", help="Limit to these corpora (repeatable)."),
    group: Optional[List[str]] = typer.Option(None, "--group", help="Extra training unit NAME=c1,c2 (repeatable)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
    data_seed: int = typer.Option(13, "--data-seed", help="Split seed (same meaning as data.seed in a training config)."),
    n_boot: int = typer.Option(0, "--n-boot", min=0, help="Bootstrap resamples per cell (0: no CIs)."),
) -> None:
    """Train on each corpus (or group), test on every corpus informing the same marker."""
    need_extra("eval", "cross-corpus")
    from redflags.eval.crosscorpus import run_cross_corpus

    groups = {}
    for g in group or []:
        name, _, members = g.partition("=")
        if not name or not members:
            fail(f"--group {g!r}: expected NAME=corpus1,corpus2", code=2)
        groups[name] = [m.strip() for m in members.split(",") if m.strip()]
    _run(lambda: run_cross_corpus(out, system=system, corpora=corpus or None, groups=groups, data_dir=data_dir,
                                  data_seed=data_seed, n_boot=n_boot, command=_command_line(ctx)))
    typer.echo(f"matrix: {out / 'crosscorpus.md'}")


def compare(
    ctx: typer.Context,
    a: Path = typer.Option(..., "--a", help="Model directory A (the reference)."),
    b: Path = typer.Option(..., "--b", help="Model directory B (the change)."),
    data: List[str] = typer.Option(..., "--data", help=DATA_HELP),
    out: Path = typer.Option(..., "--out"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
    n_boot: int = typer.Option(1000, "--n-boot", min=1),
    seed: int = typer.Option(20240607, "--seed"),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
) -> None:
    """Paired bootstrap test of two models on the same data: did B change F1 / PR-AUC per marker?"""
    need_extra("eval", "compare")
    from redflags.eval.compare import run_compare

    _run(lambda: run_compare(str(a), str(b), data, out, data_dir=data_dir, n_boot=n_boot, seed=seed,
                             batch_size=batch_size, command=_command_line(ctx)))
    typer.echo(f"comparison: {out / 'compare.md'}")


def seeds(
    ctx: typer.Context,
    model: List[str] = typer.Option(..., "--model", help="Model directory or evaluation folder with metrics.json (repeat, >= 2)."),
    data: Optional[List[str]] = typer.Option(None, "--data", help=DATA_HELP),
    out: Path = typer.Option(..., "--out"),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
) -> None:
    """Mean and standard deviation of every headline metric over several seeds of one config."""
    need_extra("eval", "seeds")
    from redflags.eval.seeds import run_seeds

    _run(lambda: run_seeds(model, data or [], out, data_dir=data_dir, batch_size=batch_size, command=_command_line(ctx)))
    typer.echo(f"seeds: {out / 'seeds.md'}")


def check(
    model: Optional[Path] = typer.Option(None, "--model", help="Model directory; default: the shipped model."),
    cases: Optional[Path] = typer.Option(None, "--cases", help="Case file (YAML); default: the suite shipped with redflags."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write checks.json and checks.md to this folder."),
) -> None:
    """Run the behaviour suite (minimum functionality, invariance, direction) and report pass rates per marker and kind."""
    need_extra("eval", "check")
    from redflags.scoring.scorer import load
    from redflags.eval.checklist import (
        CheckSuiteError,
        load_cases,
        render,
        run_checks,
        write_checks,
    )
    from redflags.eval.data import display_path
    from redflags.core.modeling import ModelLoadError

    try:
        suite = load_cases(cases)
        scorer = load(model)
    except (CheckSuiteError, ModelLoadError) as e:
        fail(str(e))
    name = display_path(model) if model is not None else "default model"
    result = run_checks(scorer, suite)
    typer.echo(render(result, name))
    if out is not None:
        write_checks(result, out, name)


def parity(
    ctx: typer.Context,
    model: Optional[Path] = typer.Option(None, "--model", help="Model directory (default: the shipped model)."),
    data: Optional[List[str]] = typer.Option(None, "--data", help=DATA_HELP + " Default: all:test, the model's whole test split."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the corpora."),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    write: bool = typer.Option(True, "--write/--no-write", help="Record the result in the model directory's config.json."),
) -> None:
    """Check that bfloat16 autocast serves the same flags as float32 (and record it, so dtype auto may use bf16)."""
    need_extra("eval", "parity")
    from redflags.eval.parity import run_parity

    res = _run(lambda: run_parity(model, data or ["all:test"], data_dir=data_dir, batch_size=batch_size, write=write,
                                  command=_command_line(ctx)))
    typer.echo(f"{res['sentences']} sentences: largest probability difference {res['max_abs_diff']:.4f}, "
               f"{res['flags_changed']} flags changed ({res['flag_change_rate']:.3%})")
    for m, e in res["markers"].items():
        typer.echo(f"  {m}: {e['flags_changed']} flags changed, F1 change {e.get('f1_change', float('nan')):+.4f}")
    typer.echo("parity: " + ("passed" if res["passed"] else "FAILED (dtype auto keeps float32)")
               + (" (recorded in config.json)" if write else ""))


def register(app: typer.Typer) -> None:
    """Add the evaluation commands to the redflags CLI."""
    app.command("check")(check)
    app.command("parity")(parity)
    app.command("evaluate")(evaluate)
    app.command("cross-corpus")(cross_corpus)
    app.command("compare")(compare)
    app.command("seeds")(seeds)
