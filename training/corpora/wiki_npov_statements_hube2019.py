"""Wikipedia NPOV biased vs neutral statements (Hube & Fetahu, WSDM 2019).

Markers: sensational_framing only, as a proxy (loaded, non-neutral wording; Wikipedia, not news).
Label by file: `statements_biased.txt` -> 1; the three neutral pools (`cw-hard`, `featured`, `type_balanced`)
-> 0. A neutral line whose text is also in the biased file is skipped (conflicting labels); a text repeated
within the same label is kept once (later copies skipped, counted). Files mix LF and CRLF line endings.
doc_id: one per statement, `wiki_npov_statements_hube2019/<file stem>:<line>` (no article ids are given).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from redflags.training.corpora._text import read_lines
from redflags.training.corpora.registry import Skips, register
from redflags.training.records import Record, labels

NAME = "wiki_npov_statements_hube2019"
FILES = {
    "statements_biased.txt": 1,
    "statements_neutral_cw-hard.txt": 0,
    "statements_neutral_featured.txt": 0,
    "statements_neutral_type_balanced.txt": 0,
}


@register(NAME, informs=("sensational_framing",), kind="proxy", licence="not stated", required=tuple(FILES))
def load(folder: Path, skips: Skips) -> Iterator[Record]:
    """Biased statements first, then the neutral pools."""
    biased = {line.strip() for _, line in read_lines(folder / "statements_biased.txt") if line.strip()}
    seen: set[str] = set()
    for name, label in FILES.items():
        path = folder / name
        for n, raw in read_lines(path):
            text = raw.strip()
            if not text:
                continue  # blank lines separate nothing here; not rows
            if label == 0 and text in biased:
                skips.skip(path, n, "neutral statement also in the biased file")
                continue
            if text in seen:
                skips.skip(path, n, "duplicate statement")
                continue
            seen.add(text)
            yield Record(text, NAME, f"{NAME}/{path.stem}:{n}", labels(sensational_framing=label))
