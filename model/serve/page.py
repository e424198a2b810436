"""The service's pages for a browser: a text box, and the report that `redflags score --format html` writes.

The form posts plain `application/x-www-form-urlencoded` fields (no script on either page, and no
multipart parser needed); the report page is redflags.scoring.report's own HTML with one link back.
"""

from __future__ import annotations

import html
from string import Template
from typing import TYPE_CHECKING, Optional
from urllib.parse import parse_qs

from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from redflags.markers import DESCRIPTIONS, STYLE_NOT_TRUTH
from redflags.scoring.report import render_html
from redflags.serve.errors import ServeError, validation_message
from redflags.serve.schemas import ArticleIn

if TYPE_CHECKING:
    from redflags.scoring.report import ArticleReport
    from redflags.scoring.scorer import Scorer

FORM_TYPE = "application/x-www-form-urlencoded"
# The report page's one addition to the report: a way back to the text box.
BACK_LINK = '<p class="meta"><a href="./">Score another text</a></p>'

_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>redflags</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; line-height: 1.6; }
h1 { font-size: 1.5rem; margin-bottom: 0.3rem; }
.disclaimer { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.6rem 0.9rem; }
.error { background: #fdecea; border-left: 4px solid #b3261e; padding: 0.6rem 0.9rem; }
.meta { color: #555; font-size: 0.85rem; }
label { display: block; font-weight: 600; margin: 0.9rem 0 0.2rem; }
input, textarea { width: 100%; box-sizing: border-box; font: inherit; padding: 0.4rem; border: 1px solid #bbb; border-radius: 4px; }
textarea { min-height: 18rem; }
button { margin-top: 0.8rem; font: inherit; padding: 0.4rem 1.4rem; border-radius: 4px; border: 1px solid #1a5fb4; background: #1a5fb4; color: #fff; cursor: pointer; }
</style>
</head>
<body>
<h1>redflags</h1>
<p class="disclaimer"><strong>Style, not truth.</strong> $disclaimer</p>
$error<p>Paste a news article. Each sentence is scored for $count rhetorical markers:</p>
<ul>$markers</ul>
<form method="post" action="./" accept-charset="utf-8">
<label for="title">Title (optional)</label>
<input id="title" name="title" maxlength="1000" value="$title">
<label for="text">Article text</label>
<textarea id="text" name="text" required>$text</textarea>
<button type="submit">Score</button>
</form>
<p class="meta">Model: $model. The server keeps no text. Programs can use the JSON API: <a href="docs">/docs</a>.</p>
</body>
</html>
""")


def _model_line(scorer: Optional["Scorer"]) -> str:
    if scorer is None:
        return "redflags"
    version = f", version {scorer.model_version}" if scorer.model_version else ""
    return f"{scorer.model_name or 'unnamed'}{version}, computed in {scorer.dtype}"


def form_page(scorer: Optional["Scorer"], error: Optional[str] = None, text: str = "", title: str = "",
              status: int = 200) -> HTMLResponse:
    """The page with the text box; with `error`, the problem above it (and the status to answer with)."""
    e = html.escape
    markers = scorer.markers if scorer is not None else tuple(DESCRIPTIONS)
    items = "".join(f"<li><strong>{e(m)}</strong>: {e(DESCRIPTIONS.get(m, ''))}</li>" for m in markers)
    body = _PAGE.substitute(
        disclaimer=e(STYLE_NOT_TRUTH), count=len(markers), markers=items, text=e(text), title=e(title, quote=True),
        model=e(_model_line(scorer)), error=f'<p class="error" role="alert">{e(error)}</p>\n' if error else "",
    )
    return HTMLResponse(body, status_code=status)


def error_page(status: int, message: str) -> HTMLResponse:
    """The text box again, with the problem above it (for a body refused before the model is known)."""
    return form_page(None, error=message, status=status)


def read_form(content_type: str, body: bytes) -> tuple[str, str]:
    """(text, title) from the form's body; ServeError for anything else."""
    if content_type.split(";")[0].strip().lower() != FORM_TYPE:
        raise ServeError(415, f"the form must be sent as {FORM_TYPE}, got {content_type or 'no Content-Type'!r}; "
                              "programs: POST JSON to /v1/score")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=16, errors="strict")
    except UnicodeDecodeError:
        raise ServeError(400, "the form is not UTF-8") from None
    except ValueError as e:
        raise ServeError(400, f"the form cannot be read ({e})") from None
    return fields.get("text", [""])[0], fields.get("title", [""])[0].strip()


def checked_article(text: str, title: str) -> ArticleIn:
    """The form's text and title as the API's article (the same checks), or a 422 ServeError."""
    try:
        return ArticleIn(text=text, id=title or None)
    except ValidationError as e:
        message = validation_message(list(e.errors()))[1]
        # The form calls the article's id its title.
        raise ServeError(422, "title:" + message[len("id:"):] if message.startswith("id:") else message) from None


def report_page(report: "ArticleReport") -> HTMLResponse:
    """The report exactly as `redflags score --format html` renders it, plus a link back to the text box."""
    return HTMLResponse(render_html([report]).replace("<body>", "<body>\n" + BACK_LINK, 1))
