"""The package's layout holds: short modules, no import circle, no private name crossing from
one package to another, and imports that stay light.

Read from the source with `ast` (module-level imports only: an import inside a function or
under ``if TYPE_CHECKING:`` runs late or never, so it cannot close a circle at import time).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import segformer_clothes

SOURCE = Path(segformer_clothes.__file__).parent
MODULES = sorted(SOURCE.rglob("*.py"))
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(path: Path) -> str:
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def top_level_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) of each import run at import time, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, list[str]]] = []
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_of(path).split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
    return found


def is_private(dotted: str) -> bool:
    return any(part.startswith("_") and part != "__init__" for part in dotted.split(".")[1:])


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SOURCE)))
def test_every_module_stays_short(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(SOURCE)} has {lines} lines: split it"


def test_no_private_name_crosses_packages() -> None:
    crossings = []
    for path in MODULES:
        here = package_of(path)
        for module, names in top_level_imports(path):
            if not module.startswith("segformer_clothes") or module == "segformer_clothes._version":
                continue
            target = (
                module
                if (SOURCE.parent / module.replace(".", "/")).is_dir()
                else (module.rpartition(".")[0])
            )
            private = is_private(module) or any(n.startswith("_") for n in names)
            if private and target != here:
                crossings.append(f"{module_name(path)} imports {names} from {module}")
    assert not crossings, "\n".join(crossings)


def test_there_is_no_import_circle() -> None:
    known = {module_name(path): path for path in MODULES}
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        edges = set()
        for module, names in top_level_imports(path):
            submodules = {f"{module}.{n}" for n in names} & known.keys()
            # `from . import _drawing` imports the module, not the package's names.
            targets = submodules or ({module} & known.keys())
            edges |= targets - {name}
        graph[name] = edges
    circles = _strongly_connected(graph)
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return set(done.stdout.split())


HTTP_STACK = {"httpx", "anyio", "tenacity"}
TORCH = {"torch", "transformers"}


def test_importing_the_package_loads_no_http_stack_and_no_torch() -> None:
    loaded = imported_after("import segformer_clothes")
    assert not loaded & (HTTP_STACK | TORCH)


def test_importing_the_evaluation_loads_no_http_stack() -> None:
    loaded = imported_after("import segformer_clothes.evaluation")
    assert not loaded & (HTTP_STACK | TORCH)


def test_the_client_loads_on_first_use_and_torch_never() -> None:
    loaded = imported_after("import segformer_clothes; segformer_clothes.SegformerClothesClient")
    assert "httpx" in loaded
    assert not loaded & TORCH
