"""The model card: corpora with licences, markers, style-not-truth note, metrics with their command."""

from __future__ import annotations

from pathlib import Path

from redflags.markers import MARKERS, STYLE_NOT_TRUTH
from redflags.core.modeling import RedflagsModel
from redflags.training.card import render_card, write_card


def _row(f1: float) -> dict:
    return {"n": 10, "positives": 4, "threshold": 0.5, "precision": 0.5, "recall": 0.5, "f1": f1, "pr_auc": 0.6, "ece": 0.1}


def harness(command: str) -> dict:
    per = {m: _row(0.7) for m in MARKERS}
    return {"command": command, "systems": {
        "model": {"metrics": {"markers": per, "per_corpus": {"babe": {"n": 10, "markers": {"sensational_framing": _row(0.8)}}}}},
        "tfidf_logreg": {"metrics": {"markers": {m: _row(0.4) for m in MARKERS},
                                     "per_corpus": {"babe": {"n": 10, "markers": {"sensational_framing": _row(0.3)}}}}},
    }}


def test_card_has_the_required_parts(tiny_model_dir: Path, tmp_path: Path) -> None:
    model = RedflagsModel.from_pretrained(tiny_model_dir)
    tok = model.tokenizer
    model.config.training_config = {"data": {"corpora": {"babe": {"weight": 1.0, "max_records": None}}}}
    model.save_pretrained(tmp_path / "m", tok)
    path = write_card(tmp_path / "m", {"Test split": harness("redflags evaluate --data all:test")})
    card = path.read_text()
    assert STYLE_NOT_TRUTH in card
    assert all(m in card for m in MARKERS)
    assert "| babe |" in card and "AGPL" in card  # corpus with its licence, from the registry
    assert "redflags evaluate --data all:test" in card
    assert "| sensational_framing | tfidf_logreg |" in card and "| babe | sensational_framing |" in card
    assert "## Intended use" in card and "## Limits" in card
    # without harness metrics the card says where they come from
    assert "write_card" in render_card(model.config, None)


def test_card_command(tiny_model_dir: Path, tmp_path: Path) -> None:
    import json
    import shutil

    from redflags.cli.app import app
    from typer.testing import CliRunner

    shutil.copytree(tiny_model_dir, tmp_path / "m")
    (tmp_path / "x.json").write_text(json.dumps(harness("redflags evaluate --data all:dev")))
    res = CliRunner().invoke(app, ["card", str(tmp_path / "m"), "--metrics", f"Dev split={tmp_path / 'x.json'}"])
    assert res.exit_code == 0, res.output
    assert "### Dev split" in (tmp_path / "m" / "README.md").read_text()
    bad = CliRunner().invoke(app, ["card", str(tmp_path / "m"), "--metrics", "nopath"])
    assert bad.exit_code == 1 and "TITLE=PATH" in bad.output
