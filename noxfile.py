"""Project checks. `nox` runs the default sessions, the ones CI must pass."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
# CI sets CI=true. There every supported Python must be found, or the run fails: a run that
# silently skipped one would pass without checking it. Locally a Python the machine lacks is
# skipped with a warning (`--error-on-missing-interpreters` makes it an error here too).
ON_CI = os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = ON_CI
nox.options.sessions = [
    "lint",
    "typecheck",
    "tests",
    "tests_local",
    "tests_ray",
    "tests_serve",
    "tests_browser",
    "doctests",
    "build",
    "docs",
    "docs_examples",
]

PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
# The supported Pythons are written once, as the "Programming Language :: Python :: 3.X"
# classifiers of pyproject.toml; the tests session runs on each of them.
PYTHONS = nox.project.python_versions(PYPROJECT)
EXTRAS = sorted(PYPROJECT["project"]["optional-dependencies"])
# The Python of the sessions that run once (lint, typecheck, build, docs, and the ones with
# torch). For torch it must be this one: there pip installs TORCH as the CPU build these
# machines keep on disk, where another Python or torch version downloads a CUDA build of GBs.
MAIN_PYTHON = "3.11"
TORCH = "torch==2.13.0"
TEST_REQUIREMENTS = [
    "pytest>=8",
    "hypothesis>=6.100",
    "pytest-timeout>=2.3",
    "trio>=0.25",
    "huggingface_hub>=0.24",  # only the benchmark of alternatives uses it
]


def install_with_torch(session: nox.Session, extras: list[str], *requirements: str) -> None:
    """Install TORCH, then the package in editable mode with `extras`, then `requirements`.

    torch goes first so that the `local` extra's `torch>=...` finds it satisfied instead of
    resolving a build of its own.
    """
    session.install(TORCH)
    session.install("-e", f".[{','.join(extras)}]", *requirements)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Unit and integration tests on every supported Python, without torch.

    On CI a supported Python that cannot be found fails the run; locally it is skipped.
    """
    session.install("-e", ".[plot]", *TEST_REQUIREMENTS)
    session.run(
        "pytest",
        "-m",
        "not local and not ray and not serve and not analysis and not browser",
        *session.posargs,
    )


@nox.session(python=MAIN_PYTHON)
def tests_local(session: nox.Session) -> None:
    """The tests of the heavy extras (markers `local` and `analysis`): LocalSegmenter with
    torch and transformers, the supervision conversion, the served real model, and the garment
    analysis (with scikit-learn, the baseline of its benchmark's quick run); Python 3.11 only."""
    install_with_torch(
        session,
        ["local", "plot", "supervision", "serve", "analysis"],
        *TEST_REQUIREMENTS,
        "scikit-learn>=1.3",
    )
    session.run("pytest", "-m", "local or analysis", *session.posargs)


BROWSER_INSTALL = "apt-get install chromium chromium-driver"


@nox.session(python=MAIN_PYTHON)
def tests_browser(session: nox.Session) -> None:
    """The trend report's page in headless Chromium (marker `browser`); Python 3.11 only.

    Chromium and chromedriver come from the system packages (.ci/run installs them; locally
    `sudo apt-get install chromium chromium-driver`). Without them the session fails, saying
    what to install: it never passes without having opened the page.
    """
    missing = [
        name
        for name, found in (
            ("chromium", shutil.which("chromium") or shutil.which("chromium-browser")),
            ("chromedriver", shutil.which("chromedriver")),
        )
        if found is None
    ]
    if missing:
        session.error(
            f"the browser tests need {' and '.join(missing)}, not found on PATH: install "
            f"them from the system packages ({BROWSER_INSTALL}, about 155 MB), then rerun"
        )
    session.install("-e", ".[plot]", "selenium>=4.11", *TEST_REQUIREMENTS)
    session.run("pytest", "-m", "browser", *session.posargs)


@nox.session(python=MAIN_PYTHON)
def tests_ray(session: nox.Session) -> None:
    """The tests of the `ray` extra (marker `ray`): `segment --ray` and
    segformer_clothes.distributed on a real local Ray bound to 127.0.0.1, with a
    random-weight SegFormer and the fake server; Python 3.11 only, a few minutes."""
    install_with_torch(session, ["local", "ray", "analysis"], *TEST_REQUIREMENTS)
    session.run(
        "pytest",
        "-m",
        "ray",
        *session.posargs,
        env={
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            # A token of this session only: a Ray started after another test imported ray
            # would otherwise write a token of its own to ~/.ray/auth_token.
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN": secrets.token_hex(32),
        },
    )


@nox.session(python=MAIN_PYTHON)
def tests_serve(session: nox.Session) -> None:
    """The tests of the server (marker `serve`) that need no torch: starlette and uvicorn
    serving a stand-in model. Those that serve the real model also carry `local` and run in
    tests_local."""
    session.install("-e", ".[plot,serve]", *TEST_REQUIREMENTS)
    session.run("pytest", "-m", "serve and not local", *session.posargs)


@nox.session(python=MAIN_PYTHON)
def doctests(session: nox.Session) -> None:
    """Run every `>>>` example in the docstrings of src/segformer_clothes (pytest's doctest).

    Every extra is installed, so that each module imports and none of its examples goes
    unchecked; pytest never imports a `__main__.py`. The option flags (ELLIPSIS,
    NORMALIZE_WHITESPACE) are set in pyproject.toml.
    """
    install_with_torch(session, EXTRAS, "pytest>=8", "pytest-timeout>=2.3")
    session.run(
        "pytest",
        "--doctest-modules",
        "--doctest-continue-on-failure",
        *(session.posargs or ["src/segformer_clothes"]),
    )


@nox.session(python=MAIN_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=MAIN_PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src."""
    session.install("-e", ".[plot,serve]", "mypy>=1.10", "trio>=0.25")
    session.run("mypy", "--strict", "src")


@nox.session(python=MAIN_PYTHON)
def build(session: nox.Session) -> None:
    """Build the sdist and the wheel, then check them with twine."""
    session.install("build>=1.2", "twine>=5")
    shutil.rmtree(ROOT / "dist", ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", "dist")
    session.run("twine", "check", "--strict", *(str(p) for p in (ROOT / "dist").glob("*")))


DOCS_REQUIREMENTS = [
    "mkdocs>=1.6",
    "mkdocs-material>=9.6",
    "mkdocstrings[python]>=0.29",
    "mkdocstrings-python>=1.16",
    "ruff>=0.6",  # mkdocstrings formats the signatures with it
]


@nox.session(python=MAIN_PYTHON)
def docs(session: nox.Session) -> None:
    """Redraw the docs pictures from the sample photo, then `mkdocs build --strict`."""
    # analysis: the trends guide's pictures come from running its examples.
    session.install("-e", ".[analysis,plot]", *DOCS_REQUIREMENTS)
    session.run("python", "scripts/make_docs_pictures.py")
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        str(ROOT / "site"),
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


@nox.session(python=MAIN_PYTHON)
def docs_examples(session: nox.Session) -> None:
    """Run every Python example of README.md and docs/ and check the output each shows.

    The local-inference guide runs LocalSegmenter on a random-weight stand-in model; the Ray
    guide starts a local Ray bound to 127.0.0.1.
    """
    # pytest: the testing guide's examples import it; analysis: the trends guide's.
    install_with_torch(session, ["analysis", "local", "plot", "ray", "serve"], "pytest>=8")
    session.run("python", "scripts/docs_examples.py", *session.posargs)


@nox.session(python=MAIN_PYTHON)
def bench(session: nox.Session) -> None:
    """Run every benchmark side by side with its baselines; write benchmarks/RESULTS.md.

    Not a default session: about 10 minutes; `nox -s bench -- --quick` for a smoke run.
    """
    # scikit-learn: the baseline of the garments benchmark only.
    install_with_torch(
        session,
        ["local", "plot", "analysis", "ray", "serve"],
        "huggingface_hub>=0.24",
        "scikit-learn>=1.3",
    )
    session.run("python", "benchmarks/run.py", *session.posargs)
