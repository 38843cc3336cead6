"""The docs examples runner (scripts/docs_examples.py) and checks of the docs' own promises.

The examples themselves run in `nox -s docs_examples`; these tests check that the runner finds
them, pairs each with its output and reports a wrong one, and that the Errors page documents
every error class.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import segformer_clothes
import segformer_clothes.errors
from segformer_clothes import SegmentationResult

ROOT = Path(__file__).resolve().parent.parent


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


runner = _load_script("docs_examples")

PAGE = """\
# A page

```python
print("hello")
```

```text
hello
```

Some prose.

```text
not the output of anything
```

!!! note
    ```python
    value = 6 * 7
    print(value)
    ```

    ```text
    42
    ```

```{.python .no-run}
import something_not_installed
```

```bash
pip install nothing
```
"""


def test_examples_pair_python_blocks_with_the_output_right_after() -> None:
    found = runner.examples(PAGE)
    assert [example.code for example in found] == [
        'print("hello")\n',
        "value = 6 * 7\nprint(value)\n",
    ]
    assert [example.expected for example in found] == ["hello\n", "42\n"]
    assert [example.line for example in found] == [3, 18]


def test_blocks_marked_no_run_and_bash_blocks_are_not_run_but_no_run_is_counted() -> None:
    assert runner.count_not_run(PAGE) == 1
    assert all("something_not_installed" not in e.code for e in runner.examples(PAGE))


@pytest.mark.parametrize(
    ("expected", "got", "match"),
    [
        ("a\nb\n", "a\nb\n", True),
        ("a  \nb", "a\nb  \n\n", True),  # trailing spaces and blank lines do not count
        ("took ... s\n", "took 0.25 s\n", True),  # ... stands for any text
        ("a\nb\n", "a\nc\n", False),
        ("(1, 2)\n", "(1, 2, 3)\n", False),
    ],
)
def test_outputs_match(expected: str, got: str, match: bool) -> None:
    assert runner.outputs_match(expected, got) is match


def run_text(text: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run a Markdown text as a page, in ``folder``; return the failures."""
    monkeypatch.chdir(folder)
    page = folder / "page.md"
    page.write_text(text, encoding="utf-8")
    failures: list[str] = runner.run_page(page)
    return failures


def test_a_wrong_output_and_an_error_are_both_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = run_text(
        '```python\nprint("one")\n```\n\n```text\ntwo\n```\n\n'
        "```python\nraise ValueError('broken example')\n```\n",
        tmp_path,
        monkeypatch,
    )
    assert len(failures) == 2
    assert "differs from the page" in failures[0]
    assert "two" in failures[0]
    assert "one" in failures[0]
    assert "broken example" in failures[1]


def test_a_page_runs_in_one_namespace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "```python\nx = 2\n```\n\n```python\nprint(x + 1)\n```\n\n```text\n3\n```\n"
    assert run_text(text, tmp_path, monkeypatch) == []


def test_console_blocks_split_into_commands_with_their_output() -> None:
    commands = runner.commands("$ echo one \\\n    two\none two\n$ true\n")
    assert [(c.command, c.expected) for c in commands] == [
        ("echo one \\\n    two", "one two"),
        ("true", ""),
    ]
    with pytest.raises(ValueError, match="start each command"):
        runner.commands("no prompt here\n")


def test_console_commands_run_and_their_output_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "```console\n$ echo right\nright\n$ echo wrong\nexpected\n```\n"
    failures = run_text(text, tmp_path, monkeypatch)
    assert len(failures) == 1
    assert "echo wrong" in failures[0]


def test_every_page_with_a_block_not_run_says_so() -> None:
    for page in runner.default_pages():
        text = page.read_text(encoding="utf-8")
        if runner.count_not_run(text):
            assert "not run" in text, f"{page} hides that a block is not run"


def test_the_errors_page_documents_every_error_class() -> None:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^### `(\w+)`$", text, flags=re.MULTILINE))
    assert documented == set(segformer_clothes.errors.__all__)


def test_the_committed_annotation_is_the_one_the_script_draws() -> None:
    pictures = _load_script("make_docs_pictures")
    committed = SegmentationResult.load(pictures.ANNOTATION)
    assert committed.size == (256, 256)
    drawn = pictures.draw_annotation(committed.size)
    assert np.array_equal(committed.label_map, drawn)
    assert committed.labels_present == ("Background", "Hair", "Upper-clothes", "Face")


def test_the_reference_index_lists_every_public_name_of_the_package() -> None:
    text = (ROOT / "docs" / "reference" / "index.md").read_text(encoding="utf-8")
    errors = set(segformer_clothes.errors.__all__)
    for name in set(segformer_clothes.__all__) - errors:
        assert f"`{name}`" in text, f"docs/reference/index.md does not list {name}"


def _public_modules() -> set[str]:
    """Every public module of the package, from its files: no part of its name starts with _."""
    package = Path(segformer_clothes.__file__).parent
    found = set()
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(part.startswith("_") for part in parts):
            found.add(".".join(parts))
    return found


def _reference_pages() -> dict[str, Path]:
    """Module name -> the reference page that renders it with ``::: module``."""
    pages = {}
    for page in (ROOT / "docs" / "reference").rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        for module in re.findall(r"^::: ([\w.]+)$", text, flags=re.MULTILINE):
            assert module not in pages, f"{module} is rendered by {pages.get(module)} and {page}"
            pages[module] = page
    return pages


def test_every_public_module_has_its_reference_page() -> None:
    modules = _public_modules()
    assert "segformer_clothes.backends.remote.settings" in modules  # the walk finds nested ones
    assert "segformer_clothes.evaluation" in modules
    assert not any("._" in module for module in modules)
    pages = _reference_pages()
    missing = sorted(modules - set(pages))
    assert not missing, f"public modules without a reference page: {missing}"
    stale = sorted(set(pages) - modules)
    assert not stale, f"reference pages of modules that do not exist: {stale}"


def test_every_reference_page_is_in_the_nav_and_the_reference_index() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    reference = ROOT / "docs" / "reference"
    index = (reference / "index.md").read_text(encoding="utf-8")
    for module, page in _reference_pages().items():
        relative = page.relative_to(reference).as_posix()
        assert re.search(rf"^\s+- (\S+: )?reference/{re.escape(relative)}$", nav, re.MULTILINE), (
            f"mkdocs.yml does not list reference/{relative}"
        )
        if page.name != "index.md" or page.parent != reference:
            assert f"[`{module}`]({relative})" in index, (
                f"docs/reference/index.md does not link {module} to {relative}"
            )
