"""The terminal table of `redflags score`: one row per sentence, flagged markers in their colours with their
evidence words, the summary and the article profile; long tables are printed in parts."""

from __future__ import annotations

import os
import re
import unicodedata
from typing import Optional

from redflags.core.probability import show_against
from redflags.markers import STYLE_NOT_TRUTH
from redflags.scoring.profile import PERCENTILE_NOTE
from redflags.scoring.report import NEAR_MISS  # (as on the HTML page: a score at 80% of its threshold is a near miss)
from rich.console import Console
from rich.table import Table
from rich.text import Text


# What an article must not send to a terminal: escape sequences (CSI "ESC [ ... m", OSC "ESC ] ... BEL"
# or "ESC \\" (titles, hyperlinks, clipboard), their one-byte C1 forms, other ESC pairs) and control
# characters. A tab or line break becomes a space; the rest is dropped.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI
    r"|(?:\x1b[\]PX^_]|[\x9d\x90\x98\x9e\x9f])(?:[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c))?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]?"  # other ESC sequences (and a lone ESC)
)


def _keep(c: str) -> bool:
    """Whether the character may reach the terminal (no control or bidirectional format character)."""
    return c.isprintable() or c == " " or (not c.isascii() and unicodedata.category(c) not in ("Cc", "Cf"))


def _visible(text: str) -> tuple[str, Optional[list[int]]]:
    """`text` as it may reach a terminal (see _ESCAPES; each whitespace character as a space), and for
    each index of `text` (and its end) the index in the result, so that spans can follow it (None when
    nothing moved)."""
    if text.isprintable():
        return text, None
    drop = [False] * len(text)
    for m in _ESCAPES.finditer(text):
        drop[m.start():m.end()] = [True] * (m.end() - m.start())
    out: list[str] = []
    where = [0] * (len(text) + 1)
    for i, c in enumerate(text):
        where[i] = len(out)
        if drop[i]:
            continue
        if c.isspace():
            out.append(" ")
        elif _keep(c):
            out.append(c)
    where[len(text)] = len(out)
    return "".join(out), where


def _clean(text: str) -> str:
    """`text` without escape sequences and control characters (see _visible)."""
    return _visible(text)[0]


def _shorten(text: str, width: int) -> str:
    flat = " ".join(_clean(text).split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


# A colour per marker, for flagged rows and their evidence words (markers of other models: cyan).
MARKER_COLOURS = {"unverifiable_sourcing": "red", "hedging": "magenta", "sensational_framing": "dark_orange"}
def _colour(marker: str) -> str:
    return MARKER_COLOURS.get(marker, "cyan")


def _flag_text(s, marker: str) -> Text:  # noqa: ANN001 - a SentenceScore (imported lazily)
    """`marker 0.83: “words” [technique]`, the marker in its colour; the evidence note when no word cleared."""
    out = Text.assemble((marker, f"bold {_colour(marker)}"), f" {s.scores[marker]:.2f}")
    if s.evidence is None:
        return out
    words = s.evidence_for(marker)
    if not words:
        return out + Text(" (no evidence word above the span threshold)", style="dim")
    out.append(": ")
    for k, ev in enumerate(words):
        if k:
            out.append(", ")
        out.append(f"\u201c{_shorten(ev.text, 40)}\u201d", style=_colour(marker))
        if ev.technique:
            out.append(f" [{ev.technique}]", style="dim")
    return out


def _flag_cell(s, marker: str) -> str:  # noqa: ANN001
    """The flag cell of one marker as plain text (see `_flag_text`)."""
    return _flag_text(s, marker).plain


def _sentence_text(s) -> Text:  # noqa: ANN001
    """The whole sentence (whitespace as spaces, no control characters or escape sequences), evidence words
    underlined in their marker's colour."""
    shown, where = _visible(s.text)
    text = Text(shown, style="" if s.flagged_markers else "dim")
    for ev in s.evidence or ():
        a, b = max(ev.start - s.start, 0), min(ev.end - s.start, len(s.text))
        if a < b and ev.marker in s.flagged_markers:
            text.stylize(f"bold underline {_colour(ev.marker)}", *((a, b) if where is None else (where[a], where[b])))
    return text


def _row_flags(s, thresholds: dict[str, float], min_score: Optional[float] = None) -> Text:  # noqa: ANN001
    """The flagged markers; on an unflagged row, the scores of near misses (and of those at --min-score)."""
    flagged = s.flagged_markers
    if flagged:
        out = Text("; ").join(_flag_text(s, m) for m in flagged)
    else:
        near = [m for m, p in s.scores.items() if p >= NEAR_MISS * thresholds[m] or (min_score is not None and p >= min_score)]
        out = Text("below threshold: " + ", ".join(f"{m} " + " < ".join(show_against(s.scores[m], thresholds[m])) for m in near)
                   if near else "-", style="dim")
    if s.truncated:
        out.append(" (truncated)", style="dim")
    if getattr(s, "windows", 1) > 1:
        out.append(f" (long: read in {s.windows} windows)", style="dim")
    return out


def _shown(s, only_flagged: bool, min_score: Optional[float]) -> bool:  # noqa: ANN001
    if only_flagged and not s.flagged_markers:
        return False
    return min_score is None or max(s.scores.values(), default=0.0) >= min_score


TABLE_PART = 1000  # rows per printed part of a long table


def render_table(reports: list, console: Console, only_flagged: bool = False, min_score: Optional[float] = None) -> None:
    """Terminal report per article: thresholds, one row per sentence (number, whole sentence wrapped to the
    width, flagged markers in their colours with their evidence words), the summary and the article profile."""
    for report in reports:
        console.print(Text(_clean(report.source or "article"), style="bold"))
        if report.model:
            console.print(Text(f"model: {report.model}" + (f", version {report.model_version}" if report.model_version else "")
                               + (f", computed in {report.dtype}" if report.dtype else ""), style="dim"))
        heads = Text("thresholds (flagged at or above): ")
        heads.append(Text("; ").join(Text.assemble((m, _colour(m)), f" {t:.2f}") for m, t in report.thresholds.items()))
        console.print(heads)
        shown = [s for s in report.sentences if _shown(s, only_flagged, min_score)]
        # rich lays a table out whole: a 5 MB article's 37,000 rows took ~210 MB more, so long tables are
        # printed in parts of TABLE_PART rows, with the same column widths (a border between parts).
        digits = len(str(shown[-1].number)) if shown else 1
        for first in range(0, max(len(shown), 1), TABLE_PART):
            table = Table(show_lines=False, expand=True, show_header=first == 0)
            table.add_column("#", justify="right", no_wrap=True, min_width=digits)
            table.add_column("sentence", overflow="fold", ratio=3)
            table.add_column("markers flagged (probability): evidence words", overflow="fold", ratio=2)
            for s in shown[first : first + TABLE_PART]:
                number = Text(str(s.number), style=f"bold {_colour(s.flagged_markers[0])}" if s.flagged_markers else "dim")
                table.add_row(number, _sentence_text(s), _row_flags(s, report.thresholds, min_score))
            if len(shown) < len(report.sentences) and first + TABLE_PART >= len(shown):
                filters = " and ".join(f for f in ("--only-flagged" if only_flagged else "",
                                                   f"--min-score {min_score:g}" if min_score is not None else "") if f)
                table.caption = f"{len(shown)} of {len(report.sentences)} sentences shown ({filters})"
            console.print(table)
        if report.skipped:
            console.print(f"{len(report.skipped)} boilerplate lines skipped (not scored)", style="dim")
        summary = Table(title="summary", title_justify="left")
        summary.add_column("marker", no_wrap=True)
        summary.add_column("sentences flagged", justify="right")
        summary.add_column("share", justify="right", no_wrap=True)
        summary.add_column("highest score", justify="right", no_wrap=True)
        summary.add_column("threshold", justify="right")
        for m, ms in report.summary.items():
            summary.add_row(Text(m, style=_colour(m)), f"{ms.flagged} of {len(report.sentences)}", f"{ms.share:.0%}",
                            ms.highest(), ms.threshold_text())
        console.print(summary)
        profile = report.profile
        if profile:
            console.print(Text("Against ordinary news:", style="bold"))
            for m, p in profile.items():
                console.print(Text.assemble("  ", (p.describe(m), _colour(m))))
            console.print(Text(f"Reference: {report.reference.description} (none from a dev or test split). {PERCENTILE_NOTE}",
                               style="dim"))
        console.print()
    console.print(f"Note: {STYLE_NOT_TRUTH}", style="italic")


def make_console(force_terminal: Optional[bool] = None, **kwargs) -> Console:  # noqa: ANN003
    """A console for the terminal: colours only on a terminal and without $NO_COLOR (no escape codes otherwise)."""
    plain = bool(os.environ.get("NO_COLOR"))
    return Console(force_terminal=force_terminal, color_system=None if plain else "auto", **kwargs)
