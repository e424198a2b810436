"""The sentence-boundary measurement (redflags.eval.segmentation): its definitions on texts written
here, and the figures on the real corpora (skipped where ../shared/data is absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from redflags.eval.segmentation import Counts, main, measure, measure_article, polnear_units, ptc_units

PTC_LIKE = (
    "Harbour town votes to close its pier\n\n"
    "The council voted on Tuesday to close the pier.\n"
    "Advertisement\n"
    '"We were told it was safe.\n'
    "Then they told us it was not.\n"
    '.\n'
    'Nobody will say who decided," said a resident.\n'
)
POLNEAR_LIKE = (
    "The council voted on Tuesday to close the pier. Residents had asked for a\n"
    "delay.\n\n"
    "Officials from the U.S.\nArmy Corps of Engineers will inspect it\n\n"
    "The mayor said the repairs could cost $4 million.\n"
)


def test_reference_boundaries_are_line_ends_in_ptc_and_paragraph_ends_in_polnear() -> None:
    ref, units = ptc_units(PTC_LIKE)
    ends = sorted(PTC_LIKE[:e][-13:] for e in ref)
    assert len(units) == 6 and len(ref) == 5  # the "." line is left out; the article's end is not a boundary
    assert "Advertisement" in ends and all(PTC_LIKE[e] == "\n" for e in ref)
    ref, units = polnear_units(POLNEAR_LIKE)
    assert len(units) == 3 and sorted(POLNEAR_LIKE[:e][-6:] for e in ref) == ["delay.", "ect it"]


def test_counts_on_a_ptc_like_article() -> None:
    counts = Counts()
    measure_article(PTC_LIKE, *ptc_units(PTC_LIKE), counts, "a")
    assert counts.reference == 5 and counts.found == 5 and counts.recall == 1.0
    assert counts.wrong == 0 and counts.crossing == 0


def test_a_boundary_inside_a_single_sentence_unit_is_wrong() -> None:
    # "1.5 percent" has no sentence-final mark followed by a space: a split there would be wrong.
    counts = Counts()
    text = "Prices rose 1.5 percent\n\nThen they fell."
    measure_article(text, *polnear_units(text), counts, "b")
    assert counts.reference == 1 and counts.found == 1 and counts.right == 1 and counts.wrong == 0


def test_measure_reads_both_layouts_from_a_data_folder(tmp_path: Path) -> None:
    (tmp_path / "ptc_semeval2020_task11" / "train-articles").mkdir(parents=True)
    (tmp_path / "ptc_semeval2020_task11" / "train-articles" / "article1.txt").write_text(PTC_LIKE, encoding="utf-8")
    (tmp_path / "polnear_attribution" / "train" / "text").mkdir(parents=True)
    (tmp_path / "polnear_attribution" / "train" / "text" / "a.txt").write_text(POLNEAR_LIKE, encoding="utf-8")
    results = measure(tmp_path)
    assert results["ptc"].articles == 1 and results["polnear"].articles == 1
    assert results["polnear"].recall == 1.0 and results["polnear"].wrong == 0
    out = tmp_path / "seg.json"
    assert main(["--data-dir", str(tmp_path), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["ptc"]["recall"] == 1.0


def test_missing_corpora_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path)]) == 1
    assert "no PTC or PolNeAR articles" in capsys.readouterr().err


@pytest.mark.data
@pytest.mark.slow
def test_figures_on_ptc_stay_at_least_as_good_as_recorded(shared_data: Path) -> None:
    # docs/SEGMENTATION.md: PTC recall 0.974, precision 0.997 (before issue 11: 0.864 / 0.992).
    ptc = measure(shared_data)["ptc"]
    assert ptc.articles == 371
    assert ptc.recall >= 0.97 and ptc.precision >= 0.995
