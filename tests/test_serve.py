"""`redflags serve`: a real server (the CLI in a subprocess, on a free port) spoken to over HTTP.

A tiny model with a token head (every marker flagged, so reports carry evidence) serves; its answers
are compared with what the Scorer and `redflags score` give for the same text in this process.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.error import HTTPError

import pytest

pytest.importorskip("fastapi", reason="redflags serve needs the serve extra: pip install 'redflags[serve]'")
pytest.importorskip("uvicorn", reason="redflags serve needs the serve extra: pip install 'redflags[serve]'")

from tests.conftest import make_tiny_model  # noqa: E402
from redflags.cli.app import app  # noqa: E402
from redflags.markers import MARKERS, STYLE_NOT_TRUTH, TECHNIQUES  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_461dd1c7835a637b.txt"
ARTICLES = [
    "Officials said the plan may be delayed. Critics call it a shocking betrayal!",
    "The council approved the budget on Tuesday. It passed by seven votes to two.",
    "Sources close to the minister reportedly fear a cover-up. Nobody would confirm it.",
    "Café owners in Zürich — naïvely, perhaps — said the storm could be a catastrophe… 🔥",
    "A short one.",
    "Experts warn that the secret deal could destroy the industry. It is unclear whether talks will resume.",
]
BODY_LIMIT = 20_000
MAX_ARTICLES = 4


# --- a server and a client ------------------------------------------------------------------------


class Server:
    """`redflags serve` in a subprocess; `url` ends with '/'."""

    def __init__(self, model_dir: Path, *extra: str) -> None:
        cmd = [sys.executable, "-m", "redflags", "serve", "--model", str(model_dir), "--port", "0", "--threads", "1",
               "--max-body-bytes", str(BODY_LIMIT), "--max-articles", str(MAX_ARTICLES), *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.log: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.url = self._wait_for_address()

    def _drain(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self.log.append(line)
            self.lines.put(line)

    def _wait_for_address(self) -> str:
        while True:
            try:
                line = self.lines.get(timeout=180)
            except queue.Empty:
                self.stop()
                pytest.fail("redflags serve printed no address in 180 s:\n" + "".join(self.log))
            found = re.match(r"redflags serve: .* on (http://127\.0\.0\.1:\d+/) ", line)
            if found:
                return found.group(1)

    def stop(self) -> int:
        """Ctrl+C, as a person stops it; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def call(url: str, body: Optional[bytes] = None, content_type: str = "application/json",
         method: Optional[str] = None) -> tuple[int, str, bytes]:
    """(status, content type, body) of one request; error statuses are answers too."""
    headers = {"Content-Type": content_type} if body is not None else {}
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=300) as r:
            return r.status, r.headers.get("content-type", ""), r.read()
    except HTTPError as e:
        return e.code, e.headers.get("content-type", ""), e.read()


def post_json(url: str, payload: Any) -> tuple[int, Any]:
    status, _, body = call(url, json.dumps(payload).encode("utf-8"))
    return status, json.loads(body)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, tokenizer) -> Path:
    model = make_tiny_model(token_head=True, techniques=list(TECHNIQUES), span_thresholds={m: 0.3 for m in MARKERS},
                            thresholds={m: 0.0 for m in MARKERS})  # every marker flagged: evidence in every report
    out = tmp_path_factory.mktemp("serve-models") / "tiny-evidence"
    model.save_pretrained(out, tokenizer)
    return out


@pytest.fixture(scope="module")
def running(model_dir: Path) -> Iterator[Server]:
    s = Server(model_dir)
    yield s
    assert s.stop() == 0, "".join(s.log)  # Ctrl+C: a clean stop
    assert "Traceback" not in "".join(s.log) and "ERROR" not in "".join(s.log), "".join(s.log)


@pytest.fixture(scope="module")
def server(running: Server) -> str:
    return running.url


@pytest.fixture(scope="module")
def scorer(model_dir: Path):
    import redflags

    return redflags.load(model_dir)


def _roundtrip(report) -> dict[str, Any]:  # noqa: ANN001 - an ArticleReport
    return json.loads(report.to_json())


# --- the page -------------------------------------------------------------------------------------


def test_the_page_has_a_text_box_and_the_style_not_truth_notice(server: str) -> None:
    import html

    status, kind, body = call(server)
    page = body.decode("utf-8")
    assert status == 200 and kind.startswith("text/html")
    assert '<form method="post"' in page and '<textarea id="text" name="text"' in page and 'name="title"' in page
    assert html.escape(STYLE_NOT_TRUTH) in page
    assert "tiny-evidence" in page  # the model it scores with


def test_submitting_the_form_shows_the_report_of_redflags_score_html(running: Server, model_dir: Path,
                                                                     tmp_path: Path) -> None:
    from redflags.serve.page import BACK_LINK

    server = running.url

    text = SEED.read_text(encoding="utf-8")
    named = tmp_path / "My article"  # the title names the article as a file name does in `score`
    named.write_text(text, encoding="utf-8")
    form = urllib.parse.urlencode({"text": text, "title": str(named)}).encode()
    status, kind, body = call(server, form, "application/x-www-form-urlencoded")
    assert status == 200 and kind.startswith("text/html"), "".join(running.log)
    page = body.decode("utf-8")
    cli = CliRunner().invoke(app, ["score", str(named), "--format", "html", "--model", str(model_dir)])
    assert cli.exit_code == 0, cli.output
    assert "\n" + BACK_LINK in page
    assert page.replace("\n" + BACK_LINK, "", 1) == cli.stdout  # the same page, plus the link back
    assert '<mark class="ev' in page  # evidence words shown


def test_an_empty_form_gets_the_page_again_with_the_problem(server: str) -> None:
    form = urllib.parse.urlencode({"text": "   ", "title": "kept"}).encode()
    status, kind, body = call(server, form, "application/x-www-form-urlencoded")
    page = body.decode("utf-8")
    assert status == 422 and kind.startswith("text/html")
    assert 'role="alert">text: the text is only white space<' in page and 'value="kept"' in page
    form = urllib.parse.urlencode({"text": "Hello.", "title": "x" * 1001}).encode()
    status, _, body = call(server, form, "application/x-www-form-urlencoded")
    assert status == 422 and 'role="alert">title: String should have at most 1000 characters<' in body.decode()


# --- the API --------------------------------------------------------------------------------------


def test_score_gives_the_json_of_redflags_score_for_one_article(server: str, scorer, model_dir: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    status, got = post_json(server + "v1/score", {"text": text, "id": str(SEED)})
    assert status == 200
    assert got == _roundtrip(scorer.score(text, source=str(SEED)))
    cli = CliRunner().invoke(app, ["score", str(SEED), "--format", "json", "--model", str(model_dir)])
    assert cli.exit_code == 0 and got == json.loads(cli.stdout)[0]
    assert got["disclaimer"] == STYLE_NOT_TRUTH and got["n_sentences"] == 23
    assert any(s["evidence"] for s in got["sentences"])


def test_score_many_scores_the_articles_together_in_order(server: str, scorer) -> None:
    articles = [{"text": t, "id": f"a{i}"} for i, t in enumerate(ARTICLES[:MAX_ARTICLES])]
    status, got = post_json(server + "v1/score-many", {"articles": articles})
    assert status == 200 and list(got) == ["reports"]
    want = scorer.score_many([a["text"] for a in articles], sources=[a["id"] for a in articles])
    assert got["reports"] == [_roundtrip(r) for r in want]
    assert [r["source"] for r in got["reports"]] == ["a0", "a1", "a2", "a3"]


def test_healthz_names_the_model_and_its_precision(server: str, scorer) -> None:
    status, kind, body = call(server + "healthz")
    got = json.loads(body)
    assert status == 200 and kind.startswith("application/json")
    assert got["status"] == "ok" and got["dtype"] == "float32" and got["markers"] == list(MARKERS)
    assert got["model"] == "tiny-evidence" and got["model_version"] == scorer.model_version
    assert got["limits"] == {"max_body_bytes": BODY_LIMIT, "max_articles": MAX_ARTICLES}


def test_openapi_schema_and_docs_page(server: str) -> None:
    status, _, body = call(server + "openapi.json")
    schema = json.loads(body)
    assert status == 200 and {"/v1/score", "/v1/score-many", "/healthz"} <= set(schema["paths"])
    article = schema["components"]["schemas"]["ArticleIn"]
    assert article["required"] == ["text"] and set(article["properties"]) == {"text", "id"}
    assert "422" in schema["paths"]["/v1/score"]["post"]["responses"]
    status, kind, body = call(server + "docs")
    assert status == 200 and kind.startswith("text/html") and b"openapi.json" in body


def test_the_report_schema_describes_every_field_of_a_report(scorer) -> None:
    from redflags.scoring.profile import Reference
    from redflags.serve.schemas import ReportOut

    report = scorer.score(SEED.read_text(encoding="utf-8"), source="seed")
    with_profile = dataclasses.replace(report, reference=Reference({m: [0.0, 0.1, 0.5] for m in MARKERS}, "ref", {}))
    for r in (report, with_profile):
        data = _roundtrip(r)
        assert ReportOut.model_validate(data).model_dump(exclude_unset=True) == data  # nothing dropped or added


@pytest.mark.parametrize(("body", "content_type", "status", "message"), [
    (b'{"id": "x"}', "application/json", 422, "text: Field required"),
    (b'{"text": ""}', "application/json", 422, "text: the text is empty"),
    (b'{"text": " \\n "}', "application/json", 422, "text: the text is only white space"),
    (b'{"text": 5}', "application/json", 422, "text: Input should be a valid string"),
    (b'{"text": "a", "txt": "b"}', "application/json", 422, "txt: Extra inputs are not permitted"),
    (b'{"text": "a", "id": 3}', "application/json", 422, "id: Input should be a valid string"),
    (b'["a"]', "application/json", 400, "the body is not a JSON object"),
    (b"{nope", "application/json", 400, "the body is not valid JSON"),
    (b"", "application/json", 400, "the body is empty"),
    (b'{"text": "a"}', "text/plain", 415, "the body must be JSON"),
    # What `requests.post(url, data=json.dumps(...))` sends: no Content-Type at all.
    (b'{"text": "a"}', "", 415, "the body must be JSON (Content-Type: application/json); the request has no "
                               "Content-Type"),
    (b'{"text": ""}', "Application/JSON; charset=utf-8", 422, "text: the text is empty"),  # media types ignore case
    # JSON escapes can spell a lone surrogate, which no report (UTF-8) can hold.
    (b'{"text": "ok \\ud800"}', "application/json", 422,
     "text: not valid Unicode (a lone surrogate U+D800 at character 3)"),
    (b'{"text": "a", "id": "\\udfff"}', "application/json", 422, "id: Input should be a valid string, unable to parse"),
])
def test_bad_input_to_score_gets_a_4xx_json_error_naming_it(server: str, body: bytes, content_type: str,
                                                            status: int, message: str) -> None:
    got_status, kind, raw = call(server + "v1/score", body, content_type)
    got = json.loads(raw)
    assert got_status == status and kind.startswith("application/json")
    assert got["status"] == status and got["message"].startswith(message), got
    assert "Traceback" not in got["message"] and "\n" not in got["message"]


@pytest.mark.parametrize(("payload", "message"), [
    ({"articles": []}, "articles: List should have at least 1 item"),
    ({"articles": [{"text": "ok"}, {"text": ""}]}, "articles[1].text: the text is empty"),
    ({"articles": "one"}, "articles: Input should be a valid list"),
])
def test_bad_input_to_score_many_names_the_article(server: str, payload: Any, message: str) -> None:
    status, got = post_json(server + "v1/score-many", payload)
    assert status == 422 and got["message"].startswith(message), got


def test_limits_are_413_json_errors_that_name_the_option(server: str) -> None:
    status, got = post_json(server + "v1/score-many", {"articles": [{"text": "Hi."}] * (MAX_ARTICLES + 1)})
    assert status == 413 and got["message"] == (f"{MAX_ARTICLES + 1} articles in one request; the limit is "
                                                f"{MAX_ARTICLES} (redflags serve --max-articles)")
    big = json.dumps({"text": "word " * BODY_LIMIT}).encode()
    status, _, raw = call(server + "v1/score", big)
    assert status == 413 and json.loads(raw)["message"].startswith(f"the request body is {len(big):,} bytes; "
                                                                    f"the limit is {BODY_LIMIT:,} bytes")
    # Without a declared length (chunked), the body is counted as it arrives.
    host, port = urllib.parse.urlsplit(server).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("POST", "/v1/score", body=iter([big[:10_000], big[10_000:]]),
                 headers={"Content-Type": "application/json"}, encode_chunked=True)
    answer = conn.getresponse()
    assert answer.status == 413 and "over the limit of" in json.loads(answer.read())["message"]
    conn.close()


def test_unknown_routes_and_methods_are_json_errors(server: str) -> None:
    assert call(server + "v2/score")[0] == 404
    status, _, raw = call(server + "v1/score", method="GET")
    assert status == 405 and json.loads(raw) == {"status": 405, "message": "Method Not Allowed"}
    try:
        urllib.request.urlopen(urllib.request.Request(server + "healthz", data=b"", method="POST"), timeout=60)
    except HTTPError as e:
        assert e.code == 405 and e.headers.get("Allow") == "GET"  # HTTP requires a 405 to say what is allowed
    else:
        pytest.fail("POST /healthz was accepted")


def test_a_json_media_type_with_a_suffix_is_json(server: str, scorer) -> None:
    status, _, raw = call(server + "v1/score", json.dumps({"text": ARTICLES[0]}).encode(), "application/vnd.api+json")
    assert status == 200 and json.loads(raw) == _roundtrip(scorer.score(ARTICLES[0]))


def test_parallel_clients_get_what_sequential_scoring_gives(server: str, scorer) -> None:
    sequential = [post_json(server + "v1/score", {"text": t})[1] for t in ARTICLES]
    assert sequential == [_roundtrip(scorer.score(t)) for t in ARTICLES]
    jobs = [i % len(ARTICLES) for i in range(3 * len(ARTICLES))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: post_json(server + "v1/score", {"text": ARTICLES[i]}), jobs))
    for i, (status, got) in zip(jobs, answers):
        assert status == 200 and got == sequential[i]


# --- the command ----------------------------------------------------------------------------------


def test_two_workers_serve_the_same_scores(model_dir: Path, scorer) -> None:
    s = Server(model_dir, "--workers", "2", "--dtype", "Float32")  # --dtype ignores case, as in `score`
    try:
        for text in ARTICLES[:2]:
            status, got = post_json(s.url + "v1/score", {"text": text})
            assert status == 200 and got == _roundtrip(scorer.score(text))
    finally:
        assert s.stop() == 0, "".join(s.log)


def test_serve_reports_a_bad_model_or_a_busy_port_in_one_line(tmp_path: Path, model_dir: Path) -> None:
    import socket

    result = CliRunner().invoke(app, ["serve", "--model", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith(f"redflags: error: {tmp_path / 'nothing'}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--model", str(model_dir), "--port", str(port)])
    assert result.exit_code == 1
    assert result.output.strip() == f"redflags: error: cannot listen on 127.0.0.1:{port}: Address already in use"


def test_the_command_line_imports_the_web_stack_only_to_serve() -> None:
    code = "import sys\nfrom redflags.cli.app import app\nprint(sorted({'fastapi', 'uvicorn'} & set(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


# --- a browser ------------------------------------------------------------------------------------


def _chromium() -> str:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("no headless browser driver: pip install playwright (and a Chromium, e.g. apt-get install chromium)")
    exe = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if exe is None:
        pytest.skip("playwright is installed but no Chromium is on PATH (e.g. apt-get install chromium)")
    return exe


def test_a_headless_browser_pastes_an_article_and_reads_the_report(server: str) -> None:
    exe = _chromium()  # skips, with the reason, before anything imports playwright
    from playwright.sync_api import sync_playwright

    text = SEED.read_text(encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page()
            page.goto(server)
            assert page.locator(".disclaimer").inner_text().endswith(STYLE_NOT_TRUTH)
            page.fill("#title", "Pasted in a browser")
            page.fill("#text", text)
            with page.expect_navigation():
                page.click("button[type=submit]")
            assert page.locator("h2").inner_text() == "Pasted in a browser"
            assert page.locator(".disclaimer").inner_text().endswith(STYLE_NOT_TRUTH)
            assert page.locator("sup.num").count() == 23  # every sentence of the seed, numbered
            page.click("text=Score another text")
            assert page.locator("textarea#text").input_value() == ""
        finally:
            browser.close()
