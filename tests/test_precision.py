"""Fast scoring: dtype selection, the recorded parity check, batching and pools, streaming, threads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from redflags.core.precision import resolve_dtype

PASSED = {"bfloat16": {"passed": True}}
FAILED = {"bfloat16": {"passed": False}}


@pytest.mark.parametrize(
    ("native", "parity", "want"),
    [(True, PASSED, "bfloat16"), (False, PASSED, "float32"), (True, FAILED, "float32"), (True, {}, "float32")],
)
def test_auto_picks_bf16_only_with_native_support_and_a_passed_check(native: bool, parity: dict, want: str) -> None:
    assert resolve_dtype("auto", "cpu", parity, native_bf16=native) == want


def test_explicit_dtypes_are_kept_and_unknown_ones_refused() -> None:
    assert resolve_dtype("bfloat16", "cpu", {}, native_bf16=False) == "bfloat16"
    assert resolve_dtype("float32", "cpu", PASSED, native_bf16=True) == "float32"
    with pytest.raises(ValueError, match="dtype must be one of auto, float32, bfloat16, got 'fp16'"):
        resolve_dtype("fp16", "cpu", {})


def test_cpu_without_bf16_flags_is_detected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import torch
    from redflags.core import precision

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    info = tmp_path / "cpuinfo"
    info.write_text("flags\t\t: fpu sse avx avx2\n")
    monkeypatch.setattr(precision, "_CPUINFO", info)
    assert precision.cpu_has_native_bf16() is False
    info.write_text("flags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n")
    assert precision.cpu_has_native_bf16() is True


def test_load_auto_on_a_simulated_cpu_without_bf16(tiny_model_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import redflags
    from redflags.core import precision

    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    from redflags.eval.parity import record_parity

    record_parity(d, {"passed": True})
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    assert redflags.load(d, dtype="auto").dtype == "float32"
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert redflags.load(d, dtype="auto").dtype == "bfloat16"
    assert redflags.load(tiny_model_dir, dtype="auto").dtype == "float32"  # no parity recorded
    with pytest.raises(ValueError, match="dtype must be one of"):
        redflags.load(d, dtype="half")


def test_parity_check_is_recorded_in_the_model_directory(tiny_model_dir: Path, tmp_path: Path) -> None:
    import redflags
    from redflags.eval.parity import compare_precisions, record_parity

    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    scorer = redflags.load(d, dtype="float32")
    texts = ["Officials said it may rain.", "A shocking, disastrous plan.", "The vote is on Monday."] * 4
    labels = np.array([[1, 1, 0], [0, 0, 1], [0, 0, 0]] * 4)
    res = compare_precisions(scorer, texts, labels, batch_size=4)
    assert res["sentences"] == 12 and 0 <= res["max_abs_diff"] < 0.05
    assert set(res["markers"]) == set(scorer.markers)
    assert res["passed"] == (res["flag_change_rate"] <= 0.005 and all(
        e.get("f1_change", 0) >= -0.005 for e in res["markers"].values()))
    record_parity(d, res)
    raw = json.loads((d / "config.json").read_text())
    assert raw["redflags"]["parity"]["bfloat16"]["sentences"] == 12
    assert redflags.load(d).config.parity["bfloat16"]["passed"] == res["passed"]


def test_bf16_scores_stay_close_to_float32(tiny_model_dir: Path) -> None:
    import redflags

    texts = ["Officials, speaking anonymously, said the plan may collapse.", "The vote is on Monday."]
    p32 = redflags.load(tiny_model_dir, dtype="float32").predict_proba(texts)
    p16 = redflags.load(tiny_model_dir, dtype="bfloat16").predict_proba(texts)
    assert p16.dtype == np.float64 and np.abs(p32 - p16).max() < 0.05


ARTICLES = [
    "Officials who asked not to be named said the deal may collapse. The vote is on Monday.\n\nIt is unclear.",
    "A shocking, unprecedented betrayal! Critics say the plan is a disaster. " * 7,
    "",
    "One sentence only",
    "Sources close to the matter reportedly confirmed it. " * 30,
]


def test_results_do_not_depend_on_batch_size_or_pool(tiny_model_dir: Path) -> None:
    import redflags

    scorer = redflags.load(tiny_model_dir, dtype="float32")
    ref = [r.to_dict() for r in scorer.score_many(ARTICLES, batch_size=64, pool_size=100_000)]
    for batch_size, pool_size in ((1, 1), (3, 7), (32, 4096)):
        got = [r.to_dict() for r in scorer.score_many(ARTICLES, batch_size=batch_size, pool_size=pool_size)]
        for a, b in zip(ref, got):
            assert [s["flags"] for s in a["sentences"]] == [s["flags"] for s in b["sentences"]]
            for sa, sb in zip(a["sentences"], b["sentences"]):
                assert sa["text"] == sb["text"] and (sa["start"], sa["end"]) == (sb["start"], sb["end"])
                for m in sa["scores"]:
                    assert sa["scores"][m] == pytest.approx(sb["scores"][m], abs=1e-5)


def test_streaming_returns_reports_in_input_order_as_they_complete(tiny_model_dir: Path) -> None:
    import redflags

    scorer = redflags.load(tiny_model_dir)
    seen = []

    def texts():
        for i, t in enumerate(ARTICLES * 3):
            seen.append(i)
            yield t

    out = []
    for report in scorer.iter_score_many(texts(), batch_size=2, pool_size=5, sources=None):
        out.append(report.text)
        # a small pool flushes often: reports come back before the input is exhausted
        assert len(seen) <= len(ARTICLES * 3)
    assert out == ARTICLES * 3
    first = next(iter(scorer.iter_score_many(iter(ARTICLES * 100), pool_size=5)))
    assert first.text == ARTICLES[0]


@pytest.mark.parametrize(("name", "value", "exc"), [("batch_size", 2.5, TypeError), ("batch_size", 0, ValueError),
                                                    ("pool_size", True, TypeError), ("pool_size", -1, ValueError)])
def test_batch_and_pool_sizes_are_checked_even_with_nothing_to_score(tiny_model_dir: Path, name: str, value: object,
                                                                    exc: type) -> None:
    import redflags

    scorer = redflags.load(tiny_model_dir)
    with pytest.raises(exc, match=name):
        scorer.score_many([""], **{name: value})


def test_threads_option(tiny_model_dir: Path) -> None:
    import redflags
    import torch

    before = torch.get_num_threads()
    try:
        redflags.load(tiny_model_dir, threads=1)
        assert torch.get_num_threads() == 1
        with pytest.raises(ValueError, match="threads must be at least 1"):
            redflags.load(tiny_model_dir, threads=0)
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("native", [False, True])
def test_the_default_is_float32_on_every_cpu_and_reports_say_so(tiny_model_dir: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch, native: bool) -> None:
    """One answer everywhere: without an explicit request, a CPU with native bf16 (simulated) and a model
    whose parity check passed still score in float32, and every report records the precision."""
    import redflags
    from redflags.core import precision
    from redflags.eval.parity import record_parity

    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    record_parity(d, {"passed": True})
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native)
    scorer = redflags.load(d)
    assert scorer.dtype == "float32"
    report = scorer.score("Officials said it may rain. The vote is on Monday.")
    assert report.to_dict()["dtype"] == "float32"
    from redflags.scoring.report import render_html

    assert "computed in float32" in render_html([report])
