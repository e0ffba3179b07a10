"""The package's import graph: every module imports, dependencies point one way, and
``lmbook.<subpackage>`` works after a bare ``import lmbook``.

The graph is read from the source with ``ast`` (the imports a module runs when it is
imported: module level, not inside functions or ``if TYPE_CHECKING``), so a cycle is found
even when today's import order happens to hide it.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import lmbook

ROOT = Path(lmbook.__file__).parent


def _modules() -> dict[str, Path]:
    """Every module of lmbook: dotted name -> file (a package is its __init__.py)."""
    out = {"lmbook": ROOT / "__init__.py"}
    for info in pkgutil.walk_packages([str(ROOT)], prefix="lmbook."):
        rel = Path(*info.name.split(".")[1:])
        out[info.name] = ROOT / rel / "__init__.py" if info.ispkg else ROOT / f"{rel}.py"
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_nodes(body: list[ast.stmt]):
    """Import statements run at import time (module level, also inside if/try blocks)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            yield from _import_time_nodes(node.body)
            yield from _import_time_nodes(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _import_time_nodes(block)


def import_graph() -> dict[str, set[str]]:
    """Module -> the lmbook modules its import runs (excluding its own parent packages)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        package = name if is_pkg else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _import_time_nodes(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative import: climb level - 1 packages up
                    parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*parts, base] if base else parts)
                found = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for target in found:
                if target not in modules:
                    continue
                # importing a.b.c runs a.b's __init__ first: count every package on the way
                parts = target.split(".")
                for i in range(2, len(parts) + 1):
                    targets.add(".".join(parts[:i]))
        ancestors = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}
        graph[name] = targets - ancestors - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules (first = last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_a_cycle_and_accepts_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_import_graph_sees_the_package_imports():
    graph = import_graph()
    assert "lmbook.nn.attention" in graph["lmbook.nn"]  # nn/__init__ re-exports attention
    assert "lmbook.compute.counts" in graph["lmbook.compute"]
    assert {"lmbook.nn", "lmbook.nn.params", "lmbook.models.gpt"} <= graph["lmbook.compute.counts"]


def test_no_import_cycle_in_lmbook():
    cycle = find_cycle(import_graph())
    assert cycle is None, (
        "import cycle: " + " -> ".join(cycle) + "; move the shared code into a module both "
        "can import, so that dependencies point one way"
    )


def test_every_subpackage_is_reachable_from_a_bare_import():
    top = {name.split(".")[1] for name in _modules() if name.count(".") >= 1}
    assert top <= set(lmbook._SUBMODULES), (
        f"missing from _SUBMODULES: {top - set(lmbook._SUBMODULES)}"
    )
    code = (
        "import lmbook\n"
        f"for name in {sorted(top)!r}:\n"
        "    assert getattr(lmbook, name).__name__ == 'lmbook.' + name, name\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def test_every_module_imports_in_a_fresh_interpreter():
    # One interpreter for all modules (one per module would import torch ~70 times); a
    # cycle that only bites in some import order is caught by the graph test above.
    names = sorted(_modules())
    code = f"import importlib\nfor name in {names!r}:\n    importlib.import_module(name)\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
