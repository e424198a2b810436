"""CLI commands of the training pipeline: `redflags train ...` and `redflags data stats ...`.

`register(app)` adds them to the main typer app (one line in redflags/cli/app.py). Heavy imports
(torch, datasets) happen inside the commands so `redflags --help` stays quick.
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer
from redflags.cli.messages import fail, need_extra

log = logging.getLogger(__name__)

data_app = typer.Typer(help="Inspect the training corpora and the dataset built from them.", no_args_is_help=True)


def train_command(
    config: Path = typer.Argument(..., help="YAML run config, e.g. configs/default.yaml.", show_default=False),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Model directory to write (what `redflags score --model` loads); default: output.dir of the config.", show_default=False),
    overrides: list[str] = typer.Option([], "--set", help="Override a config value: section.key=value (YAML types); repeatable."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the newest checkpoint in the work directory."),
    max_train_samples: Optional[int] = typer.Option(None, "--max-train-samples", min=1,
                                                    help="Train on a seeded subset of this many sentences (smoke runs)."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps", min=1, help="Stop after this many optimizer steps."),
    work_dir: Optional[Path] = typer.Option(None, "--work-dir", help="Checkpoints and logs; default runs/<out name>."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the corpora; default $REDFLAGS_DATA or ../shared/data."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    device: str = typer.Option("auto", "--device", help="auto (the GPU when there is one), cpu or cuda."),
) -> None:
    """Train a model as CONFIG says, calibrate it on dev and write the model directory.

    Several processes (data parallel): launch this command with `torchrun --nproc_per_node N -m redflags
    train ...` or `accelerate launch --num_processes N -m redflags train ...`; only the main process writes."""
    need_extra("train", "train")
    from redflags.training.config import ConfigError, load_config

    extra = list(overrides)
    if max_train_samples is not None:
        extra.append(f"training.max_train_samples={max_train_samples}")
    if max_steps is not None:
        extra.append(f"training.max_steps={max_steps}")
    if data_dir is not None:
        extra.append(f"data.data_dir={data_dir}")
    try:
        cfg = load_config(config, extra)
    except ConfigError as e:
        fail(str(e))
    if out is None:
        if cfg.output.dir is None:
            fail("no model directory: give --out DIR or set output.dir in the config")
        out = Path(cfg.output.dir)
    if cfg.calibration.dev_corpora:
        unknown = [c for c in cfg.calibration.dev_corpora if c not in cfg.data.corpora]
        if unknown:
            fail(f"calibration.dev_corpora names corpora that are not in data.corpora: {', '.join(unknown)}")
    from redflags.training.distributed import DeviceError, resolve_device

    try:
        resolve_device(device, cfg.training.precision)
    except DeviceError as e:
        fail(str(e))
    _log_to_stderr()
    from redflags.training.corpora import CorpusError
    from redflags.training.train import ResumeError, train

    work = work_dir if work_dir is not None else Path("runs") / out.name
    command = "redflags train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else None
    try:
        result = train(cfg, out, work_dir=work, resume=resume, progress=progress, command=command, device=device)
    except (CorpusError, ResumeError, ValueError) as e:
        fail(str(e))
    if result.out_dir is None:  # not the main process of a multi-process run: it wrote nothing
        return
    typer.echo(f"model written to {out} ({result.state.step} steps, {result.state.seconds / 60:.1f} min of training; "
               f"checkpoints in {work})")


def _log_to_stderr() -> None:
    """INFO logs of the training modules on stderr, even when the CLI runs at WARNING; in a multi-process
    run (torchrun and accelerate launch set RANK) only the main process logs progress."""
    logger = logging.getLogger("redflags.training")
    logger.setLevel(logging.INFO if os.environ.get("RANK", "0") == "0" else logging.WARNING)
    if not logging.getLogger().handlers and not logger.handlers:
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")


@data_app.command("stats")
def stats_command(
    corpora: list[str] = typer.Option([], "--corpora", "-c", help="Corpora to include (repeatable); default: all."),
    config: Optional[Path] = typer.Option(None, "--config", help="Use the data section of this run config instead."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the corpora."),
    seed: int = typer.Option(13, "--seed", help="Split seed (with --corpora)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild the cached dataset."),
) -> None:
    """Per split, corpus and marker: positives, negatives and unknowns (after de-duplication)."""
    need_extra("train", "data stats")
    from redflags.training.config import ConfigError, load_config
    from redflags.training.corpora import CORPORA, CorpusError
    from redflags.training.dataset import (
        build_dataset,
        build_stats,
        data_config_for,
        split_counts,
    )
    from rich.console import Console
    from rich.table import Table

    try:
        if config is not None:
            cfg = load_config(config, [f"data.data_dir={data_dir}"] if data_dir else []).data
        else:
            cfg = data_config_for(corpora or sorted(CORPORA), data_dir, seed)
    except (ConfigError, ValueError) as e:
        fail(str(e))
    _log_to_stderr()
    try:
        dd = build_dataset(cfg, rebuild=rebuild)
    except CorpusError as e:
        fail(str(e))
    console = Console(width=max(Console().width, 110))  # corpus names are long: do not cut them
    for split in dd:
        table = Table(title=f"{split}: {len(dd[split])} sentences")
        for col in ("corpus", "marker", "positive", "negative", "unknown"):
            table.add_column(col, justify="left" if col in ("corpus", "marker") else "right", no_wrap=True)
        for row in split_counts({split: dd[split]}):
            if row["positive"] + row["negative"] == 0:
                continue  # the corpus says nothing about this marker (all unknown)
            table.add_row(row["corpus"], row["marker"], str(row["positive"]), str(row["negative"]), str(row["unknown"]))
        console.print(table)
    built = build_stats(cfg)
    if built:
        s = built["stats"]
        console.print(f"duplicates merged per corpus: {s['duplicates']}; empty sentences dropped: {s['empty']}; "
                      f"label conflicts resolved per marker: {s['conflicts']}")


@data_app.command("annotations")
def annotations_command(
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the report (Markdown) to this file."),
) -> None:
    """The news annotations: articles, sentences and positives per split and sample; agreement (kappa, evidence F1)."""
    need_extra("train", "data annotations")
    from redflags.atomic import write_text
    from redflags.training.corpora import CorpusError
    from redflags.training.corpora.news_annotations import read_annotations
    from redflags.training.news_annotations import annotation_report

    try:
        text = annotation_report(read_annotations())
    except CorpusError as e:
        fail(str(e))
    typer.echo(text)
    if out is not None:
        write_text(out, text)


@data_app.command("audit")
def audit_command(
    config: Path = typer.Option(Path("configs/default.yaml"), "--config", help="Run config whose training mix is audited."),
    out: Optional[Path] = typer.Option(None, "--out", help="Folder for audit.md and audit.json."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the corpora."),
    split: str = typer.Option("train", "--split", help="Split of the mix to audit (train: what the model learns from)."),
) -> None:
    """The training mix against the codebook: per distinction and corpus, the positive rate next to the news annotations'."""
    need_extra("train", "data audit")
    import json

    from redflags.atomic import write_text
    from redflags.training.audit import audit, audit_markdown, conflicts, dataset_rows, load_patterns
    from redflags.training.config import ConfigError, load_config
    from redflags.training.corpora import CorpusError
    from redflags.training.dataset import build_dataset

    try:
        cfg = load_config(config, [f"data.data_dir={data_dir}"] if data_dir else []).data
        patterns = load_patterns()
        _log_to_stderr()
        result = audit(dataset_rows(build_dataset(cfg)[split]), patterns)
    except (ConfigError, CorpusError, ValueError, KeyError) as e:
        fail(str(e))
    text = audit_markdown(result)
    for pid, corpus, rate, news, n in conflicts(result):
        typer.echo(f"conflict: {pid} in {corpus}: {rate:.2f} positive ({n} matches), news annotations {news:.2f}")
    if out is not None:
        write_text(out / "audit.md", text)
        write_text(out / "audit.json", json.dumps({"config": str(config), "split": split, "patterns": result}, indent=2) + "\n")
        typer.echo(f"report: {out / 'audit.md'}")
    else:
        typer.echo(text)


def convert_command(
    source: Path = typer.Argument(..., help="Model directory in an older format.", show_default=False),
    target: Path = typer.Argument(..., help="New model directory to write (current format).", show_default=False),
) -> None:
    """Rewrite a model directory in the current format (Hugging Face config.json, PEFT adapter files)."""
    need_extra("train", "convert")
    from redflags.core.modeling import ModelLoadError, RedflagsModel

    if target.exists():
        fail(f"{target}: already exists; choose a new directory")
    try:
        model = RedflagsModel.from_pretrained(source)
    except ModelLoadError as e:
        fail(str(e))
    from redflags.training.card import front_matter

    card = (source / "README.md").read_text(encoding="utf-8") if (source / "README.md").is_file() else ""
    if not card.startswith("---"):  # cards of format 1 had no YAML metadata
        card = f"---\n{front_matter(model.config)}---\n\n{card}"
    model.save_pretrained(target, card=card)
    typer.echo(f"{source} (format {model.config.format_version}) -> {target}")


def card_command(
    model_dir: Path = typer.Argument(..., help="Model directory whose README.md (model card) to rewrite.", show_default=False),
    metrics: list[str] = typer.Option([], "--metrics", help="TITLE=PATH of an evaluation metrics.json (repeatable), "
                                      "e.g. 'Test split=runs/eval-test/metrics.json'."),
) -> None:
    """Rewrite a model's card, adding the evaluation harness's metrics (with the commands that produced them)."""
    need_extra("train", "card")
    import json

    from redflags.training.card import write_card

    sections: dict[str, object] = {}
    for item in metrics:
        title, sep, path = item.partition("=")
        if not sep or not title.strip() or not path.strip():
            fail(f"--metrics {item!r} must look like TITLE=PATH")
        try:
            result = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            fail(f"{path}: cannot read metrics ({e})")
        report = Path(path).with_name("report.md")
        if isinstance(result, dict) and report.is_file():
            # The card links the full report (tables and figures) that sits beside the metrics.
            result["report_link"] = os.path.relpath(report.resolve(), model_dir.resolve())
        sections[title.strip()] = result
    if not (model_dir / "config.json").is_file():
        fail(f"{model_dir}: not a model directory (config.json is missing)")
    typer.echo(f"model card written to {write_card(model_dir, sections or None)}")


def profile_reference_command(
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model directory to profile; the file is written into it. Default: the shipped model."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Folder holding the corpora; default $REDFLAGS_DATA or ../shared/data."),
    max_articles: int = typer.Option(600, "--max-articles", min=1, help="Articles in the seeded random sample."),
    seed: int = typer.Option(2026, "--seed", help="Seed of the article sample."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Sentences per model batch."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Score a random sample of train-split news articles and store per marker the distribution of
    flagged shares in MODEL/reference_profile.json, so that reports say where an article stands."""
    from redflags.core.modeling import ModelLoadError
    from redflags.training.corpora.registry import CorpusError
    from redflags.training.reference import build_reference, write_reference

    from redflags.scoring.scorer import DEFAULT_MODEL_DIR

    model = model or DEFAULT_MODEL_DIR
    argv = sys.argv[sys.argv.index("profile-reference") + 1:] if "profile-reference" in sys.argv else []
    command = shlex.join(["redflags", "profile-reference", *argv])
    try:
        content = build_reference(model, data_dir, max_articles, seed, batch_size, progress, command)
    except (CorpusError, ModelLoadError) as e:
        fail(str(e))
    path = write_reference(model, content)
    typer.echo(f"{path}: {content['description']}")


def register(app: typer.Typer) -> None:
    """Add `train`, `card`, `convert`, `profile-reference` and `data` to the main CLI."""
    app.command("train")(train_command)
    app.command("profile-reference")(profile_reference_command)
    app.command("card")(card_command)
    app.command("convert")(convert_command)
    app.add_typer(data_app, name="data")
