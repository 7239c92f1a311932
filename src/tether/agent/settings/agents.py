"""Subagents defined in files: `.claude/agents/*.md`, as Claude Code reads them.

```markdown
---
name: reviewer
description: Reviews a diff for bugs. Use after every change.
tools: Read, Grep, Glob
model: haiku
---
You are a careful code reviewer...
```

The front matter gives `name` (default: the file name), `description` (required), and any of
`tools` and `disallowedTools` (a list, or one comma-separated string), `model`, `skills`,
`memory`, `mcpServers`, `initialPrompt`, `maxTurns`, `background`, `effort`, `permissionMode`
(kebab-case spellings such as `max-turns` work too); the body is the prompt. Each becomes an
`AgentDefinition`; a plugin's agents are named `plugin-name:agent`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tether._vocabulary.options import AgentDefinition
from tether.agent.settings._files import MarkdownFile, read_markdown
from tether.agent.settings.commands import split_tool_list
from tether.errors import ConfigurationError

__all__ = ["load_agents"]

_TOOL_LISTS = ("tools", "disallowedTools", "skills")
_TEXT = ("model", "memory", "initialPrompt", "permissionMode")
_KEBAB = {
    "disallowed-tools": "disallowedTools",
    "mcp-servers": "mcpServers",
    "initial-prompt": "initialPrompt",
    "max-turns": "maxTurns",
    "permission-mode": "permissionMode",
}


def load_agents(directory: Path, prefix: str = "") -> dict[str, AgentDefinition]:
    """The agent definitions of the `*.md` files in `directory`, by name."""
    if not directory.is_dir():
        return {}
    agents: dict[str, AgentDefinition] = {}
    for path in sorted(directory.glob("*.md")):
        name, definition = _agent(read_markdown(path))
        agents[prefix + name] = definition
    return agents


def _agent(file: MarkdownFile) -> tuple[str, AgentDefinition]:
    meta = {_KEBAB.get(key, key): value for key, value in file.meta.items()}
    where = f"{file.path}:1"
    name = meta.get("name", file.path.stem)
    description = meta.get("description")
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"{where}: the agent's 'name' must be text")
    if not isinstance(description, str) or not description.strip():
        raise ConfigurationError(f"{where}: the agent {name!r} needs a 'description' (when to use it)")
    fields: dict[str, Any] = {}
    for key in _TOOL_LISTS:
        if meta.get(key) is not None:
            fields[key] = list(split_tool_list(meta[key], f"{where}: {key}"))
    for key in _TEXT:
        if meta.get(key) is not None:
            if not isinstance(meta[key], str):
                raise ConfigurationError(f"{where}: {key!r} must be text, not {meta[key]!r}")
            fields[key] = meta[key]
    if meta.get("maxTurns") is not None:
        turns = meta["maxTurns"]
        if isinstance(turns, bool) or not isinstance(turns, int) or turns < 1:
            raise ConfigurationError(f"{where}: 'maxTurns' must be a whole number of at least 1, not {turns!r}")
        fields["maxTurns"] = turns
    if meta.get("background") is not None:
        if not isinstance(meta["background"], bool):
            raise ConfigurationError(f"{where}: 'background' must be true or false")
        fields["background"] = meta["background"]
    if meta.get("effort") is not None:
        fields["effort"] = meta["effort"]
    if meta.get("mcpServers") is not None:
        servers = meta["mcpServers"]
        fields["mcpServers"] = list(servers) if isinstance(servers, list) else list(split_tool_list(servers, where))
    return name.strip(), AgentDefinition(description=description.strip(), prompt=file.body.strip(), **fields)
