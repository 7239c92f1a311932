"""Porting one of the SDK's test files to tether by rewriting its import statements, and nothing else.

`from claude_agent_sdk import X` becomes `from tether import X` (and `claude_agent_sdk.types` ->
`tether.types`, `claude_agent_sdk.testing` -> `tether.testing`). An SDK test may also import the
SDK's private helpers (`claude_agent_sdk._internal.sessions._sanitize_path`, ...). Such a name is
bound to:

- tether's public name of the same name, when it is public (`_internal.sessions.get_session_messages`);
- tether's counterpart from `PRIVATE_COUNTERPARTS`, when tether has one with the same behaviour;
- otherwise a stand-in that skips the test using it (`pytest.skip`, naming the private helper):
  such a test is about the SDK's internals, not the public behaviour tether reproduces.

Every rewritten statement keeps its line count, so the tracebacks of a ported file point at the
SDK's own line numbers.
"""

from __future__ import annotations

import ast
from typing import Any

import pytest

PUBLIC_MODULES = {
    "claude_agent_sdk": "tether",
    "claude_agent_sdk.types": "tether.types",
    "claude_agent_sdk.testing": "tether.testing",
}
"""The SDK's public modules and tether's."""

PRIVATE_COUNTERPARTS = {
    "claude_agent_sdk._internal.sessions._sanitize_path": "tether.sessions.keys:encode_project_path",
    "claude_agent_sdk._internal.sessions._simple_hash": "tether.sessions.keys:simple_hash",
    "claude_agent_sdk._internal.sessions.MAX_SANITIZED_LENGTH": "tether.sessions.keys:MAX_PROJECT_KEY_LENGTH",
    "claude_agent_sdk._internal.session_mutations._sanitize_unicode": "tether.sessions.keys:strip_invisible",
    "claude_agent_sdk.types._whole_tool_allowed": "tether._vocabulary.options:whole_tool_allowed",
    "claude_agent_sdk.types._get_can_use_tool_shadowed_warning": (
        "tether._vocabulary.options:can_use_tool_shadowed_warning"
    ),
    "claude_agent_sdk.types._warn_if_can_use_tool_shadowed": "tether._vocabulary.options:warn_if_can_use_tool_shadowed",
}
"""Private SDK helpers that tests use to build their fixtures, and tether's helper doing the same thing."""


class PrivateHelper:
    """Stands for a private SDK helper tether has no counterpart of: any use skips the test."""

    def __init__(self, qualified_name: str) -> None:
        object.__setattr__(self, "_qualified_name", qualified_name)

    def _skip(self) -> Any:
        pytest.skip(f"uses the SDK's private {object.__getattribute__(self, '_qualified_name')}")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "pytestmark":  # looked up by pytest's collection, not by the test
            raise AttributeError(name)
        return self._skip()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._skip()


def resolve(module: str, name: str) -> Any:
    """The object an SDK test's `from <module> import <name>` gets when ported (see the module's doc)."""
    import importlib

    counterpart = PRIVATE_COUNTERPARTS.get(f"{module}.{name}")
    if counterpart is not None:
        home, _, attribute = counterpart.partition(":")
        return getattr(importlib.import_module(home), attribute)
    public = PUBLIC_MODULES.get(module)
    if public is not None:
        target = importlib.import_module(public)
        if hasattr(target, name) or not name.startswith("_"):
            return getattr(target, name)  # a missing public name is an ImportError-like failure: tether lacks it
        return PrivateHelper(f"{module}.{name}")
    tether = importlib.import_module("tether")
    if not name.startswith("_") and name in tether.__all__:
        return getattr(tether, name)
    return PrivateHelper(f"{module}.{name}")


def _is_sdk(module: str | None) -> bool:
    return module is not None and (module == "claude_agent_sdk" or module.startswith("claude_agent_sdk."))


def _replacement(node: ast.Import | ast.ImportFrom) -> str | None:
    """The one line that replaces an import statement naming the SDK, or None to leave it as it is."""
    if isinstance(node, ast.ImportFrom):
        if not _is_sdk(node.module) or node.level:
            return None
        names = [(alias.name, alias.asname or alias.name) for alias in node.names]
        bindings = "; ".join(f"{local} = _sdk_port.resolve({node.module!r}, {name!r})" for name, local in names)
        return f"import tests.sdk_unit.porting as _sdk_port; {bindings}"
    rewritten = []
    for alias in node.names:
        if not _is_sdk(alias.name):
            return None
        if alias.name not in PUBLIC_MODULES:
            module, _, name = alias.name.rpartition(".")
            rewritten.append(f"{alias.asname or alias.name} = _sdk_port.resolve({module!r}, {name!r})")
        else:
            rewritten.append(f"import {PUBLIC_MODULES[alias.name]} as {alias.asname or alias.name}")
    return "import tests.sdk_unit.porting as _sdk_port; " + "; ".join(rewritten)


def port(source: str) -> str:
    """The test file with every import of the SDK rewritten (same number of lines), nothing else changed."""
    lines = source.splitlines(keepends=True)
    for node in sorted(ast.walk(ast.parse(source)), key=lambda n: -getattr(n, "lineno", 0)):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        replacement = _replacement(node)
        if replacement is None:
            continue
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        indent = lines[first][: node.col_offset]
        lines[first : last + 1] = [f"{indent}{replacement}\n"] + ["\n"] * (last - first)
    return "".join(lines)
