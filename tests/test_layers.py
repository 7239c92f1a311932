"""The layers of `src/tether` point one way (DESIGN.md §2): a module imports only its own layer or
below, and no two modules import each other, directly or through others.

Two checks: a static one over the source (every import counts, also one inside a function or under
`TYPE_CHECKING`), and a run one that imports each module in a fresh interpreter and lists the
tether modules it loaded (a package's `__init__` included).
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

import tether

SOURCE = Path(tether.__file__).parent

LAYERS: tuple[tuple[str, ...], ...] = (
    ("tether.errors", "tether._version", "tether._background", "tether._copying", "tether._vocabulary"),  # the ground
    ("tether.messages",),
    ("tether.options",),
    ("tether.sessions",),
    ("tether.models",),
    ("tether.tools",),
    ("tether.agent",),  # with agent.settings: Claude Code's files, as rules, hooks and tools of the agent
    ("tether.durable",),  # turns as DBOS workflows: steps, take-over (DESIGN.md §10)
    ("tether._query", "tether._conversation", "tether._control"),
    ("tether.testing",),
    ("tether.ui",),  # the local session browser (`tether ui`)
    ("tether.cli",),
    ("tether", "tether.types"),  # the front door: re-exports only
)
"""Bottom up: the modules (and packages) of each layer."""

KNOWN_CYCLES: dict[str, str] = {}
"""Modules still in an import cycle, each with the work that removes it (strict xfails: remove the
entry when that work lands)."""


def layer_of(module: str) -> int:
    """The index in `LAYERS` of the longest prefix naming `module` (`tether` itself only by name)."""
    best, best_length = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or (prefix != "tether" and module.startswith(prefix + "."))
            if matches and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    assert best >= 0, f"{module} is in no layer: add it to LAYERS"
    return best


def module_names() -> dict[str, Path]:
    """Every module of the package, by dotted name (a package by its own name)."""
    names = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = ("tether", *path.relative_to(SOURCE).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


MODULES = module_names()


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The tether modules an import statement names (`from a import b` names `a.b` when it is a module)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = node.module or ""
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        base = ".".join([*package[: len(package) - node.level + 1], *([base] if base else [])])
    return {f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names}


@functools.cache
def import_graph() -> dict[str, frozenset[str]]:
    """Each module -> the tether modules it imports anywhere in its source."""
    graph = {}
    for module, path in MODULES.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                targets |= {name for name in _imported(module, path, node) if name in MODULES and name != module}
        graph[module] = frozenset(targets)
    return graph


@functools.cache
def cycles() -> tuple[frozenset[str], ...]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

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
            component: set[str] = set()
            while not component or node not in component:
                component.add(stack.pop())
            on_stack.difference_update(component)
            if len(component) > 1:
                found.append(frozenset(component))

    for node in graph:
        if node not in index:
            visit(node)
    return tuple(found)


def upward_imports() -> list[tuple[str, str]]:
    """Every (importer, imported) pair where the imported module sits in a higher layer."""
    return sorted((m, t) for m, targets in import_graph().items() for t in targets if layer_of(t) > layer_of(m))


def _known(module: str) -> pytest.ParameterSet:
    if module in KNOWN_CYCLES:
        return pytest.param(module, marks=pytest.mark.xfail(reason=KNOWN_CYCLES[module], strict=True))
    return pytest.param(module)


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_layer(module: str) -> None:
    above = sorted(t for t in import_graph()[module] if layer_of(t) > layer_of(module))
    assert above == [], f"{module} imports modules of a higher layer"


@pytest.mark.parametrize("module", [_known(module) for module in sorted(MODULES)])
def test_no_module_is_in_an_import_cycle(module: str) -> None:
    cycle = next((sorted(c) for c in cycles() if module in c), [])
    assert cycle == [], f"{module} is in an import cycle"


def _loaded_by(module: str) -> list[str]:
    """The tether modules a fresh interpreter has loaded after `import module`."""
    code = f"import json, sys, {module}; print(json.dumps(sorted(m for m in sys.modules if m.startswith('tether'))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return [name for name in json.loads(done.stdout.splitlines()[-1]) if name in MODULES]


@pytest.mark.parametrize("index", range(len(LAYERS) - 1), ids=lambda i: LAYERS[i][0].removeprefix("tether."))
def test_importing_a_module_loads_no_module_of_a_higher_layer(index: int) -> None:
    """For instance `import tether.models.base` loads no `tether.sessions.stores`, `tether.tools` or
    `tether.agent` module, and `import tether.messages` no `tether.options`."""
    climbing = {}
    for module in sorted(m for m in MODULES if layer_of(m) == index and not m.endswith("__main__")):
        above = [loaded for loaded in _loaded_by(module) if layer_of(loaded) > index and loaded != "tether"]
        if above:
            climbing[module] = above
    assert climbing == {}


def test_the_layers_are_counted_as_the_issue_counts_them() -> None:
    """The figures quoted in reviews: cycles and upward imports (0 and 0 once the known cycles are gone)."""
    in_known = {module for cycle in cycles() for module in cycle} - set(KNOWN_CYCLES)
    assert in_known == set(), "a cycle outside KNOWN_CYCLES"
    assert upward_imports() == []


def test_the_models_know_no_stores_tools_or_agent() -> None:
    """A provider is one file over the Model protocol: nothing of `models/` reaches for a session
    store (a layer below it), tools or the agent."""
    reaching = sorted(
        (module, target)
        for module, targets in import_graph().items()
        if module.startswith("tether.models")
        for target in targets
        if target.startswith(("tether.sessions", "tether.tools", "tether.agent"))
    )
    assert reaching == []
