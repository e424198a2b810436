"""`redflags serve`: a local web page and HTTP API over one loaded model (needs the `serve` extra).

app.py (the FastAPI app: `create_app(scorer, limits)`), schemas.py (request and response shapes),
page.py (the browser's pages), errors.py (the one error format), runner.py (`run`: load, bind, uvicorn).

May import scoring, core and the leaves; only the CLI imports it, and only when `redflags serve` runs
(fastapi and uvicorn are imported here, at once).
"""

from redflags.serve.app import Limits, create_app
from redflags.serve.runner import run

__all__ = ["Limits", "create_app", "run"]
