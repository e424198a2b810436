"""The `redflags` command line on a tiny model: formats, inputs, errors and exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from redflags.cli.app import app
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
    assert result.stderr == (f"redflags: error: {blocker / 'r.json'}: cannot write the report "
                             f"({blocker} is not a directory)\n")


def test_out_writes_through_a_symbolic_link_and_into_a_fifo(tiny_model_dir: Path, tmp_path: Path) -> None:
    import os
    import threading

    target = tmp_path / "target.json"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(target.name)
    assert run("score", str(SEED), "-m", str(tiny_model_dir), "-f", "json", "-o", str(link)).exit_code == 0
    assert link.is_symlink() and json.loads(target.read_text(encoding="utf-8"))[0]["n_sentences"] == 23
    # A path that is not a regular file (a pipe here, /dev/stdout for a person) is written into, never replaced.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    # daemon: were the pipe replaced by a file, nothing would ever open it for writing
    reader = threading.Thread(target=lambda: got.append(fifo.read_text(encoding="utf-8")), daemon=True)
    reader.start()
    result = run("score", str(SEED), "-m", str(tiny_model_dir), "-f", "jsonl", "-o", str(fifo))
    reader.join(timeout=120)
    assert result.exit_code == 0 and json.loads(got[0])["n_sentences"] == 23
    assert fifo.is_fifo() and sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "pipe", "target.json"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device whose writes fail: disk full)")
@pytest.mark.parametrize("fmt", ["table", "json"])
def test_a_full_disk_on_standard_output_is_a_one_line_error(tiny_model_dir: Path, fmt: str) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "redflags", "score", str(SEED), "-m", str(tiny_model_dir), "-f", fmt],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr == "redflags: error: standard output: cannot write the report (No space left on device)\n"


def test_stdin(tiny_model_dir: Path) -> None:
    result = run("score", "-", "-m", str(tiny_model_dir), "-f", "json", stdin="First one. Second one.")
    assert result.exit_code == 0
    report = json.loads(result.stdout)[0]
    assert report["source"] == "<stdin>" and report["n_sentences"] == 2
    twice = run("score", "-", "-", "-m", str(tiny_model_dir), "-f", "json", stdin="First one. Second one.")
    assert twice.exit_code == 1 and len(json.loads(twice.stdout)) == 1
    assert twice.stderr == "redflags: error: <stdin>: standard input is named more than once; it can be read only once\n"


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


def test_a_model_path_that_is_a_file_says_so(tmp_path: Path, tiny_model_dir: Path) -> None:
    result = run("score", str(SEED), "-m", str(tiny_model_dir / "config.json"))
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"redflags: error: {tiny_model_dir / 'config.json'}: is a file; --model takes "
                                     "the model's folder (the one holding config.json)")


def test_empty_inputs_are_errors_as_in_score_corpus(tiny_model_dir: Path, inputs: Path, tmp_path: Path) -> None:
    (tmp_path / "blank.txt").write_text("  \n\n ", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    result = run("score", str(tmp_path / "blank.txt"), str(tmp_path / "empty.txt"), str(inputs / "a.txt"),
                 "-m", str(tiny_model_dir), "-f", "jsonl")
    assert result.exit_code == 1  # as score-corpus: the rest is scored, the run says some input failed
    assert result.stderr.splitlines() == [f"redflags: error: {tmp_path / 'blank.txt'}: the file holds only blank lines",
                                          f"redflags: error: {tmp_path / 'empty.txt'}: the file is empty"]
    assert [Path(json.loads(line)["source"]).name for line in result.stdout.splitlines()] == ["a.txt"]
    assert run("score", "-", "-m", str(tiny_model_dir), stdin=" \n").stderr.strip() == (
        "redflags: error: <stdin>: standard input holds no text")


def test_folders_name_the_subfolders_they_skip_and_recurse_on_request(tiny_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "news" / "more" / "deeper").mkdir(parents=True)
    (tmp_path / "news" / "top.txt").write_text("Officials said so.", encoding="utf-8")
    (tmp_path / "news" / "more" / "deeper" / "inner.txt").write_text("It may rain.", encoding="utf-8")
    folder = str(tmp_path / "news")
    flat = run("score", folder, "-m", str(tiny_model_dir), "-f", "jsonl")
    assert flat.exit_code == 0 and [Path(json.loads(x)["source"]).name for x in flat.stdout.splitlines()] == ["top.txt"]
    assert flat.stderr.strip() == (f"redflags: note: {folder}: not scored: the .txt files in its subfolder more "
                                   "(--recursive scores them)")
    deep = run("score", folder, "-r", "-m", str(tiny_model_dir), "-f", "jsonl")
    assert deep.exit_code == 0 and deep.stderr == ""
    assert [Path(json.loads(x)["source"]).name for x in deep.stdout.splitlines()] == ["inner.txt", "top.txt"]


def test_console_script_module_entry_point(tiny_model_dir: Path, tmp_path: Path) -> None:
    # A real process: stderr, stdout and the exit status as a shell sees them.
    proc = subprocess.run(
        [sys.executable, "-m", "redflags", "score", str(SEED), str(tmp_path / "gone.txt"), "-m", str(tiny_model_dir), "-f", "jsonl"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"redflags: error: {tmp_path / 'gone.txt'}: no such file or directory"
    assert json.loads(proc.stdout)["n_sentences"] == 23


# --- help ---------------------------------------------------------------------------------------


def _commands():
    import typer.main
    from redflags.cli.app import _clean_help

    root = typer.main.get_command(app)
    _clean_help(root)

    def walk(cmd, path):
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, [*path, name])

    return list(walk(root, []))


def test_every_help_is_plain_and_whole_at_80_columns() -> None:
    commands = _commands()
    assert len(commands) > 10
    for path, cmd in commands:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, (path, result.output)
        out = result.output
        for odd in ("<bool>", "<list[", "<int", "<float", "<path>", "<str>", "…", "╭"):
            assert odd not in out, (path, odd)
        assert max(len(line) for line in out.splitlines()) <= 80, path
        tokens = set(out.replace(",", " ").replace("/", " ").split())
        for param in cmd.params:
            for name in [*param.opts, *getattr(param, "secondary_opts", [])]:
                if name.startswith("-"):
                    assert name in tokens, (path, name)
        for name in getattr(cmd, "commands", {}):
            assert name in tokens, (path, name)
        assert "..." not in out.split("Commands:", 1)[-1] if "Commands:" in out else True  # summaries not cut


# --- the terminal table -------------------------------------------------------------------------


def _table(reports, **kwargs) -> str:
    import io

    from redflags.cli.table import render_table
    from rich.console import Console

    buf = io.StringIO()
    render_table(reports, Console(file=buf, width=100, color_system=None), **kwargs)
    return buf.getvalue()


def _flags(out: str) -> str:
    """The markers column, wrapped lines joined."""
    return " ".join(" ".join(line.split("│")[3].split()) for line in out.splitlines() if line.startswith("│"))


def _rows(out: str) -> list[int]:
    return [int(line.split("│")[1]) for line in out.splitlines() if line.startswith("│") and line.split("│")[1].strip().isdigit()]


LONG = ("This is a deliberately long sentence that runs well past the ninety characters the old table showed "
        "before it cut the text off with an ellipsis.")


def test_table_shows_whole_sentences_thresholds_and_the_same_numbers_as_the_summary() -> None:
    from tests.test_report import make_report

    report = make_report(f"{LONG}|Sources say it may happen.|Plain.", [(0.1, 0.0, 0.0), (0.9, 0.3, 0.1), (0.45, 0.0, 0.0)])
    out = _table([report])
    cells = " ".join(line.split("│")[2].strip() for line in out.splitlines() if line.startswith("│"))
    assert " ".join(LONG.split()) in " ".join(cells.split()) and "…" not in cells
    assert "unverifiable_sourcing 0.50; hedging 0.30; sensational_framing 0.90" in out  # thresholds in the header
    assert _rows(out) == [1, 2, 3]
    assert "0.90 (sentence 2)" in out  # the summary names the sentence as the table numbers it
    assert "below threshold: unverifiable_sourcing 0.45 < 0.50" in _flags(out)  # a near miss (80% of the threshold)


def test_long_tables_are_printed_in_parts_with_the_same_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich lays a table out whole, so a long one is printed in parts (memory); the parts line up."""
    from redflags.cli import table as cli
    from tests.test_report import make_report

    monkeypatch.setattr(cli, "TABLE_PART", 4)
    texts = ["Short."] * 9 + [LONG, "Sources say it may happen."]
    report = make_report("|".join(texts), [(0.1, 0.0, 0.0)] * 10 + [(0.9, 0.3, 0.1)])
    out = _table([report])
    assert _rows(out) == list(range(1, 12))
    assert out.count("markers flagged") == 1  # one header, over the first part
    bars = {tuple(i for i, c in enumerate(line) if c == "│") for line in out.splitlines()
            if line.startswith("│") and line.split("│")[1].strip().isdigit()}
    assert len(bars) == 1, bars  # every row's column borders at the same places in every part
    assert "0.90 (sentence 11)" in out
    flagged_only = _table([report], only_flagged=True)
    assert _rows(flagged_only) == [11] and "1 of 11 sentences shown" in flagged_only


def test_only_flagged_and_min_score_filter_the_rows() -> None:
    from tests.test_report import make_report

    report = make_report("One.|Two.|Three.", [(0.9, 0.0, 0.0), (0.3, 0.0, 0.0), (0.05, 0.0, 0.0)])
    assert _rows(_table([report], only_flagged=True)) == [1]
    assert "1 of 3 sentences shown (--only-flagged)" in _table([report], only_flagged=True)
    out = _table([report], min_score=0.2)
    assert _rows(out) == [1, 2] and "below threshold: unverifiable_sourcing 0.30 < 0.50" in _flags(out)
    assert _rows(_table([report], only_flagged=True, min_score=0.95)) == []


def test_filters_are_refused_outside_the_table(tiny_model_dir: Path) -> None:
    result = run("score", str(SEED), "-m", str(tiny_model_dir), "-f", "json", "--only-flagged")
    assert result.exit_code == 2
    result = run("score", str(SEED), "-m", str(tiny_model_dir), "--only-flagged", "--min-score", "0")
    assert result.exit_code == 0 and "summary" in result.output


def test_colours_on_a_terminal_and_plain_text_otherwise(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from redflags.cli.table import make_console, render_table
    from tests.test_report import make_report

    report = make_report("Sources say so.|Plain.", [(0.9, 0.0, 0.0), (0.1, 0.0, 0.0)])
    monkeypatch.delenv("NO_COLOR", raising=False)
    buf = io.StringIO()
    render_table([report], make_console(force_terminal=True, file=buf, width=100))
    assert "\x1b[" in buf.getvalue()  # a terminal: colours
    monkeypatch.setenv("NO_COLOR", "1")
    buf = io.StringIO()
    render_table([report], make_console(force_terminal=True, file=buf, width=100))
    assert "\x1b[" not in buf.getvalue() and "Sources say so." in buf.getvalue()  # NO_COLOR: plain
    monkeypatch.delenv("NO_COLOR")
    result = run("score", str(SEED), "-m", str(tiny_model_dir))  # not a terminal: plain
    assert result.exit_code == 0 and "\x1b[" not in result.output


def test_json_numbers_sentences_from_1_beside_the_index(tiny_model_dir: Path) -> None:
    result = run("score", str(SEED), "-m", str(tiny_model_dir), "-f", "json")
    report = json.loads(result.stdout)[0]
    assert [s["number"] - s["index"] for s in report["sentences"]] == [1] * 23
    for m in report["summary"].values():
        assert m["max_sentence_number"] == m["max_sentence"] + 1
    assert report["model"] == "tiny" and "/" not in report["model"] and len(report["model_version"]) == 12
    assert "profile" not in report  # the tiny model has no reference profile
    table = run("score", str(SEED), "-m", str(tiny_model_dir)).output
    best = report["summary"]["hedging"]
    assert f"{best['max_score']:.2f} (sentence {best['max_sentence_number']})" in table


def test_json_is_written_piece_by_piece_yet_equals_one_dumps(tiny_model_dir: Path, inputs: Path, tmp_path: Path) -> None:
    """The JSON is streamed one article at a time (a 5 MB article's is never one string), byte for byte
    what json.dumps(indent=2) gives, on standard output and in --out."""
    from redflags.cli.app import Format, _write_report
    from redflags.scoring.scorer import load

    texts = ["Sources say the plan may fail.\nOfficials denied it.", 'A "shocking" \\ bombshell!\n\nÜber 9 – été 東京.', ""]
    reports = load(tiny_model_dir).score_many(texts, sources=["a", "b", "empty"])
    for subset in ([], reports[:1], reports, reports[2:]):
        buf = io.StringIO()
        _write_report(buf, subset, Format.json, width=None)
        assert buf.getvalue() == json.dumps([r.to_dict() for r in subset], indent=2, ensure_ascii=False) + "\n"
    stdout = run("score", str(inputs), "-m", str(tiny_model_dir), "-f", "json").stdout
    target = tmp_path / "r.json"
    assert run("score", str(inputs), "-m", str(tiny_model_dir), "-f", "json", "-o", str(target)).exit_code == 0
    assert target.read_text(encoding="utf-8") == stdout
    assert json.loads(stdout)[1]["n_sentences"] == 1
