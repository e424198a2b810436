"""`redflags train` and `redflags data stats` through the CLI, on fake corpora and the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from redflags.cli.app import app
from redflags.markers import MARKERS
from typer.testing import CliRunner

from tests.test_dataset import fake_corpora, make_docs
from tests.test_train import toy_records

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_data_stats_prints_counts_per_split(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data_dir = fake_corpora(monkeypatch, tmp_path, {"corp_a": ("gold", make_docs("corp_a", 30, 4))})
    monkeypatch.chdir(tmp_path)  # the dataset cache goes under the working directory
    res = runner.invoke(app, ["data", "stats", "--corpora", "corp_a", "--data-dir", str(data_dir)])
    assert res.exit_code == 0, res.output
    assert "train:" in res.output and "dev:" in res.output and "test:" in res.output
    assert "corp_a" in res.output and "hedging" in res.output
    bad = runner.invoke(app, ["data", "stats", "--corpora", "nope", "--data-dir", str(data_dir)])
    assert bad.exit_code == 1 and "unknown corpus 'nope'" in bad.output


def test_train_command_writes_a_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hedge, sens = toy_records()
    data_dir = fake_corpora(monkeypatch, tmp_path, {"toy_hedge": ("gold", hedge), "toy_sens": ("gold", sens)})
    cfg = {"data": {"corpora": {"toy_hedge": {}, "toy_sens": {"weight": 2}}},
           "model": {"base_encoder": "tiny", "max_length": 32, "lora": {"enabled": False}},
           "training": {"max_steps": 50, "batch_size": 8, "eval_every": 5, "checkpoint_every": 5}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["train", str(path), "--out", "m", "--data-dir", str(data_dir), "--max-steps", "6",
                              "--set", "training.lr=2e-3", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m" / "config.json").is_file() and (tmp_path / "runs" / "m" / "config.yaml").is_file()
    saved = yaml.safe_load((tmp_path / "runs" / "m" / "config.yaml").read_text())
    assert saved["training"]["max_steps"] == 6 and saved["training"]["lr"] == 2e-3
    from redflags.scoring.scorer import load

    scorer = load(tmp_path / "m")
    assert scorer.predict_proba(["It may rain."]).shape == (1, len(MARKERS))
    bad = runner.invoke(app, ["train", str(path), "--out", "m2", "--set", "training.lr=fast"])
    assert bad.exit_code == 1 and "training.lr must be a number" in bad.output


@pytest.mark.data
@pytest.mark.slow
def test_tiny_config_trains_on_the_real_corpora(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["train", str(REPO / "configs" / "tiny.yaml"), "--out", "tiny", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "tiny" / "README.md").is_file()
