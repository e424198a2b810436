"""score-corpus: inputs, tables, errors, resume after a real SIGKILL, refusal of a changed run, engine parity."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, make_tiny_model

pa = pytest.importorskip("pyarrow", reason="score-corpus needs pyarrow (pip install 'redflags[corpus]')")
import pyarrow.dataset as pads  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from redflags.corpus.engine import OutputConflictError, score_corpus  # noqa: E402
from redflags.corpus.inputs import InputFormatError, open_input  # noqa: E402
from redflags.markers import MARKERS, TECHNIQUES  # noqa: E402

ARTICLES = [
    "Officials said the bridge would reopen in May. Critics say the repairs were rushed. It is unclear whether the "
    "budget will hold.",
    "The council met on Tuesday.\n\nAdvertisement\n\nIt approved the plan by seven votes to two. A leaked memo, seen by this paper, "
    "suggests the cost may double.",
    "SHOCKING: the miracle root they don't want you to know about! Doctors are terrified.",
    "Rain fell across the region. The U.S.\nNational Weather Service expects more on Friday.",
]


def _corpus(n: int = 12) -> list[dict]:
    """n articles made of the texts above, with extra fields of several types."""
    return [{"id": f"a{k:03d}", "text": ARTICLES[k % len(ARTICLES)] + f" Item {k}.", "outlet": ["x", "y"][k % 2],
             "year": 2000 + k, "tags": ["t", k] if k % 3 == 0 else None} for k in range(n)]


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def _table(out: Path, name: str):
    table = pads.dataset(out / name, format="parquet").to_table()
    keys = [("position", "ascending")] + ([("index", "ascending")] if name == "sentences" else [])
    return table.sort_by(keys)


@pytest.fixture(scope="module")
def evidence_model(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    """A tiny model with a token head (every marker flagged, so that rows carry evidence)."""
    model = make_tiny_model(token_head=True, techniques=list(TECHNIQUES), span_thresholds={m: 0.3 for m in MARKERS},
                            thresholds={m: 0.0 for m in MARKERS})
    out = tmp_path_factory.mktemp("corpus-models") / "tiny-evidence"
    model.save_pretrained(out, tokenizer)
    return out


# --- inputs ---------------------------------------------------------------------------------------

def test_jsonl_tables_match_scoring_the_articles_one_by_one(tmp_path: Path, evidence_model: Path) -> None:
    import redflags

    rows = _corpus(7)
    result = score_corpus(_jsonl(tmp_path / "in.jsonl", rows), tmp_path / "out", model=evidence_model, shard_size=3,
                          threads=1)
    assert (result.articles, result.failed, result.shards) == (7, 0, 3)
    scorer = redflags.load(evidence_model, threads=1)
    reports = [scorer.score(r["text"]) for r in rows]
    sentences = _table(tmp_path / "out", "sentences").to_pylist()
    expected = [(rows[k]["id"], k, s) for k, rep in enumerate(reports) for s in rep.sentences]
    assert len(sentences) == len(expected) == result.sentences
    for got, (art_id, position, s) in zip(sentences, expected):
        assert (got["id"], got["position"], got["index"], got["start"], got["end"], got["text"]) == \
            (art_id, position, s.index, s.start, s.end, s.text)
        assert rows[position]["text"][got["start"]:got["end"]] == got["text"]
        for m in MARKERS:
            assert got[f"p_{m}"] == pytest.approx(s.scores[m], abs=1e-5)
            assert got[f"flag_{m}"] == s.flags[m]
        assert [(e["marker"], e["start"], e["end"], e["text"]) for e in got["evidence"]] == \
            [(e.marker, e.start, e.end, e.text) for e in s.evidence]
        assert got["model_name"] == "tiny-evidence" and len(got["model_version"]) == 12
    articles = _table(tmp_path / "out", "articles").to_pylist()
    assert [a["id"] for a in articles] == [r["id"] for r in rows]
    for a, rep in zip(articles, reports):
        assert a["sentences"] == len(rep.sentences) and a["skipped_lines"] == len(rep.skipped)
        for m, ms in rep.summary.items():
            assert a[f"flagged_{m}"] == ms.flagged and a[f"max_sentence_{m}"] == ms.max_sentence
            assert a[f"percentile_{m}"] is None  # (the tiny model has no reference profile)
    assert [a["skipped_lines"] for a in articles[:3]] == [0, 1, 0]  # "Advertisement" is not scored
    # Extra fields are carried through as one JSON object per row (column `extra`), with their JSON types.
    schema = pq.read_schema(tmp_path / "out" / "articles" / "part-00000.parquet")
    assert schema.field("extra").type == pa.string() and "year" not in schema.names
    extras = [json.loads(a["extra"]) for a in articles]
    assert extras == [{k: v for k, v in r.items() if k not in ("id", "text")} for r in rows]
    assert extras[0]["tags"] == ["t", 0] and extras[1]["tags"] is None and extras[1]["year"] == 2001
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["counts"]["sentences"] == result.sentences
    assert "not whether it is true" in manifest["about"]


def test_parquet_txt_folder_and_saved_dataset_give_the_same_rows(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = [{"id": r["id"], "text": r["text"], "outlet": r["outlet"]} for r in _corpus(5)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet", row_group_size=2)
    folder = tmp_path / "txt" / "sub"
    folder.mkdir(parents=True)
    for r in rows:
        (folder / f"{r['id']}.txt").write_text(r["text"], encoding="utf-8")
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "hf"))

    outs = {}
    for name, path in (("parquet", tmp_path / "in.parquet"), ("txt", tmp_path / "txt"), ("hf", tmp_path / "hf")):
        assert open_input(path).kind == name
        score_corpus(path, tmp_path / f"out-{name}", model=tiny_model_dir, shard_size=2, threads=1)
        outs[name] = _table(tmp_path / f"out-{name}", "sentences").drop_columns(["id"])
    assert outs["parquet"].equals(outs["txt"]) and outs["parquet"].equals(outs["hf"])
    assert _table(tmp_path / "out-txt", "articles")["id"].to_pylist() == [f"sub/{r['id']}" for r in rows]
    for name in ("parquet", "hf"):
        extras = _table(tmp_path / f"out-{name}", "articles")["extra"].to_pylist()
        assert [json.loads(e) for e in extras] == [{"outlet": r["outlet"]} for r in rows]
    assert set(_table(tmp_path / "out-txt", "articles")["extra"].to_pylist()) == {None}


def test_input_problems_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="no such file"):
        open_input(tmp_path / "missing.jsonl")
    (tmp_path / "notes.md").write_text("x")
    with pytest.raises(InputFormatError, match="--input-format"):
        open_input(tmp_path / "notes.md")
    pq.write_table(pa.table({"id": ["a"], "body": ["b"]}), tmp_path / "p.parquet")
    with pytest.raises(InputFormatError, match="no 'text' column.*body"):
        open_input(tmp_path / "p.parquet")
    assert open_input(tmp_path / "p.parquet", text_field="body").total == 1


# --- bad rows -------------------------------------------------------------------------------------

def test_bad_rows_go_to_the_errors_table_and_the_job_goes_on(tmp_path: Path, tiny_model_dir: Path) -> None:
    good = _corpus(3)
    lines = [good[0], {"text": "No id here."}, {"id": "e", "text": "   "}, {"id": "n", "text": 42},
             "{not json", "[1, 2]", {"id": "big", "text": "x" * 500}, good[1], {"id": None, "text": "t"}, good[2]]
    path = _jsonl(tmp_path / "in.jsonl", lines)
    result = score_corpus(path, tmp_path / "out", model=tiny_model_dir, shard_size=4, max_chars=400, threads=1)
    assert (result.articles, result.failed) == (3, 7)
    errors = _table(tmp_path / "out", "errors").to_pylist()
    got = [(e["position"], e["id"], e["where"], e["reason"]) for e in errors]
    assert [g[:3] for g in got] == [(1, None, "in.jsonl:2"), (2, "e", "in.jsonl:3"), (3, "n", "in.jsonl:4"),
                                    (4, None, "in.jsonl:5"), (5, None, "in.jsonl:6"), (6, "big", "in.jsonl:7"),
                                    (8, None, "in.jsonl:9")]
    reasons = [g[3] for g in got]
    assert "no 'id' field" in reasons[0] and reasons[1] == "empty text" and "not text (got int)" in reasons[2]
    assert reasons[3].startswith("not JSON") and "not a JSON object (a list)" in reasons[4]
    assert "500 characters is over the limit of 400" in reasons[5]
    assert _table(tmp_path / "out", "articles")["id"].to_pylist() == ["a000", "a001", "a002"]


def test_cli_reports_failures_in_exit_code_and_summary(tmp_path: Path, tiny_model_dir: Path) -> None:
    from typer.testing import CliRunner

    from redflags.cli.app import app

    path = _jsonl(tmp_path / "in.jsonl", [_corpus(1)[0], {"id": "e", "text": ""}])
    res = CliRunner().invoke(app, ["score-corpus", str(path), "--out", str(tmp_path / "out"), "--model",
                                   str(tiny_model_dir), "--no-progress"])
    assert res.exit_code == 1, res.output
    assert "1 articles" in res.output and "1 failed (errors table)" in res.output
    res = CliRunner().invoke(app, ["score-corpus", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 1 and "redflags: error:" in res.output and "no such file" in res.output
    assert "Traceback" not in res.output
    # A wrong model path: one line, and no output folder made before the model is checked.
    res = CliRunner().invoke(app, ["score-corpus", str(path), "--out", str(tmp_path / "o3"), "--model",
                                   str(tmp_path / "no-model"), "--no-progress"])
    assert res.exit_code == 1 and "model directory does not exist" in res.output
    assert not (tmp_path / "o3").exists() and not (tmp_path / "o2").exists()


# --- refusing to mix runs -------------------------------------------------------------------------

def test_changed_model_or_input_is_refused_unless_overwrite(tmp_path: Path, tiny_model_dir: Path,
                                                            tokenizer) -> None:
    path = _jsonl(tmp_path / "in.jsonl", _corpus(4))
    out = tmp_path / "out"
    score_corpus(path, out, model=tiny_model_dir, shard_size=2, threads=1)
    other = tmp_path / "other-model"
    make_tiny_model(seed=1).save_pretrained(other, tokenizer)
    before = sorted(p.name for p in (out / "sentences").iterdir())
    with pytest.raises(OutputConflictError) as refused:
        score_corpus(path, out, model=other, shard_size=2, threads=1)
    assert 'model: {"name": "tiny", "version": ' in str(refused.value) and "--overwrite" in str(refused.value)
    assert sorted(p.name for p in (out / "sentences").iterdir()) == before  # nothing was touched
    with pytest.raises(OutputConflictError, match="shard_size: 2 then, 3 now"):
        score_corpus(path, out, model=tiny_model_dir, shard_size=3, threads=1)
    _jsonl(path, _corpus(5))
    with pytest.raises(OutputConflictError) as refused:
        score_corpus(path, out, model=tiny_model_dir, shard_size=2, threads=1)
    assert "input: {" in str(refused.value) and "model:" not in str(refused.value)
    result = score_corpus(path, out, model=other, shard_size=2, threads=1, overwrite=True)
    assert result.articles == 5 and result.shards_skipped == 0
    assert set(_table(out, "sentences")["model_name"].to_pylist()) == {"other-model"}
    # The same run again finds everything committed and scores nothing.
    again = score_corpus(path, out, model=other, shard_size=2, threads=1)
    assert again.shards_skipped == again.shards == 3 and again.sentences == result.sentences


def test_missing_extras_say_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from redflags.cli.app import app

    monkeypatch.setitem(sys.modules, "ray", None)
    path = _jsonl(tmp_path / "in.jsonl", _corpus(1))
    with pytest.raises(ImportError, match=r"pip install 'redflags\[ray\]'"):
        score_corpus(path, tmp_path / "out", engine="ray")
    res = CliRunner().invoke(app, ["score-corpus", str(path), "--out", str(tmp_path / "out"), "--engine", "ray"])
    assert res.exit_code == 1 and "pip install 'redflags[ray]'" in res.output and "Traceback" not in res.output
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match=r"redflags\[corpus\]"):
        score_corpus(path, tmp_path / "out")


# --- resume after a real kill ---------------------------------------------------------------------

def _run(args: list[str], env_extra: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "redflags", "score-corpus", *args, "--no-progress",
                             "--threads", "1"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sigkill_mid_run_then_rerun_gives_exactly_one_row_per_sentence(tmp_path: Path, tiny_model_dir: Path) -> None:
    path = _jsonl(tmp_path / "in.jsonl", _corpus(60))
    reference = tmp_path / "reference"
    score_corpus(path, reference, model=tiny_model_dir, shard_size=2, threads=1)

    out = tmp_path / "out"
    args = [str(path), "--out", str(out), "--model", str(tiny_model_dir), "--shard-size", "2"]
    proc = _run(args)
    deadline = time.monotonic() + 120
    while len(list((out / "_shards").glob("*.json"))) < 4:  # killed once a few shards are committed
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run committed no shards in 120 s"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed = len(list((out / "_shards").glob("*.json")))
    assert 4 <= committed < 30, "the kill came too late to test a resume"

    rerun = _run(args)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err.decode()
    assert f"{committed} of 30 shards were done before" in err.decode()
    for name in ("sentences", "articles", "errors"):
        assert _table(out, name).equals(_table(reference, name)), name
    assert not (out / ".lock").exists()


def test_sigkill_inside_a_shard_commit_is_redone(tmp_path: Path, tiny_model_dir: Path) -> None:
    """A kill between a shard's first file and its marker: the orphan file is replaced, never doubled."""
    path = _jsonl(tmp_path / "in.jsonl", _corpus(6))
    reference = tmp_path / "reference"
    score_corpus(path, reference, model=tiny_model_dir, shard_size=2, threads=1)
    out = tmp_path / "out"
    child = (
        "import os, signal, sys\n"
        "import redflags.corpus.engine as c\n"
        "import redflags.corpus.shards as s\n"  # shards commit themselves (shards.py)
        "real = s.write_text\n"
        "def killing(path, text, **kw):\n"
        "    if path.name == '00001.json':\n"  # shard 1's parquet files are in place, its marker is not
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return real(path, text, **kw)\n"
        "s.write_text = killing\n"
        f"c.score_corpus({str(path)!r}, {str(out)!r}, model={str(tiny_model_dir)!r}, shard_size=2, threads=1)\n"
    )
    proc = subprocess.run([sys.executable, "-c", child], cwd=REPO, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    assert (out / "sentences" / "part-00001.parquet").exists() and not (out / "_shards" / "00001.json").exists()
    result = score_corpus(path, out, model=tiny_model_dir, shard_size=2, threads=1)
    assert result.shards_skipped == 1
    for name in ("sentences", "articles", "errors"):
        assert _table(out, name).equals(_table(reference, name)), name


# --- engines --------------------------------------------------------------------------------------

@pytest.mark.slow
def test_ray_engine_gives_the_same_rows_as_the_local_engine(tmp_path: Path, evidence_model: Path) -> None:
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'redflags[ray]')")
    lines = [*_corpus(9), {"id": "empty", "text": ""}]
    path = _jsonl(tmp_path / "in.jsonl", lines)
    local = score_corpus(path, tmp_path / "local", model=evidence_model, shard_size=2, threads=1)
    # The real setting of these machines: 2 actors at 1 thread each (fractional CPUs, see corpus_ray.py).
    ray = score_corpus(path, tmp_path / "ray", model=evidence_model, engine="ray", actors=2, threads=1,
                       shard_size=2)
    assert (ray.articles, ray.sentences, ray.failed) == (local.articles, local.sentences, local.failed) == \
        (9, local.sentences, 1)
    for name in ("sentences", "articles", "errors"):
        assert _table(tmp_path / "ray", name).equals(_table(tmp_path / "local", name)), name
    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert manifest["engine"] == "ray" and manifest["status"] == "complete"
