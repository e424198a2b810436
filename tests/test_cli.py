"""The `redflags` command line on a tiny model: formats, inputs, errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from redflags.cli import app
from redflags.markers import STYLE_NOT_TRUTH
from typer.testing import CliRunner

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED = SEEDS / "000_461dd1c7835a637b.txt"
runner = CliRunner()


def run(*args: str, stdin: str | bytes | None = None):
    return runner.invoke(app, list(args), input=stdin)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_text("Sources say the plan may fail. Officials denied it.\n", encoding="utf-8")
    (d / "b.txt").write_text("A shocking bombshell!\n", encoding="utf-8")
    (d / "notes.md").write_text("not an article\n", encoding="utf-8")
    return d


def test_help_says_what_commands_do() -> None:
    result = run("--help")
    assert result.exit_code == 0
    flat = " ".join(result.output.split())
    assert "score" in flat and "not whether it is true" in flat
    result = run("score", "--help")
    assert result.exit_code == 0
    flat = " ".join(result.output.split())
    for option in ("--model", "--format", "--out", "standard input", "PATH"):
        assert option in flat


def test_table_has_one_row_per_sentence_summary_and_disclaimer(tiny_model_dir: Path) -> None:
    result = run("score", str(SEEDS), "--model", str(tiny_model_dir))
    assert result.exit_code == 0, result.output
    out = result.output
    rows = [line for line in out.splitlines() if line.startswith("│") and line.split("│")[1].strip().isdigit()]
    assert [int(r.split("│")[1]) for r in rows] == list(range(1, 24))
    assert "summary" in out and "sensational_framing" in out
    assert " ".join(STYLE_NOT_TRUTH.split()[:6]) in " ".join(out.split())


def test_json_jsonl_html_formats(tiny_model_dir: Path, inputs: Path) -> None:
    result = run("score", str(inputs), "-m", str(tiny_model_dir), "--format", "json")
    assert result.exit_code == 0
    reports = json.loads(result.stdout)
    assert [Path(r["source"]).name for r in reports] == ["a.txt", "b.txt"]  # only .txt files, sorted
    assert reports[0]["n_sentences"] == 2 and reports[0]["disclaimer"] == STYLE_NOT_TRUTH

    result = run("score", str(inputs), "-m", str(tiny_model_dir), "--format", "jsonl")
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["n_sentences"] == 1

    result = run("score", str(inputs / "a.txt"), "-m", str(tiny_model_dir), "--format", "HTML")
    assert result.exit_code == 0 and result.stdout.startswith("<!DOCTYPE html>")


def test_out_writes_the_file(tiny_model_dir: Path, inputs: Path, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "r.html"
    result = run("score", str(inputs), "-m", str(tiny_model_dir), "-f", "html", "--out", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert target.read_text(encoding="utf-8").count('<section class="article">') == 2
    assert [p.name for p in target.parent.iterdir()] == ["r.html"]  # no temporary file left
    table = tmp_path / "r.txt"
    assert run("score", str(SEED), "-m", str(tiny_model_dir), "--out", str(table)).exit_code == 0
    assert "summary" in table.read_text(encoding="utf-8")


def test_unwritable_out_is_a_one_line_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("score", str(SEED), "-m", str(tiny_model_dir), "--out", str(blocker / "r.json"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"redflags: error: {blocker / 'r.json'}: cannot write the report")


def test_stdin(tiny_model_dir: Path) -> None:
    result = run("score", "-", "-m", str(tiny_model_dir), "-f", "json", stdin="First one. Second one.")
    assert result.exit_code == 0
    report = json.loads(result.stdout)[0]
    assert report["source"] == "<stdin>" and report["n_sentences"] == 2


def test_bad_inputs_are_one_line_errors_and_the_rest_is_scored(tiny_model_dir: Path, inputs: Path, tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Caf\xe9 au lait.".encode("latin-1"))
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    missing = tmp_path / "missing.txt"
    result = run(
        "score", str(latin1), str(inputs / "a.txt"), str(empty_dir), str(missing), "-m", str(tiny_model_dir), "-f", "jsonl"
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"redflags: error: {latin1}: not UTF-8 text (byte 0xe9 at position 3)",
        f"redflags: error: {empty_dir}: directory has no .txt files",
        f"redflags: error: {missing}: no such file or directory",
    ]
    scored = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(r["source"]).name for r in scored] == ["a.txt"]


def test_only_bad_inputs_exit_1_without_loading_a_model(tmp_path: Path) -> None:
    result = run("score", str(tmp_path / "nope.txt"), "-m", str(tmp_path / "no-model"))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"redflags: error: {tmp_path / 'nope.txt'}: no such file or directory"


def test_broken_model_directory_is_a_one_line_error(tmp_path: Path) -> None:
    result = run("score", str(SEED), "-m", str(tmp_path / "no-model"))
    assert result.exit_code == 1
    assert result.stderr.strip() == f"redflags: error: {tmp_path / 'no-model'}: model directory does not exist"


@pytest.mark.parametrize("args", [["score"], ["score", str(SEED), "--format", "xml"], ["frobnicate"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    assert run(*args).exit_code == 2


def test_empty_article_scores_to_no_rows(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "blank.txt").write_text("  \n\n ", encoding="utf-8")
    result = run("score", str(tmp_path / "blank.txt"), "-m", str(tiny_model_dir), "-f", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["n_sentences"] == 0


def test_console_script_module_entry_point(tiny_model_dir: Path, tmp_path: Path) -> None:
    # A real process: stderr, stdout and the exit status as a shell sees them.
    proc = subprocess.run(
        [sys.executable, "-m", "redflags.cli", "score", str(SEED), str(tmp_path / "gone.txt"), "-m", str(tiny_model_dir), "-f", "jsonl"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"redflags: error: {tmp_path / 'gone.txt'}: no such file or directory"
    assert json.loads(proc.stdout)["n_sentences"] == 23
