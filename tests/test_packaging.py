"""The wheel builds, installs into a fresh virtual environment and imports from outside the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What a source checkout needs to build (tests, configs and seeds are not part of the wheel).
SOURCES = ("pyproject.toml", "README.md", "model", "training", "eval")


def _copy_sources(dst: Path) -> Path:
    """Build from a copy so the build never writes build/ or *.egg-info into the checkout."""
    dst.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=ignore)
        else:
            shutil.copy2(src, dst / name)
    return dst


@pytest.mark.slow
def test_wheel_installs_and_imports_outside_the_checkout(tmp_path: Path) -> None:
    src = _copy_sources(tmp_path / "src")
    dist = tmp_path / "dist"
    # --skip-dependency-check: build-system "wheel" is not needed by setuptools >= 70.1 and may be absent.
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--skip-dependency-check", "--outdir", str(dist), str(src)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = dist.glob("redflags-*.whl")

    # A fresh environment with the wheel only. Its dependencies (torch, transformers, ...) are taken
    # from the running environment through a .pth line, so nothing is downloaded; that environment's
    # editable redflags is not visible there (.pth files in an added path are not processed).
    env = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env)
    py = env / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )
    (site / "_deps_from_test_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )

    probe = (
        "import redflags, redflags.training, redflags.eval, redflags.cli;"
        "from importlib import resources;"
        "print(redflags.__file__);"
        "print(redflags.__version__);"
        "print(resources.files('redflags.scoring').joinpath('templates/report.html').is_file());"
        "print(resources.files('redflags.training').joinpath('annotations/news.jsonl.gz').is_file()"
        " and resources.files('redflags.training').joinpath('annotations/contrast.jsonl').is_file()"
        " and resources.files('redflags.training').joinpath('audit_patterns.yaml').is_file()"
        " and resources.files('redflags.eval').joinpath('checklist.yaml').is_file());"
        "print(redflags.load, redflags.Scorer, redflags.ArticleReport, redflags.MARKERS)"
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    result = subprocess.run([str(py), "-c", probe], cwd=outside, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    location, version, template, data_files, _ = result.stdout.splitlines()
    assert Path(location).is_relative_to(env), f"redflags imported from {location}, not from the new environment"
    assert version != "0.0.0+unknown" and template == "True"
    assert data_files == "True", "the news annotations or the behaviour suite are missing from the wheel"

    # The console script is installed and runs.
    result = subprocess.run([str(env / "bin" / "redflags"), "--help"], cwd=outside, capture_output=True, text=True)
    assert result.returncode == 0 and "score" in result.stdout
