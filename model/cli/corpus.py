"""`redflags score-corpus`: score a whole corpus into Parquet tables (corpus.py), locally or on Ray."""

from __future__ import annotations

import logging
import shlex
from enum import Enum
from pathlib import Path
from typing import Optional

import typer
from redflags.cli.messages import fail

log = logging.getLogger(__name__)


class Engine(str, Enum):
    local = "local"
    ray = "ray"


class InputKind(str, Enum):
    jsonl = "jsonl"
    parquet = "parquet"
    txt = "txt"
    hf = "hf"


def score_corpus_command(
    ctx: typer.Context,
    input: Path = typer.Argument(..., help="A JSONL file, a Parquet file or folder, a folder of .txt files, "
                                 "or a Hugging Face dataset saved to disk.", show_default=False, metavar="INPUT"),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (Parquet tables and manifest.json).",
                             show_default=False),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model directory; default: the shipped model."),
    engine: Engine = typer.Option(Engine.local, "--engine", case_sensitive=False,
                                  help="local (this process) or ray (an actor pool on Ray Data)."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster to join (e.g. ray://head:10001 or "
                                          "auto); default: start a local Ray runtime.", show_default=False),
    actors: Optional[int] = typer.Option(None, "--actors", min=1, help="Ray: scorer actors (model replicas); "
                                         "default: as many as the CPUs allow at --threads each."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads per scorer; default: torch's "
                                          "for the local engine, 1 per Ray actor."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Sentences per model batch."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 (the same scores on every machine), bfloat16 "
                              "(faster on CPUs with native bf16; scores move with batch neighbours) or auto."),
    shard_size: int = typer.Option(250, "--shard-size", min=1, help="Articles per shard (the unit of commit "
                                   "and of resume)."),
    input_format: Optional[InputKind] = typer.Option(None, "--input-format", case_sensitive=False,
                                                     help="Input kind; default: guessed from the path."),
    split: Optional[str] = typer.Option(None, "--split", help="Split of a saved DatasetDict."),
    id_field: str = typer.Option("id", "--id-field", help="Field with the article id."),
    text_field: str = typer.Option("text", "--text-field", help="Field with the article text."),
    max_chars: int = typer.Option(5_000_000, "--max-chars", min=1,
                                  help="Longer articles go to the errors table."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Score only the first N articles."),
    evidence: bool = typer.Option(True, "--evidence/--no-evidence", help="Evidence spans in the sentence table."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Delete another run's output in --out and start afresh."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on standard error."),
    unique_ids: bool = typer.Option(False, "--unique-ids", help="Refuse an input whose ids repeat (7 and \"7\" "
                                    "count as the same id), before scoring anything. Without it, repeated ids are a "
                                    "warning (count and examples, also in manifest.json) and every row is scored: "
                                    "`position` tells them apart."),
) -> None:
    """Score every article of a corpus into Parquet tables: sentences, articles, errors, manifest.

    Input: JSONL (.jsonl, .json, .ndjson, each also as .gz), Parquet, a folder of .txt or .txt.gz files, or a
    saved Hugging Face dataset. A row's fields other than the id and the text go into the article table's
    `extra` column as one JSON object. Resumable: run the same command again after an interruption
    (Ctrl-C prints the command) and it checks the committed shards' files and scores what is missing or
    damaged. Exit status: 0 all articles scored, 1 some articles failed (they are in the errors table; an
    input without articles is one such row) or the run could not start, 2 usage error, 130 interrupted.
    """
    # Length: over 60 lines because typer declares each option in the signature (the body is ~30 lines).
    from redflags.corpus.engine import Interrupted, OutputConflictError, score_corpus
    from redflags.corpus.inputs import InputFormatError
    from redflags.core.modeling import ModelLoadError

    try:
        result = score_corpus(
            input, out, model=model, engine=engine.value, input_format=input_format.value if input_format else None,
            split=split, id_field=id_field, text_field=text_field, max_chars=max_chars, shard_size=shard_size,
            batch_size=batch_size, threads=threads, dtype=dtype, evidence=evidence, overwrite=overwrite, show_progress=progress,
            actors=actors, address=address, limit=limit, unique_ids=unique_ids,
        )
    except (InputFormatError, OutputConflictError, ModelLoadError, ImportError, ValueError, OSError) as e:
        fail(str(e))
    except KeyboardInterrupt as e:
        done = f" with {e.committed} of {e.shards} shards committed" if isinstance(e, Interrupted) else ""
        typer.echo(f"redflags: interrupted{done} (manifest status: interrupted). To resume, run the same command "
                   f"again: {resume_command(ctx)}", err=True)
        raise typer.Exit(130) from None
    redone = f" ({result.shards_redone} redone: a part file was missing or damaged)" if result.shards_redone else ""
    typer.echo(
        f"{result.articles:,} articles ({result.sentences:,} sentences) scored into {result.out}; "
        f"{result.failed:,} failed (errors table); {result.shards_skipped} of {result.shards} shards were done before"
        f"{redone}; {result.seconds:.1f} s",
        err=True,
    )
    if result.failed:
        raise typer.Exit(1)


def resume_command(ctx: typer.Context) -> str:
    """The running score-corpus command line as a shell command, without --overwrite (which would start afresh)."""
    parts = ["redflags", ctx.info_name or "score-corpus"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if param.name == "overwrite":
            continue
        if param.param_type_name == "argument":
            parts.append(str(value))
            continue
        plain = value.value if isinstance(value, Enum) else value
        default = param.default.value if isinstance(param.default, Enum) else param.default
        if plain == default or plain is None:
            continue
        if param.is_flag:
            parts.append(param.opts[0] if plain else param.secondary_opts[0])
        else:
            parts += [param.opts[0], str(plain)]
    return shlex.join(parts)


def register(app: typer.Typer) -> None:
    """Add score-corpus to the redflags CLI."""
    app.command("score-corpus")(score_corpus_command)
