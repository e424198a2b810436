"""`redflags serve`: the local web page and HTTP API (redflags.serve); fastapi is imported only when it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from redflags.cli.messages import fail, need_extra


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 opens the server to "
                             "other machines (it has no authentication)."),
    port: int = typer.Option(8000, "--port", "-p", min=0, max=65535, help="Port; 0 picks a free one."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Model directory; default: the shipped model."),
    dtype: str = typer.Option("float32", "--dtype", help="float32 (the same scores on every machine), bfloat16 "
                              "(faster on CPUs with native bf16) or auto."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes, each with its own copy of the model."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads per process; default: "
                                          "torch's with one worker, the CPUs shared out with several."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Sentences per model batch."),
    max_body_bytes: int = typer.Option(2_000_000, "--max-body-bytes", min=1, help="Largest request body; "
                                       "larger ones are refused (413)."),
    max_articles: int = typer.Option(64, "--max-articles", min=1, help="Most articles in one /v1/score-many "
                                     "request."),
) -> None:
    """Serve a web page (paste an article, read its report) and a JSON API.

    The model is loaded once. Routes: GET / (the page), POST /v1/score (one article),
    POST /v1/score-many (several, batched together), GET /healthz, GET /docs (OpenAPI).
    Requests are scored one at a time, so each gets the scores it would get alone.
    Needs the serve extra: pip install 'redflags[serve]'.
    """
    need_extra("serve", "serve")
    from redflags.core.modeling import ModelLoadError
    from redflags.serve import Limits, run

    try:
        limits = Limits(max_body_bytes=max_body_bytes, max_articles=max_articles, batch_size=batch_size)
        run(model, dtype=dtype.lower(), host=host, port=port, workers=workers, threads=threads, limits=limits,
            announce=lambda line: typer.echo(line, err=True))
    except (ModelLoadError, ValueError, OSError) as e:
        fail(str(e))


def register(app: typer.Typer) -> None:
    """Add serve to the redflags CLI."""
    app.command("serve")(serve_command)
