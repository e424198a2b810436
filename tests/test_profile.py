"""The article profile: the reference distribution a model directory stores, and reports that use it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from redflags.scoring.profile import REFERENCE_FILE, read_reference
from redflags.training import reference as ref_mod
from redflags.training.config import SplitConfig
from redflags.training.dataset import split_of

TEXTS = {f"doc{i}": "Sources say it may rain. The vote is on Monday. " * (i % 3 + 1) for i in range(40)}


@pytest.fixture
def fake_corpora(monkeypatch: pytest.MonkeyPatch) -> None:
    """PolNeAR and BASIL replaced by 40 + 10 tiny articles (no data files needed)."""
    monkeypatch.setattr(ref_mod, "polnear_files", lambda data_dir: (Path(f"{d}.txt") for d in TEXTS))
    monkeypatch.setattr(ref_mod, "article_text", lambda corpus, doc_id, data_dir: TEXTS[doc_id])
    monkeypatch.setattr(ref_mod.basil_fan2019, "article_texts", lambda data_dir: (
        ("basil_fan2019", f"basil_fan2019/t{i}", "A shocking headline!\n\nOfficials said so.") for i in range(10)))


def test_reference_uses_only_train_split_articles_in_a_seeded_sample(fake_corpora: None) -> None:
    fractions = SplitConfig()
    picked, available = ref_mod.reference_articles(None, 13, fractions, max_articles=20, sample_seed=1)
    assert len(picked) == 20
    assert all(split_of(c, d, 13, fractions) == "train" for c, d, _ in picked)
    assert sum(available.values()) == sum(split_of(ref_mod.POLNEAR, d, 13, fractions) == "train" for d in TEXTS) + sum(
        split_of("basil_fan2019", f"basil_fan2019/t{i}", 13, fractions) == "train" for i in range(10))
    again, _ = ref_mod.reference_articles(None, 13, fractions, max_articles=20, sample_seed=1)
    assert [d for _, d, _ in again] == [d for _, d, _ in picked]


def test_build_write_and_use_the_reference(fake_corpora: None, tiny_model_dir: Path, tmp_path: Path) -> None:
    import redflags

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    content = ref_mod.build_reference(model, max_articles=12, sample_seed=3, command="redflags profile-reference")
    assert content["sample"]["articles"] == 12 and content["split"]["name"] == "train"
    for shares in content["shares"].values():
        assert len(shares) == 12 and shares == sorted(shares) and all(0 <= x <= 1 for x in shares)
    assert "PolNeAR" in content["description"] and "ptc_semeval2020_task11" in content["excluded"]
    ref_mod.write_reference(model, content)
    assert [p.name for p in model.iterdir() if p.name.startswith(".")] == []  # written atomically, nothing left

    scorer = redflags.load(model)
    assert content["model"]["version"] == scorer.model_version and scorer.reference is not None
    report = scorer.score("Sources say it may rain. The vote is on Monday.")
    d = report.to_dict()
    assert set(d["profile"]["markers"]) == set(scorer.markers) and "style, not truth" in d["profile"]["note"]
    for m, p in d["profile"]["markers"].items():
        below = sum(x < round(p["share"], 6) for x in content["shares"][m])
        assert p["percentile"] == round(below / 12, 4)
    assert "Against ordinary news" in report.to_html()

    from redflags.training.card import write_card

    card = write_card(model).read_text(encoding="utf-8")  # the card describes the reference set
    assert "## Reference profile" in card and "never dev or test" in card and "| hedging |" in card


def test_a_reference_of_another_model_version_or_a_broken_file_is_ignored(tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    good = {"format": 1, "description": "x", "model": {"version": "aaa"}, "shares": {"hedging": [0.0, 0.5]}}
    (tmp_path / REFERENCE_FILE).write_text(json.dumps(good))
    assert read_reference(tmp_path, "aaa").n_articles == 2
    assert read_reference(tmp_path, "bbb") is None and "made with model version aaa" in caplog.text
    (tmp_path / REFERENCE_FILE).write_text("{not json")
    assert read_reference(tmp_path, "aaa") is None
    assert read_reference(tmp_path / "absent", "aaa") is None


@pytest.mark.slow
def test_the_shipped_model_carries_its_reference_profile() -> None:
    import redflags
    from redflags.scoring.scorer import DEFAULT_MODEL_DIR

    raw = json.loads((DEFAULT_MODEL_DIR / REFERENCE_FILE).read_text(encoding="utf-8"))
    assert raw["split"]["name"] == "train" and raw["sample"]["articles"] >= 300
    scorer = redflags.load()
    assert raw["model"]["version"] == scorer.model_version  # made by this very model
    text = (Path(__file__).resolve().parents[1] / "seeds" / "000_461dd1c7835a637b.txt").read_text(encoding="utf-8")
    profile = scorer.score(text).profile
    assert profile is not None and set(profile) == set(scorer.markers)
