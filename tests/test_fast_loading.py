"""The quick loading path (loading.py, bert.py, tokenizer.py) gives what transformers and peft give."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from redflags.core import inference

from tests.test_evidence import AWKWARD


def test_bert_encoder_matches_transformers_on_the_same_weights() -> None:
    from redflags.core.bert import BertEncoder
    from redflags.core.modeling import tiny_config
    from transformers import AutoConfig, AutoModel

    cfg = tiny_config().encoder_config
    torch.manual_seed(0)
    hf = AutoModel.from_config(AutoConfig.for_model("bert", **{k: v for k, v in cfg.items() if k != "model_type"}),
                               add_pooling_layer=False).eval()
    ours = BertEncoder({**cfg, "model_type": "bert"}).eval()
    ours.load_state_dict({k: v for k, v in hf.state_dict().items() if k in ours.state_dict()})
    ids = torch.randint(5, 1000, (3, 11))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0  # padding
    mask[2, 2:] = 0
    with torch.no_grad():
        a = hf(input_ids=ids, attention_mask=mask).last_hidden_state
        b = ours(ids, mask).last_hidden_state
    keep = mask.bool()
    assert torch.allclose(a[keep], b[keep], atol=1e-5)


def test_other_architectures_fall_back_to_transformers() -> None:
    from redflags.core.bert import supports

    assert supports({"model_type": "bert", "hidden_act": "gelu"})
    assert not supports({"model_type": "roberta", "hidden_act": "gelu"})
    assert not supports({"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "relative_key"})


def test_scoring_tokenizer_gives_transformers_ids_offsets_and_words(tiny_model_dir: Path, tokenizer) -> None:
    from redflags.core.tokenizer import ScoringTokenizer

    ours = ScoringTokenizer(tiny_model_dir)
    texts = [t for a in AWKWARD for t in a.splitlines() if t.strip()] + ["", "x" * 3000]
    for max_length in (8, 64):
        a = inference.tokenize_texts(tokenizer, texts, max_length, offsets=True)
        b = inference.tokenize_texts(ours, texts, max_length, offsets=True)
        assert a.ids == b.ids and a.offsets == b.offsets and a.words == b.words
        assert a.truncated.tolist() == b.truncated.tolist()
    assert ours.pad_token_id == tokenizer.pad_token_id and len(ours) == len(tokenizer)


@pytest.mark.slow
def test_folded_lora_scores_like_peft_merge(tmp_path: Path, tokenizer) -> None:
    import redflags
    from redflags.core.modeling import ModelConfig, RedflagsModel

    torch.manual_seed(0)
    model = RedflagsModel.from_base(ModelConfig(max_length=64))  # adapters on the packaged base encoder
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:  # (zero at init: give the adapters something to fold)
                p.normal_(0, 0.05)
    model.save_pretrained(tmp_path / "m", tokenizer)
    texts = ["Officials who asked not to be named said the plan may collapse.", "A shocking betrayal!", "Ok."]
    slow = RedflagsModel.from_pretrained(tmp_path / "m")
    slow.merge_adapters()
    ids, _ = inference.tokenize(slow.tokenizer, texts, 64)
    want = slow.calibrated_proba(inference.predict_logits(slow.eval(), ids, 0))
    scorer = redflags.load(tmp_path / "m", dtype="float32")
    assert type(scorer.model.encoder).__name__ == "BertEncoder"
    assert np.abs(scorer.predict_proba(texts) - want).max() < 1e-5
    scorer.save_pretrained(tmp_path / "again")  # an inference-only scorer still saves its directory
    assert np.abs(redflags.load(tmp_path / "again").predict_proba(texts) - want).max() < 1e-5


def test_scorer_saves_an_inference_only_model_from_its_directory(tiny_model_dir: Path, tmp_path: Path) -> None:
    import redflags

    scorer = redflags.load(tiny_model_dir)
    scorer.save_pretrained(tmp_path / "copy")
    texts = ["Sources say it may happen."]
    assert np.allclose(redflags.load(tmp_path / "copy").predict_proba(texts), scorer.predict_proba(texts))


def test_scoring_imports_neither_transformers_nor_training_libraries(tiny_model_dir: Path) -> None:
    heavy = ["transformers", "peft", "datasets", "sklearn", "matplotlib", "pandas", "scipy"]
    code = (
        "import sys, redflags\n"
        f"s = redflags.load({str(tiny_model_dir)!r})\n"
        "s.score('Officials said it may rain. A shocking plan!').to_html()\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout

