"""The corpora's own word and phrase lists, for the evaluation's lexicon baseline.

Each function reads one list from the data directory (`data_dir`, default: the corpora's
`default_data_dir()`) and returns its entries stripped, lower-cased and de-duplicated in file order.
A missing file raises CorpusError naming it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from redflags.markers import MARKERS
from redflags.training.corpora.registry import CorpusError, default_data_dir

log = logging.getLogger(__name__)

HEDGE_FILE = ("hedge_lexicon_islam2020", "hedge_words.txt")
BOOSTER_FILE = ("hedge_lexicon_islam2020", "booster_words.txt")
ANON_FILE = ("anonymous_source_tracker", "phrases.txt")
BIAS_FILE = ("babe", "bias_word_lexicon.xlsx")
HYPERBOLIC_FILE = ("clickbait_chakraborty2016", "hyperbolic_words.txt")


def _path(data_dir: Path | str | None, parts: tuple[str, str]) -> Path:
    path = Path(data_dir if data_dir is not None else default_data_dir()).joinpath(*parts)
    if not path.is_file():
        raise CorpusError(f"lexicon file {path} is missing (set --data-dir or $REDFLAGS_DATA to the corpora folder)")
    return path


def _dedupe(entries: list[str]) -> list[str]:
    return list(dict.fromkeys(e for e in entries if e))


def _read_list(path: Path, strip_quotes: bool = False) -> list[str]:
    """Entries of a one-per-line list; `#` lines are section headers, blank lines are ignored."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not valid UTF-8 text: {exc.reason}") from exc
    out = []
    for line in lines:
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if strip_quotes:
            entry = entry.strip('"').strip()
        out.append(" ".join(entry.lower().split()))
    return _dedupe(out)


def hedge_words(data_dir: Path | str | None = None) -> list[str]:
    """Hedges of Islam et al. 2020 (epistemic verbs, adverbs, adjectives, modals, approximators)."""
    return _read_list(_path(data_dir, HEDGE_FILE))


def booster_words(data_dir: Path | str | None = None) -> list[str]:
    """Boosters of Islam et al. 2020 ("clearly", "certainly"): the opposite of hedging, kept as printed."""
    return _read_list(_path(data_dir, BOOSTER_FILE))


def anonymous_source_phrases(data_dir: Path | str | None = None) -> list[str]:
    """The Anonymous Source Tracker's search phrases ("sources said", "on condition of anonymity"), unquoted."""
    return _read_list(_path(data_dir, ANON_FILE), strip_quotes=True)


def bias_words(data_dir: Path | str | None = None) -> list[str]:
    """BABE's bias-word lexicon (first column of the first sheet of bias_word_lexicon.xlsx, no header)."""
    import openpyxl  # imported here: only this list needs it

    path = _path(data_dir, BIAS_FILE)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a bad workbook
        raise CorpusError(f"{path}: cannot read workbook: {exc}") from exc
    try:
        words = [str(row[0]) for row in wb.worksheets[0].iter_rows(values_only=True) if row and row[0] is not None]
    finally:
        wb.close()
    return _dedupe([" ".join(w.lower().split()) for w in words])


def hyperbolic_words(data_dir: Path | str | None = None) -> list[str]:
    """Hyperbolic words of Chakraborty et al. 2016 ("absolutely", "adorable", ...)."""
    return _read_list(_path(data_dir, HYPERBOLIC_FILE))


def lexicon_for(marker: str, data_dir: Path | str | None = None) -> list[str]:
    """The word/phrase list for one marker: U anonymous-source phrases, H hedges, S bias + hyperbolic words."""
    if marker == "unverifiable_sourcing":
        return anonymous_source_phrases(data_dir)
    if marker == "hedging":
        return hedge_words(data_dir)
    if marker == "sensational_framing":
        return _dedupe(bias_words(data_dir) + hyperbolic_words(data_dir))
    raise ValueError(f"unknown marker {marker!r}; expected one of {MARKERS}")
