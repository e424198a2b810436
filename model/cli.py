"""The `redflags` command line: score articles; hosts the train and evaluate commands.

Exit codes: 0 all inputs scored; 1 some input or the model failed (the other inputs are still
scored and printed); 2 usage error. Each problem is one line on stderr:
`redflags: error: <path>: <problem>`.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Iterator, Optional

import typer
from redflags.atomic import write_text
from redflags.markers import STYLE_NOT_TRUTH
from rich.console import Console
from rich.markup import escape
from rich.table import Table

log = logging.getLogger(__name__)

app = typer.Typer(
    name="redflags",
    help="Score each sentence of news articles for rhetorical markers "
    "(unverifiable sourcing, hedging, sensational framing). " + STYLE_NOT_TRUTH,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

STDIN = "-"
SHORTEN_AT = 90  # characters of a sentence shown in the table


class Format(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    html = "html"


class Precision(str, Enum):
    auto = "auto"
    float32 = "float32"
    bfloat16 = "bfloat16"


class InputError(Exception):
    """An input path that cannot be read; the message is the problem, the path is separate."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def error(message: str) -> None:
    """One line on stderr in the format every redflags error uses."""
    typer.echo(f"redflags: error: {message}", err=True)


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(name, f"not UTF-8 text (byte 0x{data[e.start]:02x} at position {e.start})") from None


def _read_inputs(paths: list[str]) -> Iterator[tuple[str, str] | InputError]:
    """(name, text) for every article the paths name, or an InputError for each one that fails."""
    for raw in paths:
        if raw == STDIN:
            if sys.stdin is None or sys.stdin.closed:
                yield InputError("<stdin>", "standard input is closed; give file paths instead of -")
                continue
            try:
                yield "<stdin>", _decode(sys.stdin.buffer.read(), "<stdin>")
            except InputError as e:
                yield e
            continue
        path = Path(raw)
        if path.is_dir():
            try:
                files = sorted(p for p in path.iterdir() if p.suffix == ".txt" and p.is_file())
            except OSError as e:
                yield InputError(raw, f"cannot list directory ({e.strerror or e})")
                continue
            if not files:
                yield InputError(raw, "directory has no .txt files")
            targets = files
        elif path.exists():
            targets = [path]
        else:
            yield InputError(raw, "no such file or directory")
            continue
        for f in targets:
            try:
                yield str(f), _decode(f.read_bytes(), str(f))
            except InputError as e:
                yield e
            except OSError as e:
                yield InputError(str(f), f"cannot read ({e.strerror or e})")


def _shorten(text: str, width: int = SHORTEN_AT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def _flag_cell(s, marker: str) -> str:  # noqa: ANN001 - a SentenceScore (imported lazily)
    """`marker 0.83`, then its evidence words ("quoted", technique in brackets) when the model gives them."""
    cell = f"{marker} {s.scores[marker]:.2f}"
    if s.evidence is None:
        return cell
    words = [f"\u201c{_shorten(e.text, 40)}\u201d" + (f" [{e.technique}]" if e.technique else "")
             for e in s.evidence_for(marker)]
    return cell + (": " + ", ".join(words) if words else " (no evidence word above the span threshold)")


def render_table(reports: list, console: Console) -> None:
    """Terminal report: one row per sentence (number, shortened text, flagged markers), then a summary."""
    for report in reports:
        table = Table(title=report.source or "article", title_justify="left", show_lines=False, expand=False)
        table.add_column("#", justify="right", style="dim", no_wrap=True)
        table.add_column("sentence", overflow="fold")
        table.add_column("markers flagged (probability): evidence words", overflow="fold")
        for s in report.sentences:
            flagged = "; ".join(_flag_cell(s, m) for m in s.flagged_markers) or "-"
            if s.truncated:
                flagged += " (truncated)"
            # (escaped: rich reads "[...]" in a cell as markup, and article text or a technique can hold one)
            table.add_row(str(s.index + 1), escape(_shorten(s.text)), escape(flagged))
        console.print(table)
        if report.skipped:
            console.print(f"{len(report.skipped)} boilerplate lines skipped (not scored)", style="dim")
        summary = Table(title="summary", title_justify="left")
        summary.add_column("marker")
        summary.add_column("sentences flagged", justify="right")
        summary.add_column("share", justify="right")
        summary.add_column("highest score", justify="right")
        for m, ms in report.summary.items():
            best = "-" if ms.max_score is None else f"{ms.max_score:.2f} (sentence {ms.max_sentence + 1})"
            summary.add_row(m, f"{ms.flagged} of {len(report.sentences)}", f"{ms.share:.0%}", best)
        console.print(summary)
        console.print()
    console.print(f"Note: {STYLE_NOT_TRUTH}", style="italic")


def _render(reports: list, fmt: Format, width: Optional[int]) -> str:
    if fmt is Format.json:
        return json.dumps([r.to_dict() for r in reports], indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    if fmt is Format.jsonl:
        return "".join(json.dumps(r.to_dict(), ensure_ascii=False, allow_nan=False) + "\n" for r in reports)
    if fmt is Format.html:
        from redflags.report import render_html

        return render_html(reports)
    buf = io.StringIO()
    render_table(reports, Console(file=buf, width=width or 120, force_terminal=False, color_system=None))
    return buf.getvalue()


@app.command()
def score(
    paths: list[str] = typer.Argument(
        ..., help="Article files, directories (their .txt files are scored) or - to read standard input.", show_default=False, metavar="PATH"
    ),
    model: Optional[Path] = typer.Option(
        None, "--model", "-m", help="Model directory to load; default: the model shipped with redflags."
    ),
    fmt: Format = typer.Option(
        Format.table, "--format", "-f", case_sensitive=False, help="table (terminal), json, jsonl (one article a line) or html."
    ),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the report to this file instead of standard output."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Sentences per model batch."),
    progress: bool = typer.Option(False, "--progress/--no-progress", help="Show a progress bar on standard error."),
    dtype: Precision = typer.Option(
        "auto", "--dtype", case_sensitive=False,
        help="float32, bfloat16, or auto: bfloat16 only on hardware with native bf16 and a model whose parity check passed.",
    ),
    threads: Optional[int] = typer.Option(
        None, "--threads", min=1, help="CPU threads for the model; default: torch's ($OMP_NUM_THREADS when set)."
    ),
) -> None:
    """Score every sentence of the given articles and print a report.

    Unreadable inputs are reported on stderr one line each; the rest are still scored.
    Exit status: 0 all scored, 1 some input (or the model) failed, 2 usage error.
    """
    articles: list[tuple[str, str]] = []
    failed = False
    for item in _read_inputs(paths):
        if isinstance(item, InputError):
            error(str(item))
            failed = True
        else:
            articles.append(item)
    if not articles:
        raise typer.Exit(1)

    from redflags.modeling import ModelLoadError
    from redflags.scorer import load

    try:
        scorer = load(model, dtype=dtype.value, threads=threads)
    except ModelLoadError as e:
        error(str(e))
        raise typer.Exit(1) from None
    reports = scorer.score_many(
        [text for _, text in articles], batch_size=batch_size, show_progress=progress, sources=[n for n, _ in articles]
    )
    if out is not None:
        try:
            write_text(out, _render(reports, fmt, width=120))
        except OSError as e:
            error(f"{out}: cannot write the report ({e.strerror or e})")
            raise typer.Exit(1) from None
    elif fmt is Format.table:
        render_table(reports, Console())
    else:
        sys.stdout.write(_render(reports, fmt, width=None))
        sys.stdout.flush()
    if failed:
        raise typer.Exit(1)


def _version_callback(value: bool) -> None:
    if value:
        from redflags import __version__

        typer.echo(f"redflags {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details on standard error."),
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Print the version."),
) -> None:
    """redflags: rhetorical markers of news sentences (style, not truth)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# --- commands of the other parts (one registration line each) -----------------------------------

from redflags.training.commands import register as _register_training  # noqa: E402

_register_training(app)
from redflags.eval.commands import register as _register_eval  # noqa: E402

_register_eval(app)

def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
