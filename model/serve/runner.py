"""Start the service: load the model once, bind the address, run uvicorn (one process or several workers).

With several workers each process loads its own copy of the model (uvicorn starts them fresh, so the
model cannot be shared); the parent loads it first only to check it, so that a wrong path or a
broken model is one error line before anything listens.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from redflags.serve.app import Limits, create_app

if TYPE_CHECKING:
    from fastapi import FastAPI

# How the parent tells each worker process what to load (uvicorn starts workers by an import string).
_WORKER_ENV = "REDFLAGS_SERVE_WORKER"
_WARM_UP = "Officials said the plan may be delayed. It was a shocking decision."


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port); OSError with one clear line if it cannot."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise OSError(f"cannot listen on {host}:{port}: unknown host ({e.strerror})") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        # Listening now: a client that connects before the server's loop runs waits instead of being refused.
        sock.listen(2048)
    except OSError as e:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.set_inheritable(True)  # (workers receive it)
    return sock


def url_of(sock: socket.socket) -> str:
    """The http:// address a client reaches the socket at."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def worker_app() -> "FastAPI":
    """The app of one worker process (uvicorn's factory), from the settings the parent left in the environment."""
    from redflags.scoring.scorer import load

    settings = json.loads(os.environ[_WORKER_ENV])
    scorer = load(settings["model"], dtype=settings["dtype"], threads=settings["threads"])
    scorer.score(_WARM_UP)
    return create_app(scorer, Limits(**settings["limits"]))


def _exit_if_scoring() -> None:
    """Leave now if a request's model pass still runs in a worker thread after uvicorn stopped.

    uvicorn's graceful shutdown gives up on a request after 10 s, but the thread scoring it runs on,
    and Python waits for it at exit: Ctrl+C during a long article took 45 s. Nothing is left to write
    (the request's answer can no longer be sent), so exit without waiting."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.current_thread()):
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
        os._exit(0)


def run(model: Optional[Path] = None, dtype: str = "float32", host: str = "127.0.0.1", port: int = 8000,
        workers: int = 1, threads: Optional[int] = None, limits: Optional[Limits] = None,
        announce: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)) -> None:
    """Serve the model at `model` (the shipped one when None) until interrupted.

    Raises ModelLoadError for a model that cannot be loaded, OSError for an address that cannot be bound,
    ValueError for bad settings; nothing listens until the model has loaded. `announce` gets the line
    that gives the address (after binding, so with port 0 it names the port the system chose).
    """
    import uvicorn

    from redflags.scoring.scorer import load

    limits = limits or Limits()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers!r}")
    if workers > 1 and threads is None:  # the workers share the cores instead of each taking all of them
        threads = max(1, (os.cpu_count() or 1) // workers)
    scorer = load(model, dtype=dtype, threads=threads)
    if workers == 1:
        scorer.score(_WARM_UP)  # the segmenter and the model's first pass load now, not in the first request
    sock = bind(host, port)
    what = (f"{scorer.model_name or 'model'} ({scorer.dtype}" + (f", {workers} workers" if workers > 1 else "")
            + ")")
    if workers == 1:
        config = uvicorn.Config(create_app(scorer, limits), log_config=None, timeout_graceful_shutdown=10)
        announce(f"redflags serve: {what} on {url_of(sock)} (API docs: {url_of(sock)}docs); Ctrl+C stops it")
        try:
            uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn stops cleanly on Ctrl+C, then raises it again for the caller
            pass
        _exit_if_scoring()
        return
    from uvicorn.supervisors import Multiprocess

    os.environ[_WORKER_ENV] = json.dumps({
        "model": str(Path(model).expanduser().resolve()) if model is not None else None,
        "dtype": scorer.dtype,  # what "auto" resolved to here, so every worker computes alike
        "threads": threads, "limits": asdict(limits),
    })
    del scorer  # each worker loads its own
    config = uvicorn.Config("redflags.serve.runner:worker_app", factory=True, workers=workers, log_config=None,
                            timeout_graceful_shutdown=10)
    announce(f"redflags serve: {what} on {url_of(sock)} (API docs: {url_of(sock)}docs); Ctrl+C stops it")
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
