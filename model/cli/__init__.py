"""The `redflags` command: the typer app (app.py) and one module per command group (corpus, training,
evaluation), which import their heavy machinery only when their command runs.

May import everything below it: corpus, scoring, core, training, eval and the leaves. Nothing imports cli.
"""

from redflags.cli.app import main

__all__ = ["main"]
