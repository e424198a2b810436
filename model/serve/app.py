"""The web service: one loaded Scorer behind a page with a text box and a JSON API.

Routes: `GET /` (the page), `POST /` (the page's form: the HTML report), `POST /v1/score` (one
article), `POST /v1/score-many` (several, batched together), `GET /healthz`, and FastAPI's
`/docs` and `/openapi.json`. Every error is a 4xx (or, for a bug, 500) answer of the form
`{"status": N, "message": "<one line>"}` (an HTML page on the page's own route), never a traceback.

One model serves every request, one request at a time (a lock): a request's scores then depend on
its own articles only, never on what other clients sent at the same moment (batches mix sentences,
and padding moves float32 results by rounding), and the model's CPU threads are not split between
requests that would each run slower.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from redflags.extras import package_version
from redflags.markers import STYLE_NOT_TRUTH
from redflags.serve import page
from redflags.serve.errors import ServeError, json_error, validation_message
from redflags.serve.schemas import ArticleIn, ErrorOut, HealthOut, ManyIn, ManyOut, ReportOut

if TYPE_CHECKING:
    from redflags.scoring.report import ArticleReport
    from redflags.scoring.scorer import Scorer

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class Limits:
    """What one request may ask; larger requests get a 413 answer that names the limit."""

    max_body_bytes: int = 2_000_000  # a long article is ~50 kB; 2 MB holds dozens
    max_articles: int = 64  # per /v1/score-many request
    batch_size: int = 32  # sentences per model batch

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_articles", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")


def _error_for(path: str, status: int, message: str) -> Response:
    """The page's route answers with the page (and the message); the API with JSON."""
    return page.error_page(status, message) if path == "/" else json_error(status, message)


class _BodyLimit:
    """ASGI middleware: refuses a body over `limit` bytes (declared or streamed) with 413, before any
    route reads it; the body is read here once and handed on whole."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict]], send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, send, int(declared) if declared.isdigit() else None)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, send, None)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:  # after the body, the route only waits to learn of a disconnect
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: dict[str, Any], send: Send, size: Optional[int]) -> None:
        what = f"is {size:,} bytes; the limit is" if size is not None else "is over the limit of"
        response = _error_for(scope["path"], 413, f"the request body {what} {self.limit:,} bytes "
                              "(redflags serve --max-body-bytes)")

        async def nothing() -> dict[str, Any]:
            return {"type": "http.disconnect"}

        await response(scope, nothing, send)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        kind = request.headers.get("content-type", "")
        media = kind.split(";")[0].strip().lower()
        # FastAPI reads a body as JSON only for these media types; any other body reached us unread.
        if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
            got = f"got {kind!r}" if kind else "the request has no Content-Type"
            return json_error(415, f"the body must be JSON (Content-Type: application/json); {got}")
        status, message = validation_message(list(exc.errors()))
        return json_error(status, message)

    @app.exception_handler(ServeError)
    async def _serve_error(request: Request, exc: ServeError) -> Response:
        return _error_for(request.url.path, exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        response = json_error(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})  # a 405 must say what is allowed (Allow)
        return response

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return json_error(500, f"internal error ({type(exc).__name__}); the server log has the details")


class _Service:
    """The loaded scorer and the lock that lets one request at a time use it."""

    def __init__(self, scorer: "Scorer", limits: Limits) -> None:
        self.scorer = scorer
        self.limits = limits
        self.lock = threading.Lock()

    def score(self, articles: list[ArticleIn]) -> list["ArticleReport"]:
        if len(articles) > self.limits.max_articles:
            raise ServeError(413, f"{len(articles)} articles in one request; the limit is "
                                   f"{self.limits.max_articles} (redflags serve --max-articles)")
        with self.lock:
            return self.scorer.score_many([a.text for a in articles], batch_size=self.limits.batch_size,
                                          sources=[a.id for a in articles])


def _report_json(reports: list["ArticleReport"], many: bool) -> Response:
    # The dict that --format json writes, as it is (no response-model round trip that could drop a field).
    parts = [json.dumps(r.to_dict(), ensure_ascii=False, allow_nan=False) for r in reports]
    body = '{"reports": [' + ", ".join(parts) + "]}" if many else parts[0]
    return Response(body.encode("utf-8"), media_type="application/json")


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": what} for code, what in (
        (400, "The body is empty or not JSON."), (413, "The body or the number of articles is over the limit."),
        (415, "The body is not JSON."), (422, "A field is missing, empty or of the wrong type."))
}


def create_app(scorer: "Scorer", limits: Optional[Limits] = None) -> FastAPI:
    """The FastAPI app serving `scorer` (loaded once, by the caller) within `limits`."""
    limits = limits or Limits()
    service = _Service(scorer, limits)
    # Computed once here (a hash of the weights; the reference profile), not by the first requests at once.
    _ = scorer.model_version, scorer.reference
    app = FastAPI(
        title="redflags",
        version=package_version(),
        description="Scores each sentence of news articles for rhetorical markers. " + STYLE_NOT_TRUTH,
        redoc_url=None,
    )
    _install_error_handlers(app)
    app.add_middleware(_BodyLimit, limit=limits.max_body_bytes)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def form() -> HTMLResponse:
        return page.form_page(scorer)

    @app.post("/", response_class=HTMLResponse, include_in_schema=False)
    async def form_report(request: Request) -> HTMLResponse:
        text, title = page.read_form(request.headers.get("content-type", ""), await request.body())
        try:
            article = page.checked_article(text, title)
        except ServeError as e:  # the text box again, with what was typed in it
            return page.form_page(scorer, error=e.message, text=text, title=title, status=e.status)
        reports = await run_in_threadpool(service.score, [article])
        return page.report_page(reports[0])

    @app.post("/v1/score", response_model=ReportOut, responses=_ERRORS, summary="Score one article")
    def score_one(article: ArticleIn) -> Response:
        """Segment the article, score each sentence for each marker; the report as `redflags score --format json`
        gives it for one article."""
        return _report_json(service.score([article]), many=False)

    @app.post("/v1/score-many", response_model=ManyOut, responses=_ERRORS, summary="Score several articles")
    def score_many(body: ManyIn) -> Response:
        """Score the articles together (their sentences share the model's batches); reports in the order given."""
        return _report_json(service.score(body.articles), many=True)

    @app.get("/healthz", response_model=HealthOut, summary="The model this server scores with")
    def healthz() -> HealthOut:
        return HealthOut(status="ok", redflags_version=package_version(), model=scorer.model_name,
                         model_version=scorer.model_version, dtype=scorer.dtype, markers=list(scorer.markers),
                         limits={"max_body_bytes": limits.max_body_bytes, "max_articles": limits.max_articles})
    return app
