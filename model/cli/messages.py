"""The one error format of the command line, and the check for a command's extra.

Every problem a command reports is one line on stderr, `redflags: error: <message>`; `fail` adds the
exit status. Commands whose packages are an extra call `need_extra` first.
"""

from __future__ import annotations

from typing import NoReturn

import typer


def error(message: str) -> None:
    """One line on stderr in the format every redflags error uses."""
    typer.echo(f"redflags: error: {message}", err=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """The error line, then exit with `code` (1: the command failed; 2: usage)."""
    error(message)
    raise typer.Exit(code)


def need_extra(extra: str, command: str) -> None:
    """One error line naming `pip install 'redflags[<extra>]'` when a package of the extra is missing."""
    from redflags.extras import MissingExtraError, require

    try:
        require(extra, command)
    except MissingExtraError as e:
        fail(str(e))
