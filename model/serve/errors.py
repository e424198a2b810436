"""The service's one error format: `{"status": N, "message": "<one line>"}`, and the line for bad bodies."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse


class ServeError(Exception):
    """A problem with a request, answered with `status` and the one-line `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_error(status: int, message: str) -> JSONResponse:
    """The JSON answer every API error gets."""
    return JSONResponse({"status": status, "message": message}, status_code=status)


def _where(loc: tuple[Any, ...]) -> str:
    """('body', 'articles', 0, 'text') -> 'articles[0].text'."""
    out = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_message(errors: list[dict[str, Any]]) -> tuple[int, str]:
    """(status, one line) for pydantic's errors about a request body: 400 for a body that is not JSON
    at all, 422 naming the fields (at most three) otherwise."""
    if not errors:
        return 422, "the request is not valid"
    first = errors[0]
    if first.get("type") == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "")
        return 400, f"the body is not valid JSON ({detail})" if detail else "the body is not valid JSON"
    if tuple(first.get("loc", ())) == ("body",):  # no body, or a list or a string instead of an object
        what = "empty" if first.get("type") == "missing" else "not a JSON object"
        return 400, f'the body is {what}; send a JSON object such as {{"text": "..."}}'
    parts = []
    for err in errors[:3]:
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        where = _where(tuple(err.get("loc", ())))
        parts.append(f"{where}: {msg}" if where else msg)
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return 422, "; ".join(parts) + more
