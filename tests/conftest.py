"""Shared fixtures: tiny models built in code (2 layers, 32 hidden, the real tokenizer)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# Tests never reach a hub, and two cores are shared: keep torch to one thread for stable, quick runs.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("REDFLAGS_DATA", REPO.parent / "shared" / "data"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=f"public corpora not found at {SHARED_DATA} (set REDFLAGS_DATA)")
    for item in items:
        if "data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The corpora folder; tests using it are marked `data` and skip where it is absent."""
    return SHARED_DATA


@pytest.fixture(scope="session")
def tokenizer():
    from redflags.core.modeling import load_base_tokenizer

    return load_base_tokenizer()


def make_tiny_model(seed: int = 0, **overrides):
    """A randomly initialised tiny RedflagsModel (deterministic for a seed)."""
    from redflags.core.modeling import RedflagsModel, tiny_config

    torch.manual_seed(seed)
    config = tiny_config()
    for k, v in overrides.items():
        setattr(config, k, v)
    return RedflagsModel.from_base(config)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    """A saved tiny model directory (random weights; thresholds 0.5; identity calibration)."""
    model = make_tiny_model()
    out = tmp_path_factory.mktemp("models") / "tiny"
    model.save_pretrained(out, tokenizer, card="# tiny test model\n")
    return out
