"""DESIGN.md's layer rules as checks: every import of gateway/ and schema/ is read with ast
(module level, function level and under TYPE_CHECKING alike) and held to the rules below, and the
module graph has no cycle. A failure names each offending file:line and the rule it breaks."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "schema")
COMPOSITION_ROOT = {"gateway.services", "gateway.cli"}  # the only places above the engine that build it


@dataclass(frozen=True)
class Import:
    importer: str  # module name
    imported: str  # module name (a `from X import Y` of a submodule Y counts as X.Y)
    where: str  # file:line


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _imports(modules: dict[str, Path]) -> Iterator[Import]:
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(name, alias.name, where)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    yield Import(name, sub if sub in modules else base, where)


ALL = list(_imports(_modules()))


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _violations(importers: str, forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{i.where}: {i.importer} imports {i.imported}"
        for i in ALL
        if _within(i.importer, importers) and any(_within(i.imported, f) for f in forbidden)
    ]


def test_schema_knows_neither_the_engine_nor_redis() -> None:
    assert _violations("schema", ("gateway.engine", "redis")) == []


def test_session_and_push_reach_the_engine_only_through_the_backend_interface() -> None:
    assert _violations("gateway.session", ("gateway.engine",)) == []
    assert _violations("gateway.push", ("gateway.engine",)) == []


def test_only_the_engine_and_the_composition_root_import_the_engine() -> None:
    found = [
        f"{i.where}: {i.importer} imports {i.imported}"
        for i in ALL
        if _within(i.imported, "gateway.engine")
        and not _within(i.importer, "gateway.engine")
        and i.importer not in COMPOSITION_ROOT
    ]
    assert found == []


def test_the_tencent_backend_imports_no_engine() -> None:
    """gateway.tencent imports no gateway.engine: it stands in for the engine, it does not wrap it."""
    assert _violations("gateway.tencent", ("gateway.engine",)) == []


def test_the_engine_knows_no_graphql_or_web_framework() -> None:
    assert _violations("gateway.engine", ("schema", "strawberry", "starlette", "graphql", "uvicorn")) == []


def test_domain_objects_import_only_the_stdlib_and_msgspec() -> None:
    stdlib = sys.stdlib_module_names
    found = [
        f"{i.where}: {i.importer} imports {i.imported}"
        for i in ALL
        if _within(i.importer, "gateway.im")
        and not _within(i.imported, "gateway.im")
        and i.imported.split(".")[0] not in stdlib
        and i.imported.split(".")[0] not in {"msgspec", "__future__"}
    ]
    assert found == []


def test_no_import_cycle_among_gateway_and_schema_modules() -> None:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for i in ALL:
        if i.imported in modules and i.imported != i.importer:
            graph[i.importer].add(i.imported)
    # a package's own __init__ importing its submodules is not a cycle with them
    for m in modules:
        graph[m] = {d for d in graph[m] if not _within(d, m) or d == m}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append([*stack[stack.index(d) :], d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert [" -> ".join(c) for c in cycles] == []


def test_the_walker_sees_type_checking_and_function_level_imports() -> None:
    """Guards the checks above against reading too little: known imports of each kind are found."""
    pairs = {(i.importer, i.imported) for i in ALL}
    assert ("gateway.services", "gateway.engine.backend") in pairs
    assert any(_within(i.importer, "gateway.session") and i.imported == "gateway.backend" for i in ALL)
