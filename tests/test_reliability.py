"""Bad inputs that used to get through: each gets a clear error, or is handled as documented."""

from __future__ import annotations

import json
import math
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def scorer(tiny_model_dir: Path):
    import redflags

    return redflags.load(tiny_model_dir)


# --- text ----------------------------------------------------------------------------------------


def test_lone_surrogates_are_read_as_replacement_characters_and_offsets_stay_exact(scorer) -> None:
    text = "Officials said it \ud800 may rain. The vote \udfff is on Monday."
    report = scorer.score(text)
    assert [text[s.start:s.end] for s in report.sentences] == [s.text for s in report.sentences]
    assert "\ud800" in report.sentences[0].text  # the report keeps the text as given
    clean = scorer.score(text.replace("\ud800", "\ufffd").replace("\udfff", "\ufffd"))
    for a, b in zip(report.sentences, clean.sentences):
        assert a.scores == pytest.approx(b.scores)  # scored as U+FFFD, one character for one


def test_a_batch_with_odd_strings_is_scored_whole(scorer) -> None:
    probs = scorer.predict_proba(["", " ", "\x00", "\ud800", "A normal sentence."])
    assert probs.shape == (5, 3) and ((probs >= 0) & (probs <= 1)).all()
    reports = scorer.score_many(["Fine text.", "bad \ud800 text.", "More fine text."])
    assert [len(r.sentences) for r in reports] == [1, 1, 1]


# --- model directories ---------------------------------------------------------------------------


def test_non_finite_weights_are_refused_naming_the_tensor(tiny_model_dir: Path, tmp_path: Path) -> None:
    from redflags.core.modeling import ModelLoadError, RedflagsModel
    from safetensors.torch import load_file, save_file

    bad = tmp_path / "nan"
    shutil.copytree(tiny_model_dir, bad)
    state = load_file(str(bad / "model.safetensors"))
    state["head.weight"][0, 0] = float("nan")
    save_file(state, str(bad / "model.safetensors"))
    import redflags

    for load in (redflags.load, RedflagsModel.from_pretrained):
        with pytest.raises(ModelLoadError, match=r"nan.*head\.weight holds NaN or infinite"):
            load(bad)


def test_config_values_of_the_wrong_type_name_the_key(tiny_model_dir: Path, tmp_path: Path) -> None:
    import redflags
    from redflags.core.modeling import ModelLoadError

    for key, value, words in (("max_length", "long", "max_length must be an integer, got 'long'"),
                              ("thresholds", {"hedging": "high"}, "thresholds.hedging must be a finite number"),
                              ("calibration", {"hedging": {"a": float("nan"), "b": 0}}, "calibration.hedging")):
        bad = tmp_path / key
        shutil.copytree(tiny_model_dir, bad)
        raw = json.loads((bad / "config.json").read_text())
        raw["redflags"][key] = value
        (bad / "config.json").write_text(json.dumps(raw))
        with pytest.raises(ModelLoadError, match=words):
            redflags.load(bad)


class _Boom:
    def __reduce__(self):  # unpickling this would create the file named below
        return (open, (os.environ["REDFLAGS_PWNED"], "w"))


def test_loading_never_unpickles(tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import redflags

    d = tmp_path / "m"
    shutil.copytree(tiny_model_dir, d)
    flag = tmp_path / "pwned"
    monkeypatch.setenv("REDFLAGS_PWNED", str(flag))
    for name in ("pytorch_model.bin", "model.pt", "training_args.bin"):
        (d / name).write_bytes(pickle.dumps(_Boom()))
    redflags.load(d).score("Officials said it may rain.")
    from redflags.core.modeling import RedflagsModel

    RedflagsModel.from_pretrained(d)
    assert not flag.exists()


# --- reports -------------------------------------------------------------------------------------


def test_article_text_is_inert_in_the_html_report(scorer) -> None:
    from redflags.scoring.evidence import Evidence
    from redflags.scoring.report import ArticleReport, SentenceScore

    evil = '"><img src=x onerror=alert(1)> <script>alert(2)</script> sources say.'
    page = scorer.score(evil, source='<b onmouseover="x">name</b>').to_html()
    assert "<script>" not in page and "<img" not in page and "<b onmouseover" not in page
    ev = (Evidence("hedging", 0, len(evil), evil, 0.9),)
    s = SentenceScore(0, evil, 0, len(evil), {"unverifiable_sourcing": 0.9, "hedging": 0.9, "sensational_framing": 0.9},
                      {"unverifiable_sourcing": True, "hedging": True, "sensational_framing": True}, evidence=ev)
    page = ArticleReport(evil, [s], tuple(s.scores), {m: 0.5 for m in s.scores}, model='"><script>').to_html()
    assert "<script>" not in page and "<img" not in page and "onerror=alert(1)>" not in page.replace("&gt;", "")


def test_json_reports_are_strict(scorer) -> None:
    report = scorer.score("Officials said it may rain.")
    assert json.loads(report.to_json(), parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    assert all(math.isfinite(p) for s in report.sentences for p in s.scores.values())


# --- command line --------------------------------------------------------------------------------


def test_closed_stdin_is_one_error_line_and_other_inputs_are_scored(tiny_model_dir: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("Officials said it may rain.")
    code = ("import sys; sys.stdin.close(); from redflags.cli import main; "
            f"sys.argv = ['redflags', 'score', '-', {str(good)!r}, '--model', {str(tiny_model_dir)!r}, '-f', 'json']; main()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == ["redflags: error: <stdin>: standard input is closed; give file paths instead of -"]
    assert json.loads(out.stdout)[0]["source"] == str(good)


def test_non_utf8_evaluation_file_names_file_and_line(tmp_path: Path) -> None:
    from redflags.eval.interchange import InterchangeError, read_jsonl

    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"id": 1, "text": "ok"}\n{"id": 2, "text": "caf\xe9"}\n')
    with pytest.raises(InterchangeError, match=r"bad\.jsonl:2: not UTF-8 \(byte 0xe9 at column 23\)"):
        read_jsonl(path)


# --- temporary folders ---------------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_folders_of_killed_writers_are_removed(tmp_path: Path) -> None:
    from redflags.atomic import atomic_dir, write_text

    dead = _dead_pid()
    stale = [tmp_path / f".model.tmp-{dead}-abcd1234", tmp_path / f".model.old-{dead}",
             tmp_path / f".report.md.{dead}-xyz.tmp"]
    live = tmp_path / f".model.tmp-{os.getppid()}-live"  # a running process's: left alone
    foreign = [tmp_path / ".model.tmp-notours", tmp_path / ".other.tmp-1-x", tmp_path / "model.tmp-1-x"]
    for p in [*stale[:2], live, *foreign[:2]]:
        p.mkdir()
        (p / "weights").write_text("x")
    stale[2].write_text("half")
    foreign[2].write_text("keep")
    with atomic_dir(tmp_path / "model") as tmp:
        (tmp / "config.json").write_text("{}")
    write_text(tmp_path / "report.md", "done")
    assert not any(p.exists() for p in stale)
    assert live.exists() and all(p.exists() for p in foreign)
    assert (tmp_path / "model" / "config.json").is_file() and (tmp_path / "report.md").read_text() == "done"


def test_killed_model_write_leaves_nothing_after_the_next_write(tiny_model_dir: Path, tmp_path: Path) -> None:
    # A real kill: a child starts writing a model directory and is SIGKILLed inside the write.
    out = tmp_path / "out"
    code = ("import os, signal, redflags\nfrom redflags import atomic\n"
            f"s = redflags.load({str(tiny_model_dir)!r})\n"
            "real = atomic.atomic_dir\n"
            "import contextlib\n"
            "@contextlib.contextmanager\n"
            "def dying(path):\n"
            "    with real(path) as tmp:\n"
            "        yield tmp\n"
            "        os.kill(os.getpid(), signal.SIGKILL)\n"
            "import redflags.core.modeling as m; m.atomic_dir = dying\n"
            f"s.save_pretrained({str(out)!r})\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -9
    assert list(tmp_path.glob(".out.tmp-*"))  # the killed write's folder
    import redflags

    redflags.load(tiny_model_dir).save_pretrained(out)
    assert not list(tmp_path.glob(".out.*")) and (out / "config.json").is_file()


# --- segmentation --------------------------------------------------------------------------------


def test_one_item_per_line_is_segmented_line_by_line() -> None:
    from redflags.scoring.segment import segment

    assert len(segment("\n".join(["word"] * 50_000))) == 50_000
    table = "Name | Age\nBob | 32\nAda | 36\nTim | 41"
    assert [s.text for s in segment(table)] == table.split("\n")
    seed = "These deployments, part of the U.S.\nEuropean Command, reflect a wider shift in policy today."
    assert len(segment(seed)) == 1

