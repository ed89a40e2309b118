"""The house rules (ADR 0011), held by reading the package's source: imports point one way (no cycles),
no private name crosses a module boundary, no module past 500 lines or function past 60, one public
class per name, and the core imports no domain."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ROOT

PACKAGE = ROOT / "src" / "opentrail"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
CORE = ("errors", "settings", "clock", "events", "arns", "params", "tokens", "protocol", "context")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = modules()


def runtime_imports(name: str, path: Path) -> Iterator[tuple[str, str, int]]:
    """(module imported, name imported, line) for every import of the package outside TYPE_CHECKING."""

    def visit(body: list[ast.stmt]) -> Iterator[tuple[str, str, int]]:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("opentrail"):
                assert node.level == 0, f"{path}:{node.lineno}: relative import"
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    yield (full if full in MODULES else str(node.module)), alias.name, node.lineno
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("opentrail"):
                        yield alias.name, "", node.lineno
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from visit([child])

    yield from visit(ast.parse(path.read_text()).body)


def graph() -> dict[str, set[str]]:
    return {
        name: {target for target, _, _ in runtime_imports(name, path) if target in MODULES and target != name}
        for name, path in MODULES.items()
    }


def test_no_import_cycles() -> None:
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def strong(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges[node]:
            if target not in index:
                strong(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in edges:
        if node not in index:
            strong(node)
    assert cycles == []


def test_no_private_name_is_imported_across_modules() -> None:
    crossing = [
        f"{path.relative_to(ROOT)}:{line}: {imported}"
        for name, path in MODULES.items()
        for target, imported, line in runtime_imports(name, path)
        if imported.startswith("_") and imported != "__version__"
    ]
    assert crossing == []


def test_the_core_imports_no_domain() -> None:
    outward = [
        f"{name} imports {target}"
        for name in (f"opentrail.{core}" for core in CORE)
        for target, _, _ in runtime_imports(name, MODULES[name])
        if target.split(".")[1] not in CORE
    ]
    assert outward == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_and_functions_stay_small(name: str) -> None:
    path = MODULES[name]
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} is two concepts: split it"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


def test_one_public_class_per_name() -> None:
    seen: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                seen.setdefault(node.name, []).append(name)
    assert {cls: where for cls, where in seen.items() if len(where) > 1} == {}
