"""The built-in tools by name: `builtin_tools(options.tools)`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tether.errors import ConfigurationError
from tether.tools.base import Tool, is_read_only
from tether.tools.bash import BashTool
from tether.tools.edit import EditTool
from tether.tools.glob import GlobTool
from tether.tools.grep import GrepTool
from tether.tools.read import ReadTool
from tether.tools.write import WriteTool

__all__ = ["BUILTIN_TOOL_NAMES", "READ_ONLY_TOOL_NAMES", "builtin_tools"]

_FACTORIES: dict[str, Callable[[Mapping[str, str]], Tool]] = {
    "Bash": lambda env: BashTool(env),
    "Glob": lambda env: GlobTool(),
    "Grep": lambda env: GrepTool(),
    "Read": lambda env: ReadTool(),
    "Edit": lambda env: EditTool(),
    "Write": lambda env: WriteTool(),
}
_CLASSES = (BashTool, GlobTool, GrepTool, ReadTool, EditTool, WriteTool)

BUILTIN_TOOL_NAMES: tuple[str, ...] = tuple(_FACTORIES)
"""The names of the built-in tools, in the order they are offered to the model."""

READ_ONLY_TOOL_NAMES: frozenset[str] = frozenset(kind.name for kind in _CLASSES if is_read_only(kind))
"""Built-in tools that only read files (Read, Glob, Grep: their annotations say `readOnlyHint`)."""


def builtin_tools(
    names: list[str] | Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None
) -> list[Tool]:
    """The built-in tools that `AgentOptions.tools` asks for.

    `None` or the preset `{"type": "preset", "preset": "claude_code"}` gives all of them, a list
    gives those named (an empty list gives none), an unknown name raises `ConfigurationError`.
    `env` is added to the environment of Bash commands.
    """
    if names is None:
        wanted: list[str] = list(BUILTIN_TOOL_NAMES)
    elif isinstance(names, Mapping):
        if names.get("type") != "preset" or names.get("preset") != "claude_code":
            raise ConfigurationError(
                f"tools: the only preset is {{'type': 'preset', 'preset': 'claude_code'}}, not {dict(names)!r}"
            )
        wanted = list(BUILTIN_TOOL_NAMES)
    elif isinstance(names, (list, tuple)):
        wanted = [str(name) for name in names]
        unknown = [name for name in wanted if name not in _FACTORIES]
        if unknown:
            raise ConfigurationError(
                f"tools: unknown built-in tool(s) {', '.join(map(repr, unknown))}; "
                f"the built-in tools are {', '.join(BUILTIN_TOOL_NAMES)} (custom tools go in mcp_servers)"
            )
    else:
        raise ConfigurationError(f"tools must be a list of tool names or the claude_code preset, not {names!r}")
    environment = dict(env or {})
    seen: set[str] = set()
    tools: list[Tool] = []
    for name in wanted:
        if name not in seen:
            seen.add(name)
            tools.append(_FACTORIES[name](environment))
    return tools
