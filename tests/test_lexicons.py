"""Word and phrase lists for the lexicon baseline: parsing of tiny hand-written files, and the real lists."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from redflags.markers import MARKERS
from redflags.training import lexicons as L
from redflags.training.corpora import CorpusError


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    write(tmp_path / "hedge_lexicon_islam2020" / "hedge_words.txt", "#Epistemic Verbs\nsuggest\nSeem\n\n#Modals\nmay\nmay\n")
    write(tmp_path / "hedge_lexicon_islam2020" / "booster_words.txt", "clearly\nfact that")
    write(tmp_path / "anonymous_source_tracker" / "phrases.txt", '"sources said"\n"on condition of  anonymity"\n')
    write(tmp_path / "clickbait_chakraborty2016" / "hyperbolic_words.txt", "stunning\nepic\n")
    wb = openpyxl.Workbook()
    for w in ("Outrageous", "epic", None, "smear"):
        wb.active.append([w])
    (tmp_path / "babe").mkdir()
    wb.save(tmp_path / "babe" / "bias_word_lexicon.xlsx")
    return tmp_path


def test_lists(data_dir: Path) -> None:
    assert L.hedge_words(data_dir) == ["suggest", "seem", "may"]
    assert L.booster_words(data_dir) == ["clearly", "fact that"]
    assert L.anonymous_source_phrases(data_dir) == ["sources said", "on condition of anonymity"]
    assert L.bias_words(data_dir) == ["outrageous", "epic", "smear"]
    assert L.hyperbolic_words(data_dir) == ["stunning", "epic"]


def test_lexicon_for(data_dir: Path) -> None:
    assert L.lexicon_for("unverifiable_sourcing", data_dir) == ["sources said", "on condition of anonymity"]
    assert L.lexicon_for("hedging", data_dir) == ["suggest", "seem", "may"]
    assert L.lexicon_for("sensational_framing", data_dir) == ["outrageous", "epic", "smear", "stunning"]
    with pytest.raises(ValueError, match="unknown marker"):
        L.lexicon_for("clickbait", data_dir)


def test_missing_file_named(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="hedge_words.txt"):
        L.hedge_words(tmp_path)
    with pytest.raises(CorpusError, match="bias_word_lexicon.xlsx"):
        L.lexicon_for("sensational_framing", tmp_path)


def test_bad_workbook(tmp_path: Path) -> None:
    write(tmp_path / "babe" / "bias_word_lexicon.xlsx", "not a workbook")
    with pytest.raises(CorpusError, match="bias_word_lexicon.xlsx"):
        L.bias_words(tmp_path)


@pytest.mark.data
def test_real_lists(shared_data: Path) -> None:
    assert len(L.hedge_words(shared_data)) == 76
    assert len(L.booster_words(shared_data)) == 128
    assert len(L.anonymous_source_phrases(shared_data)) == 122
    assert len(L.bias_words(shared_data)) == 2122
    assert len(L.hyperbolic_words(shared_data)) == 346
    for m in MARKERS:
        assert L.lexicon_for(m, shared_data)
    assert "may" in L.hedge_words(shared_data)
    assert "sources said" in L.anonymous_source_phrases(shared_data)
