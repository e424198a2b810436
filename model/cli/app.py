"""The `redflags` command line: score articles; hosts the train and evaluate commands.

Exit codes: 0 all inputs scored; 1 some input or the model failed (the other inputs are still
scored and printed); 2 usage error. Each problem is one line on stderr:
`redflags: error: <path>: <problem>`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import sys
from enum import Enum
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, TextIO

import typer
from typer.core import TyperGroup
from redflags.cli.messages import error
from redflags.cli.table import make_console, render_table
from redflags.atomic import atomic_path
from redflags.markers import STYLE_NOT_TRUTH
from rich.console import Console

log = logging.getLogger(__name__)

# --- help: plain click layout (nothing cut at 80 columns) and plain type labels -----------------

_TYPE_LABELS = {"str": "TEXT", "int": "INTEGER", "int range": "INTEGER", "float": "FLOAT", "float range": "FLOAT",
                "path": "PATH", "file": "FILE", "directory": "DIR", "bool": ""}


def _type_label(raw: str) -> str:
    """typer's `<int range>`, `<list[str]>`, `<path>`, `<bool>`, `<a|b>` -> INTEGER, TEXT, PATH, '', [a|b]."""
    label = raw.strip().removeprefix("<").removesuffix(">")
    while label.startswith("list[") and label.endswith("]"):  # a repeatable option: its help says so
        label = label[5:-1]
    if label in _TYPE_LABELS:
        return _TYPE_LABELS[label]
    if "|" in label:
        return f"[{label}]"
    return label.upper()


def _clean_help(command) -> None:  # noqa: ANN001 - a typer click command or group
    """Plain help for a command and every subcommand: click's own layout (option names never cut, help
    wrapped under them on narrow terminals) instead of rich panels, and plain type labels.

    typer (0.29) labels every parameter with a Python type (`<bool>`, `<list[str]>`, `<int range>`) and has
    no setting for it; its help code asks `param.display_type(ctx)`, so each parameter gets its own.
    tests/test_cli.py holds every command's help to this at COLUMNS=80."""
    command.rich_markup_mode = None
    if command.help and not command.short_help:  # the list of commands shows the whole first paragraph
        command.short_help = " ".join(command.help.strip().split("\n\n")[0].split())
    for param in command.params:
        if getattr(param, "_redflags_clean", False):
            continue
        param._redflags_clean = True
        if param.param_type_name == "argument":
            if param.metavar is None:
                param.metavar = param.name.upper()
            param.display_type = lambda ctx: ""  # the metavar names it (e.g. PATH)
        else:
            param.display_type = lambda ctx, _orig=param.display_type: _type_label(_orig(ctx))
    for sub in getattr(command, "commands", {}).values():
        _clean_help(sub)


class _Group(TyperGroup):
    """The root group: cleans the help of the whole command tree before it runs."""

    def main(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        _clean_help(self)
        return super().main(*args, **kwargs)


app = typer.Typer(
    name="redflags",
    cls=_Group,
    rich_markup_mode=None,
    context_settings={"max_content_width": 120},
    help="Score each sentence of news articles for rhetorical markers "
    "(unverifiable sourcing, hedging, sensational framing). " + STYLE_NOT_TRUTH,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

STDIN = "-"


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


def _decode(data: bytes, name: str) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(name, f"not UTF-8 text (byte 0x{data[e.start]:02x} at position {e.start})") from None
    if not text.strip():  # the words of score-corpus's errors table (corpus/inputs.py), and an error in both
        raise InputError(name, "standard input holds no text" if name == "<stdin>"
                         else "the file is empty" if not data else "the file holds only blank lines")
    return text


def _folder_files(path: Path, recursive: bool) -> tuple[list[Path], list[str]]:
    """The folder's .txt files (in its subfolders too when `recursive`), and the subfolders skipped
    that hold .txt files (none when recursive), both sorted."""
    if recursive:
        return sorted(p for p in path.rglob("*.txt") if p.is_file()), []
    files = sorted(p for p in path.iterdir() if p.suffix == ".txt" and p.is_file())
    skipped = sorted(d.name for d in path.iterdir() if d.is_dir() and next(d.rglob("*.txt"), None) is not None)
    return files, skipped


def _read_inputs(paths: list[str], recursive: bool = False) -> Iterator[tuple[str, str] | InputError]:
    """(name, text) for every article the paths name, or an InputError for each one that fails; a
    note on stderr names the subfolders a folder's .txt files were not read from (without `recursive`)."""
    stdin_read = False
    for raw in paths:
        if raw == STDIN:
            if stdin_read:
                yield InputError("<stdin>", "standard input is named more than once; it can be read only once")
                continue
            stdin_read = True
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
                files, skipped = _folder_files(path, recursive)
            except OSError as e:
                yield InputError(raw, f"cannot list directory ({e.strerror or e})")
                continue
            if skipped:
                typer.echo(f"redflags: note: {raw}: not scored: the .txt files in its subfolder"
                           f"{'s' if len(skipped) > 1 else ''} {', '.join(skipped)} (--recursive scores them)", err=True)
            if not files:
                yield InputError(raw, "directory has no .txt files" + (" of its own" if skipped else ""))
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


def _write_pieces(fh: TextIO, pieces: Iterable[str], shape: Callable[[str], str]) -> None:
    """Write an encoder's pieces in chunks of 4,096 (each passed through `shape`), never as one string."""
    chunk: list[str] = []
    for piece in pieces:
        chunk.append(piece)
        if len(chunk) >= 4096:
            fh.write(shape("".join(chunk)))
            chunk.clear()
    fh.write(shape("".join(chunk)))


def _write_report(fh: TextIO, reports: list, fmt: Format, width: Optional[int], only_flagged: bool = False,
                  min_score: Optional[float] = None) -> None:
    """Write the reports in `fmt` to `fh` piece by piece: the JSON of a 5 MB article is never one string
    (built whole, it and the encoder's pieces took ~310 MB more: 949 MB peak instead of 638)."""
    if fmt is Format.json:  # exactly json.dumps(reports, indent=2), one article at a time
        enc = json.JSONEncoder(indent=2, ensure_ascii=False, allow_nan=False)
        fh.write("[" if reports else "[]")
        for i, r in enumerate(reports):
            fh.write(",\n  " if i else "\n  ")
            # One level deeper inside the list; a JSON string never holds a raw newline.
            _write_pieces(fh, enc.iterencode(r.to_dict()), lambda chunk: chunk.replace("\n", "\n  "))
        fh.write("\n]\n" if reports else "\n")
    elif fmt is Format.jsonl:  # exactly json.dumps(report) per line, written piece by piece as above
        enc = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
        for r in reports:
            _write_pieces(fh, enc.iterencode(r.to_dict()), lambda chunk: chunk)
            fh.write("\n")
    elif fmt is Format.html:
        from redflags.scoring.report import render_html

        fh.write(render_html(reports))
    else:
        render_table(reports, Console(file=fh, width=width or 120, force_terminal=False, color_system=None),
                     only_flagged, min_score)


@app.command()
def score(
    paths: list[str] = typer.Argument(
        ..., help="Article files, directories (their .txt files are scored) or - to read standard input.", show_default=False, metavar="PATH"
    ),
    recursive: bool = typer.Option(False, "--recursive", "-r", help="Also score the .txt files in the folders' subfolders."),
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
        "float32", "--dtype", case_sensitive=False,
        help="float32 (the same scores on every machine), bfloat16 (faster on CPUs with native bf16; scores move "
        "with batch neighbours), or auto: bfloat16 only on such hardware and a model whose parity check passed.",
    ),
    threads: Optional[int] = typer.Option(
        None, "--threads", min=1, help="CPU threads for the model; default: torch's ($OMP_NUM_THREADS when set)."
    ),
    only_flagged: bool = typer.Option(False, "--only-flagged", help="Table: show only sentences with a flagged marker."),
    min_score: Optional[float] = typer.Option(
        None, "--min-score", min=0.0, max=1.0, metavar="P",
        help="Table: show only sentences with some marker's probability of at least P (e.g. 0.2 for near misses).",
    ),
) -> None:
    """Score every sentence of the given articles and print a report.

    Unreadable or empty inputs are reported on stderr one line each (score-corpus puts them in its errors
    table, in the same words); the rest are still scored.
    Exit status: 0 all scored, 1 some input (or the model) failed, 2 usage error.
    Sentences are numbered from 1 everywhere a person reads them (JSON also keeps a 0-based index).
    The table is plain text (no colours) when the output is not a terminal or $NO_COLOR is set.
    """
    # Length: over 60 lines because typer declares each option in the signature (the body is ~30 lines).
    if fmt is not Format.table and (only_flagged or min_score is not None):
        raise typer.BadParameter("--only-flagged and --min-score filter the table; JSON and HTML keep every sentence",
                                 param_hint="--format")
    articles: list[tuple[str, str]] = []
    failed = False
    for item in _read_inputs(paths, recursive):
        if isinstance(item, InputError):
            error(str(item))
            failed = True
        else:
            articles.append(item)
    if not articles:
        raise typer.Exit(1)

    from redflags.core.modeling import ModelLoadError
    from redflags.scoring.scorer import load

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
            with _report_file(out) as fh:
                _write_report(fh, reports, fmt, width=120, only_flagged=only_flagged, min_score=min_score)
        except OSError as e:
            error(f"{out}: cannot write the report ({e.strerror or e})")
            raise typer.Exit(1) from None
    else:
        try:
            if sys.stdout is None:
                raise OSError("standard output is closed")
            if fmt is Format.table:
                render_table(reports, make_console(), only_flagged, min_score)
            else:
                _write_report(sys.stdout, reports, fmt, width=None)
            sys.stdout.flush()
        except BrokenPipeError:
            raise  # the reader went away (`| head`): Python's own quiet exit
        except OSError as e:
            error(f"standard output: cannot write the report ({e.strerror or e})")
            raise typer.Exit(1) from None
    if failed:
        raise typer.Exit(1)


@contextlib.contextmanager
def _report_file(out: Path) -> Iterator[TextIO]:
    """The open report file: written beside and renamed into place, through a symbolic link to its target,
    and straight into a device or pipe (`-o /dev/stdout`), which a rename would replace."""
    target = out.resolve() if out.is_symlink() else out
    existing = next((p for p in target.parents if p.exists()), None)
    if existing is not None and not existing.is_dir():  # mkdir would say "File exists"
        raise NotADirectoryError(errno.ENOTDIR, f"{existing} is not a directory")
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8") as fh:
            yield fh
        return
    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        yield fh


def _version_callback(value: bool) -> None:
    if value:
        from redflags.extras import package_version

        typer.echo(f"redflags {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress details on standard error."),
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Print the version."),
) -> None:
    """redflags: rhetorical markers of news sentences (style, not truth)."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


# --- commands of the other parts (one registration line each) -----------------------------------

from redflags.cli.training import register as _register_training  # noqa: E402

_register_training(app)
from redflags.cli.evaluation import register as _register_eval  # noqa: E402

_register_eval(app)
from redflags.cli.corpus import register as _register_corpus  # noqa: E402

_register_corpus(app)
from redflags.cli.serve import register as _register_serve  # noqa: E402

_register_serve(app)

def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
