"""score-corpus against hostile input and output (issue 23): bad rows, damaged parts, links, the lock, Ctrl-C, gzip,
duplicate ids and empty input. Each test failed on the code before the fix."""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pa = pytest.importorskip("pyarrow", reason="score-corpus needs pyarrow (pip install 'redflags[corpus]')")
import pyarrow.parquet as pq  # noqa: E402

from redflags.corpus.engine import OutputConflictError, score_corpus  # noqa: E402
from redflags.corpus.inputs import open_input  # noqa: E402
from tests.test_corpus import _corpus, _jsonl, _table  # noqa: E402


def _score(path: Path, out: Path, model: Path, **kwargs):
    return score_corpus(path, out, model=model, threads=1, **{"shard_size": 2, **kwargs})


def _cli(*args: str):
    from typer.testing import CliRunner

    from redflags.cli.app import app

    return CliRunner().invoke(app, ["score-corpus", *args, "--no-progress"])


# --- extra fields are data ------------------------------------------------------------------------

def test_extra_fields_are_one_json_column_whatever_their_names_and_sizes(tmp_path: Path, tiny_model_dir: Path) -> None:
    """An integer beyond int64 overflowed the column; fields named like the table's columns clashed."""
    rows = _corpus(3)
    rows[0] |= {"n": 2**70, "sentences": "three", "input_sentences": [1, 2], "extra": {"x": None}}
    rows[1] |= {"n": 5}
    result = _score(_jsonl(tmp_path / "in.jsonl", rows), tmp_path / "out", tiny_model_dir)
    assert (result.articles, result.failed) == (3, 0)
    schema = pq.read_schema(tmp_path / "out" / "articles" / "part-00000.parquet")
    assert schema.field("extra").type == pa.string() and schema.field("sentences").type == pa.int32()
    assert not {"n", "outlet", "input_sentences", "year"} & set(schema.names)
    articles = _table(tmp_path / "out", "articles").to_pylist()
    extras = [json.loads(a["extra"]) for a in articles]
    assert extras[0] == {k: v for k, v in rows[0].items() if k not in ("id", "text")}
    assert extras[0]["n"] == 2**70 and extras[1]["n"] == 5 and "n" not in extras[2]
    assert articles[0]["sentences"] > 0  # the table's own column, not the input's field


def test_a_field_nested_5000_deep_is_one_error_row_and_the_rest_is_scored(tmp_path: Path,
                                                                           tiny_model_dir: Path) -> None:
    rows = _corpus(4)
    deep = '{"id": "deep", "text": "It may rain.", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    rows[1]["x"] = json.loads("[" * 300 + "]" * 300)  # deep, but within what JSON readers take: data
    path = _jsonl(tmp_path / "in.jsonl", [rows[0], rows[1], deep, rows[2], rows[3]])
    result = _score(path, tmp_path / "out", tiny_model_dir)
    assert (result.articles, result.failed) == (4, 1)
    [error] = _table(tmp_path / "out", "errors").to_pylist()
    assert (error["position"], error["where"]) == (2, "in.jsonl:3") and "nested too deeply" in error["reason"]
    extra = json.loads(_table(tmp_path / "out", "articles").to_pylist()[1]["extra"])
    assert extra["x"] == rows[1]["x"]


def test_text_or_id_that_is_not_valid_unicode_is_an_error_row(tmp_path: Path, tiny_model_dir: Path) -> None:
    """A lone surrogate (legal in JSON escapes, not in UTF-8) broke the whole shard's Parquet write."""
    lines = [_corpus(1)[0], '{"id": "s", "text": "Half a pair \\ud800 here."}', '{"id": "\\udc00", "text": "Fine."}',
             '{"id": "ok", "text": "Fine text.", "note": "\\ud83d"}']
    result = _score(_jsonl(tmp_path / "in.jsonl", lines), tmp_path / "out", tiny_model_dir)
    assert (result.articles, result.failed) == (2, 2)
    errors = _table(tmp_path / "out", "errors").to_pylist()
    assert [e["position"] for e in errors] == [1, 2] and all("not valid Unicode" in e["reason"] for e in errors)
    note = _table(tmp_path / "out", "articles").to_pylist()[1]["extra"]
    assert json.loads(note) == {"note": "\ud83d"}  # kept, as a JSON escape


# --- resume checks the files ----------------------------------------------------------------------

def test_resume_redoes_a_deleted_or_damaged_part_file(tmp_path: Path, tiny_model_dir: Path) -> None:
    path = _jsonl(tmp_path / "in.jsonl", _corpus(10))
    _score(path, tmp_path / "reference", tiny_model_dir)
    out = tmp_path / "out"
    _score(path, out, tiny_model_dir)
    (out / "sentences" / "part-00002.parquet").unlink()
    again = _score(path, out, tiny_model_dir)
    assert (again.shards, again.shards_skipped) == (5, 4)
    part = out / "articles" / "part-00003.parquet"  # the same size, one byte changed
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0xFF
    part.write_bytes(bytes(data))
    with open(out / "errors" / "part-00001.parquet", "ab") as f:  # grown
        f.write(b"\0")
    again = _score(path, out, tiny_model_dir)
    assert again.shards_skipped == 3
    for name in ("sentences", "articles", "errors"):
        assert _table(out, name).equals(_table(tmp_path / "reference", name)), name
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["sentences"] == _table(out, "sentences").num_rows == again.sentences
    assert manifest["counts"]["articles"] == _table(out, "articles").num_rows == 10


# --- where the output goes ------------------------------------------------------------------------

def test_an_output_folder_inside_the_input_folder_is_refused(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = tmp_path / "txt"
    folder.mkdir()
    for k, row in enumerate(_corpus(3)):
        (folder / f"{k}.txt").write_text(row["text"], encoding="utf-8")
    with pytest.raises(OutputConflictError, match="inside the input folder"):
        _score(folder, folder / "scores", tiny_model_dir)
    assert not (folder / "scores").exists()
    res = _cli(str(folder), "--out", str(folder / "sub" / "scores"), "--model", str(tiny_model_dir))
    assert res.exit_code == 1 and "inside the input folder" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_a_symlink_in_the_output_folder_is_refused_and_its_target_untouched(tmp_path: Path,
                                                                           tiny_model_dir: Path) -> None:
    path = _jsonl(tmp_path / "in.jsonl", _corpus(4))
    victim = tmp_path / "victim"
    victim.mkdir()
    for name in ("part-00000.parquet", "part-00007.parquet", "notes.txt"):
        (victim / name).write_text("keep me")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "sentences").symlink_to(victim)
    with pytest.raises(OutputConflictError, match="symbolic link"):
        _score(path, fresh, tiny_model_dir, overwrite=True)
    out = tmp_path / "out"
    _score(path, out, tiny_model_dir)
    os.rename(out / "sentences", tmp_path / "moved")
    (out / "sentences").symlink_to(victim)
    with pytest.raises(OutputConflictError, match="symbolic link"):
        _score(path, out, tiny_model_dir)  # a resume
    assert sorted(p.name for p in victim.iterdir()) == ["notes.txt", "part-00000.parquet", "part-00007.parquet"]
    assert all(p.read_text() == "keep me" for p in victim.iterdir())


# --- the lock -------------------------------------------------------------------------------------

def test_the_lock_has_never_two_holders_when_processes_race(tmp_path: Path) -> None:
    procs, trials = 3, 200
    from tests.lock_racer import DEAD_PID, race

    ctx = multiprocessing.get_context("spawn")  # (not fork: this process may hold torch's threads)
    start, held, released = ctx.Barrier(procs), ctx.Barrier(procs), ctx.Barrier(procs)
    results = ctx.Queue()
    workers = [ctx.Process(target=race, args=(str(tmp_path), trials, start, held, released, results))
               for _ in range(procs)]
    for w in workers:
        w.start()
    counts = [results.get(timeout=240) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    assert sum(doubled for _, doubled in counts) == 0
    assert sum(got for got, _ in counts) == trials  # exactly one holder in every trial, stale lock or not
    assert not (tmp_path / ".lock").exists() or (tmp_path / ".lock").read_text().strip() == str(DEAD_PID)


def test_the_lock_file_always_holds_a_pid(tmp_path: Path) -> None:
    """The pid is linked into place whole: there is no moment at which the lock exists and is empty."""
    from redflags.corpus.engine import _Lock

    seen = []
    real_link = os.link

    def spying_link(src, dst, *args, **kwargs):
        real_link(src, dst, *args, **kwargs)
        seen.append(Path(dst).read_text())

    import unittest.mock

    with unittest.mock.patch("os.link", spying_link), _Lock(tmp_path):
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"
    assert seen == [f"{os.getpid()}\n"]


# --- Ctrl-C ---------------------------------------------------------------------------------------

def test_ctrl_c_marks_the_manifest_interrupted_and_prints_the_command_that_resumes(tmp_path: Path,
                                                                                  tiny_model_dir: Path) -> None:
    # 400 articles in 200 shards: enough work that the run cannot end before the signal lands, even when
    # a loaded machine starves this polling loop (60 articles once finished in 5.9 s, before it).
    path = _jsonl(tmp_path / "in.jsonl", _corpus(400))
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [str(path), "--out", str(out), "--model", str(tiny_model_dir), "--shard-size", "2", "--threads", "1",
            "--no-progress"]
    # A suite started in the background (`pytest &` in a script) inherits an ignored SIGINT, and Python
    # keeps it ignored, so the run would finish as if never interrupted: give the child the terminal's
    # default, as a person pressing Ctrl+C has.
    proc = subprocess.Popen([sys.executable, "-m", "redflags", "score-corpus", *args, "--overwrite"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while len(list((out / "_shards").glob("*.json"))) < 2:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run committed no shards in 120 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    err = err.decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    committed = len(list((out / "_shards").glob("*.json")))
    assert committed < 200, "the interrupt came too late to test a resume"
    hint = next(line for line in err.splitlines() if "redflags score-corpus" in line)
    command = shlex.split(hint[hint.index("redflags score-corpus"):])
    assert "--overwrite" not in command  # (it would start again from nothing)
    rerun = subprocess.run([sys.executable, "-m", "redflags", *command[1:]], cwd=REPO, env=env, capture_output=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr.decode()
    assert f"{committed} of 200 shards were done before" in rerun.stderr.decode()
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


# --- gzip -----------------------------------------------------------------------------------------

def test_gzip_inputs_give_the_same_rows(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = _corpus(5)
    plain = _jsonl(tmp_path / "in.jsonl", rows)
    packed = tmp_path / "in.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert open_input(packed).kind == "jsonl"
    _score(plain, tmp_path / "plain", tiny_model_dir)
    _score(packed, tmp_path / "packed", tiny_model_dir)
    for name in ("sentences", "articles", "errors"):
        assert _table(tmp_path / "packed", name).equals(_table(tmp_path / "plain", name)), name

    folder = tmp_path / "txt"
    folder.mkdir()
    (folder / "a.txt.gz").write_bytes(gzip.compress(rows[0]["text"].encode()))
    (folder / "b.txt").write_text(rows[1]["text"], encoding="utf-8")
    (folder / "c.txt.gz").write_bytes(b"not gzip at all")
    assert open_input(folder).kind == "txt"
    result = _score(folder, tmp_path / "txt-out", tiny_model_dir)
    assert (result.articles, result.failed) == (2, 1)
    assert _table(tmp_path / "txt-out", "articles")["id"].to_pylist() == ["a", "b"]
    [error] = _table(tmp_path / "txt-out", "errors").to_pylist()
    assert error["id"] == "c" and "gzip" in error["reason"]
    first = _table(tmp_path / "txt-out", "sentences").filter(pa.compute.equal(pa.compute.field("id"), "a"))
    assert first["text"].to_pylist() == _table(tmp_path / "plain", "sentences").filter(
        pa.compute.equal(pa.compute.field("position"), 0))["text"].to_pylist()


# --- duplicate ids --------------------------------------------------------------------------------

def test_duplicate_ids_are_reported_or_refused_with_unique_ids(tmp_path: Path, tiny_model_dir: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    rows = _corpus(5)
    rows[0]["id"], rows[3]["id"] = 7, "7"  # the same id as text, as evaluate compares them
    rows[4]["id"] = rows[1]["id"]
    path = _jsonl(tmp_path / "in.jsonl", rows)
    with caplog.at_level("WARNING"):
        result = _score(path, tmp_path / "out", tiny_model_dir)
    assert result.articles == 5 and result.duplicate_ids == 2
    warning = " ".join(r.getMessage() for r in caplog.records if "more than once" in r.getMessage())
    assert "2 ids occur more than once (4 articles)" in warning and "'7' (in.jsonl:1, in.jsonl:4)" in warning
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["duplicate_ids"]["ids"] == 2 and manifest["duplicate_ids"]["examples"][0]["id"] == "7"

    with pytest.raises(ValueError, match="2 ids occur more than once.*--unique-ids"):
        _score(path, tmp_path / "strict", tiny_model_dir, unique_ids=True)
    assert not (tmp_path / "strict" / "sentences").exists()
    res = _cli(str(path), "--out", str(tmp_path / "strict"), "--model", str(tiny_model_dir), "--unique-ids")
    assert res.exit_code == 1 and "redflags: error:" in res.output and "Traceback" not in res.output
    assert "--unique-ids" in _cli("--help").output


# --- empty input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_an_empty_input_file_is_an_error_row(tmp_path: Path, tiny_model_dir: Path, content: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(content)
    result = _score(path, tmp_path / "out", tiny_model_dir)
    assert (result.articles, result.failed) == (0, 1)
    [error] = _table(tmp_path / "out", "errors").to_pylist()
    assert error["where"] == "in.jsonl" and "no articles" in error["reason"] and error["position"] is None
    res = _cli(str(path), "--out", str(tmp_path / "cli"), "--model", str(tiny_model_dir))
    assert res.exit_code == 1 and "1 failed (errors table)" in res.output
