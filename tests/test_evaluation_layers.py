"""The evaluation package is built in layers, with no import circle and no HTTP stack."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import segformer_clothes.evaluation

PACKAGE = Path(segformer_clothes.evaluation.__file__).parent

# Bottom first: each module may import only the modules before it.
LAYERS = [
    "_label_maps",  # reading and checking label maps
    "_pairing",  # files paired by name
    "_sides",  # left/right classes merged
    "_counting",  # one image's pixel counts
    "_scores",  # the scores of a confusion matrix
    "_figures",  # matplotlib figures from plain arrays
    "_report",  # EvaluationReport, ClassScores, ImageScores
    "_confusion",  # ConfusionMatrix
    "_evaluate",  # evaluate()
    "_plots",  # the public plot functions
    "__init__",  # the public names
]
# What the evaluation may use of the rest of the library: no client, no HTTP stack.
ALLOWED_SIBLINGS = {"errors", "images", "labels", "result"}
HTTP_STACK = ("httpx", "anyio", "tenacity")
LAZY_IN_FUNCTIONS = ("matplotlib",)  # optional and heavy: imported only when drawing


def modules() -> list[Path]:
    return sorted(PACKAGE.glob("*.py"))


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def own_imports(tree: ast.Module) -> set[str]:
    """The modules of this package that a module imports (``from ._x import ...``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_every_module_has_its_place_in_the_layers() -> None:
    assert sorted(path.stem for path in modules()) == sorted(LAYERS)


@pytest.mark.parametrize("path", modules(), ids=lambda path: path.stem)
def test_a_module_imports_only_the_layers_below_it(path: Path) -> None:
    below = set(LAYERS[: LAYERS.index(path.stem)])
    above = own_imports(parsed(path)) - below
    assert not above, f"{path.name} imports {sorted(above)}, which are not below it"


@pytest.mark.parametrize("path", modules(), ids=lambda path: path.stem)
def test_a_module_uses_no_http_stack(path: Path) -> None:
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif isinstance(node, ast.ImportFrom) and node.level == 2:
            sibling = (node.module or "").split(".")[0]
            assert sibling in ALLOWED_SIBLINGS, f"{path.name}:{node.lineno} imports ..{sibling}"
            continue
        else:
            continue
        for name in names:
            assert name.split(".")[0] not in HTTP_STACK, f"{path.name}:{node.lineno}: {name}"
            assert not name.startswith("segformer_clothes"), f"{path.name}:{node.lineno}: {name}"


@pytest.mark.parametrize("path", modules(), ids=lambda path: path.stem)
def test_imports_inside_functions_only_keep_matplotlib_lazy(path: Path) -> None:
    for function in ast.walk(parsed(path)):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in LAZY_IN_FUNCTIONS, (
                    f"{path.name}:{node.lineno} imports {name} inside {function.name}()"
                )


@pytest.mark.parametrize("path", modules(), ids=lambda path: path.stem)
def test_a_module_stays_short(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines < 400, f"{path.name} has {lines} lines: split it"


def test_importing_the_evaluation_loads_no_http_stack() -> None:
    code = (
        "import sys, segformer_clothes.evaluation; "
        f"print(sorted(name for name in {HTTP_STACK!r} if name in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
