r"""Run every Python example of README.md and docs/, and check the output each one shows.

A page's ```` ```python ```` blocks run in order, in one namespace per page (as a reader runs them
in one session), in a fresh temporary folder holding the sample files the pages use
(``astronaut.jpg``, ``astronaut_labels.png``). A ```` ```text ```` block that follows a Python
block (only blank lines between) is the output that block prints: it must match exactly, except
that ``...`` stands for any text, as in doctest's ELLIPSIS. Blocks indented under an admonition
or a tab run too.

```` ```console ```` blocks run too, in the same folder and in page order: each ``$ `` line is a
shell command (a trailing ``\`` continues it), and the lines up to the next ``$ `` are what it
prints (stdout and stderr), checked the same way. The commands see the environment the page's
Python set (``os.environ``), so a page can start a `FakeInferenceServer` in Python and hand its
URL to a command. ```` ```bash ```` blocks are shown, never run: installs, and commands that need
a token or model weights. A Python block that cannot run here (it needs the real model weights)
is marked ```` ```{.python .no-run} ````; its page must say it is not run, and the report counts
such blocks for each page.

Each page runs in its own process with no Hugging Face token in its environment, so an example
can never reach the real API by accident: the examples that show remote calls talk to
`segformer_clothes.testing.FakeInferenceServer`, and their page says so.

Usage::

    python scripts/docs_examples.py                 # README.md and every page under docs/
    python scripts/docs_examples.py docs/guides/working-with-results.md
"""

from __future__ import annotations

import argparse
import contextlib
import doctest
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILES = (
    ROOT / "tests" / "data" / "astronaut.jpg",
    ROOT / "tests" / "data" / "astronaut_labels.png",
)
PAGE_TIMEOUT_S = 300
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
_PYTHON = {"python", "py", "python3"}
_OUTPUT = {"text", "output"}
_CONSOLE = {"console", "shell-session"}
_NO_RUN = "no-run"
_SECRETS = ("HF_TOKEN", "HF_API_TOKEN", "HUGGING_FACE_HUB_TOKEN")


@dataclass
class Block:
    """One fenced code block of a page."""

    language: str
    code: str
    line: int  # 1-based line of the opening fence


@dataclass
class Example:
    """A Python block and the output it must print (None: not checked), or a console block."""

    code: str
    line: int
    expected: str | None
    console: bool = False


@dataclass
class Command:
    """One ``$ `` command of a console block and the output it must print."""

    command: str
    expected: str


def commands(block: str) -> list[Command]:
    """Split a console block into its commands, each with the lines it prints."""
    found: list[Command] = []
    lines = block.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("$ "):
            raise ValueError(f"a console block must start each command with '$ ', got {line!r}")
        parts = [line[2:]]
        while parts[-1].endswith("\\") and index + 1 < len(lines):
            index += 1
            parts.append(lines[index])
        index += 1
        output: list[str] = []
        while index < len(lines) and not lines[index].startswith("$ "):
            output.append(lines[index])
            index += 1
        found.append(Command("\n".join(parts), "\n".join(output)))
    return found


def _language(info: str) -> str:
    """The language of a fence's info string: ``python``, or ``{.python .no-run}`` (a block
    shown but not run is reported as the language ``no-run``)."""
    info = info.strip()
    if info.startswith("{"):
        classes = [word.lstrip(".") for word in info.strip("{}").split()]
        if _NO_RUN in classes:
            return _NO_RUN
        return classes[0].lower() if classes else ""
    return info.split(" ")[0].lower()


def fenced_blocks(text: str) -> Iterator[Block | None]:
    """The fenced blocks of a Markdown text, with None for each non-blank line between them."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            if lines[index].strip():
                yield None
            index += 1
            continue
        indent, fence = match["indent"], match["fence"]
        language = _language(match["info"])
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines):
            line = lines[index]
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                break
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            index += 1
        else:
            raise ValueError(f"line {start + 1}: a code block is never closed")
        index += 1
        yield Block(language, "\n".join(body) + "\n", start + 1)


def examples(text: str) -> list[Example]:
    """The Python examples of a page, each with the output block right after it, if any."""
    found: list[Example] = []
    previous: Block | None = None
    for block in fenced_blocks(text):
        if block is not None and block.language in _OUTPUT:
            if previous is not None and previous.language in _PYTHON and found:
                found[-1].expected = block.code
        elif block is not None and block.language in _PYTHON:
            found.append(Example(block.code, block.line, None))
        elif block is not None and block.language in _CONSOLE:
            found.append(Example(block.code, block.line, None, console=True))
        previous = block
    return found


def count_not_run(text: str) -> int:
    """How many blocks of a page are marked ``{.python .no-run}``: shown, not run."""
    return sum(
        1 for block in fenced_blocks(text) if block is not None and block.language == _NO_RUN
    )


def outputs_match(expected: str, got: str) -> bool:
    """Whether the printed output matches the shown one (trailing spaces ignored, ``...``
    matching any text)."""

    def tidy(text: str) -> str:
        return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()) + "\n"

    checker = doctest.OutputChecker()
    return checker.check_output(tidy(expected), tidy(got), doctest.ELLIPSIS)


def run_page(page: Path) -> list[str]:
    """Run a page's examples here, in the current folder; return what failed."""
    failures: list[str] = []
    namespace: dict[str, object] = {"__name__": "__main__"}
    for example in examples(page.read_text(encoding="utf-8")):
        where = f"{page}:{example.line}"
        if example.console:
            failures += run_console(example, where)
            continue
        printed = io.StringIO()
        try:
            compiled = compile(example.code, where, "exec")
            with contextlib.redirect_stdout(printed):
                exec(compiled, namespace)
        except BaseException:
            failures.append(
                f"{where}: the example raised\n{example.code}\n{traceback.format_exc()}"
            )
            break  # the next examples of the page build on this one
        if example.expected is not None and not outputs_match(example.expected, printed.getvalue()):
            failures.append(
                f"{where}: the output differs from the page\n--- the page shows\n"
                f"{example.expected}--- the example printed\n{printed.getvalue()}"
            )
    return failures


def run_console(example: Example, where: str) -> list[str]:
    """Run a console block's commands in a shell, here; return what failed."""
    failures = []
    for command in commands(example.code):
        completed = subprocess.run(
            command.command,
            shell=True,
            capture_output=True,
            text=True,
            timeout=PAGE_TIMEOUT_S,
            check=False,
            env=dict(os.environ),
        )
        printed = completed.stdout + completed.stderr
        if not outputs_match(command.expected, printed):
            failures.append(
                f"{where}: the output of `{command.command}` (exit code {completed.returncode}) "
                f"differs from the page\n--- the page shows\n{command.expected}\n"
                f"--- the command printed\n{printed}"
            )
    return failures


def _child_environment(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _SECRETS}
    env["HF_HOME"] = str(home / "hf-home")  # no token file either
    env["HF_HUB_OFFLINE"] = "1"
    return env


def check_pages(pages: Sequence[Path]) -> int:
    """Run each page in its own process and folder; print a line per page; 1 if any failed."""
    failed = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        count, not_run = len(examples(text)), count_not_run(text)
        if not count and not not_run:
            continue
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="docs-example-") as folder:
            workdir = Path(folder)
            for sample in SAMPLE_FILES:
                shutil.copyfile(sample, workdir / sample.name)
            completed = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--in-process", str(page)],
                cwd=workdir,
                env=_child_environment(workdir),
                capture_output=True,
                text=True,
                timeout=PAGE_TIMEOUT_S,
                check=False,
            )
        seconds = time.perf_counter() - started
        status = "ok" if completed.returncode == 0 else "FAILED"
        shown = f", {not_run} shown but not run (marked no-run)" if not_run else ""
        print(f"{status:6} {page.relative_to(ROOT)}: {count} examples{shown}, {seconds:.1f} s")
        if completed.returncode != 0:
            failed += 1
            print(completed.stdout + completed.stderr)
    return 1 if failed else 0


def default_pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="*", type=Path, help="Markdown files (default: all)")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    pages = [page.resolve() for page in args.pages] or default_pages()
    if args.in_process:
        failures = [failure for page in pages for failure in run_page(page)]
        for failure in failures:
            print(failure, file=sys.stderr)
        return 1 if failures else 0
    return check_pages(pages)


if __name__ == "__main__":
    sys.exit(main())
