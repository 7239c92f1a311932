"""The agents of `AgentOptions.agents` checked, and what a definition gives its subagent: its model,
its tools (picked from the parent's), its permission mode, and the system prompt sections of its
skills and memory (`tether.agent.subagents` runs them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether._vocabulary.options import AgentDefinition
from tether._vocabulary.permissions import validate_permission_mode
from tether.agent.settings.commands import Skill
from tether.errors import ConfigurationError
from tether.models import resolve_model
from tether.models.base import Model
from tether.tools.agent import AGENT_TOOL_NAMES
from tether.tools.base import Tool
from tether.tools.registry import BUILTIN_TOOL_NAMES, builtin_tools

__all__ = [
    "MEMORY_SCOPES",
    "check_agents",
    "memory_directory",
    "memory_prompt",
    "skills_prompt",
    "subagent_model",
    "subagent_permission_mode",
    "subagent_tools",
]

logger = logging.getLogger("tether.subagents")

MEMORY_SCOPES = ("user", "project", "local")
"""Values of `AgentDefinition.memory`."""
_PERMISSIVE_MODES = ("bypassPermissions", "acceptEdits", "auto")
"""Parent modes a subagent keeps whatever its definition says (as in Claude Code)."""
_MEMORY_LINES = 200
"""How many lines of a subagent's MEMORY.md go into its system prompt (Claude Code's limit)."""


# --- Checking the definitions ---------------------------------------------------------------------


def check_agents(agents: Mapping[str, Any] | None) -> dict[str, AgentDefinition]:
    """`AgentOptions.agents` checked: `ConfigurationError` naming the agent and the field that is wrong.

    A value may be an `AgentDefinition` or a dict of its fields (the SDK's wire form).
    """
    if agents is None:
        return {}
    if not isinstance(agents, Mapping):
        raise ConfigurationError(f"agents must be a dict of name -> AgentDefinition, not {type(agents).__name__}")
    checked: dict[str, AgentDefinition] = {}
    for name, value in agents.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError(f"agents: an agent name must be a non-empty string, not {name!r}")
        checked[name] = _check_definition(name, _as_definition(name, value))
    return checked


def _as_definition(name: str, value: Any) -> AgentDefinition:
    if isinstance(value, AgentDefinition):
        return value
    if isinstance(value, Mapping):
        try:
            return AgentDefinition(**value)
        except TypeError as error:
            raise ConfigurationError(f"agents[{name!r}]: {error}") from error
    raise ConfigurationError(f"agents[{name!r}] must be an AgentDefinition, not {type(value).__name__}")


def _is_names(value: Any) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(item, str) for item in value))


def _is_count(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)


def _check_definition(name: str, definition: AgentDefinition) -> AgentDefinition:
    where = f"agents[{name!r}]"
    problems = {
        "description": isinstance(definition.description, str) and bool(definition.description.strip()),
        "prompt": isinstance(definition.prompt, str),
        "tools": _is_names(definition.tools),
        "disallowedTools": _is_names(definition.disallowedTools),
        "skills": _is_names(definition.skills),
        "model": definition.model is None or (isinstance(definition.model, str) and bool(definition.model)),
        "memory": definition.memory is None or definition.memory in MEMORY_SCOPES,
        "mcpServers": definition.mcpServers is None
        or (
            isinstance(definition.mcpServers, list)
            and all(isinstance(s, (str, Mapping)) for s in definition.mcpServers)
        ),
        "initialPrompt": definition.initialPrompt is None or isinstance(definition.initialPrompt, str),
        "maxTurns": _is_count(definition.maxTurns),
        "background": definition.background is None or isinstance(definition.background, bool),
        "effort": definition.effort is None or isinstance(definition.effort, str),
    }
    wrong = [field for field, fine in problems.items() if not fine]
    if wrong:
        shown = ", ".join(f"{field}={getattr(definition, field)!r}" for field in wrong)
        raise ConfigurationError(
            f"{where}: invalid {shown} (description: non-empty text; prompt, initialPrompt: text; tools, "
            "disallowedTools, skills: lists of names; memory: user, project or local; maxTurns: at least 1; "
            "effort: a level name such as 'high')"
        )
    if definition.permissionMode is not None:
        validate_permission_mode(definition.permissionMode)
    return definition


# --- Choosing a subagent's model and tools ---------------------------------------------------------


def subagent_model(name: str | None, parent: Model, env: Mapping[str, str]) -> Model:
    """The model a subagent runs on: `name` (an alias, `inherit`, or any tether model name), the
    parent's model for None or `inherit`. `CLAUDE_CODE_SUBAGENT_MODEL` overrides every choice."""
    chosen = env.get("CLAUDE_CODE_SUBAGENT_MODEL") or name
    if chosen is None or chosen == "inherit":
        return parent
    return resolve_model(chosen, env=env)  # an alias names a Claude model (tether.models.unalias)


def _tool_name(spec: str) -> str:
    """`Bash(git *)` -> `Bash`: a tools entry names a tool, perhaps with a rule Claude Code allows."""
    return spec.split("(", 1)[0].strip()


def _named(pool: Mapping[str, Tool], name: str) -> list[Tool]:
    """The tools of `pool` that `name` names: the tool itself, or every tool of an MCP server `mcp__x`."""
    if name in pool:
        return [pool[name]]
    if name.startswith("mcp__") and name.count("__") == 1:
        return [tool for tool_name, tool in pool.items() if tool_name.startswith(f"{name}__")]
    return []


def _chosen_tools(pool: Mapping[str, Tool], definition: AgentDefinition, env: Mapping[str, str]) -> dict[str, Tool]:
    """The tools a definition's `tools` picks from the parent's (all when None or `*`); a built-in
    tool may be picked even when the parent's `tools` left it out."""
    if definition.tools is None or "*" in definition.tools:
        return dict(pool)
    chosen: dict[str, Tool] = {}
    for spec in definition.tools:
        name = _tool_name(spec)
        found = _named(pool, name)
        if not found and name in BUILTIN_TOOL_NAMES:
            found = builtin_tools([name], env=env)
        if not found:
            logger.warning("a subagent names the tool %r, which this session does not have; it is left out", name)
        chosen.update((tool.name, tool) for tool in found)
    return chosen


def subagent_tools(
    parent_tools: Mapping[str, Tool], definition: AgentDefinition, env: Mapping[str, str]
) -> tuple[dict[str, Tool], dict[str, Any]]:
    """The tools a subagent takes from its parent, and the MCP servers its definition defines inline."""
    pool = {name: tool for name, tool in parent_tools.items() if name not in AGENT_TOOL_NAMES}
    chosen = _chosen_tools(pool, definition, env)
    inline: dict[str, Any] = {}
    for server in definition.mcpServers or []:
        if isinstance(server, Mapping):
            inline.update(server)
            continue
        found = _named(pool, f"mcp__{server}")
        if not found:
            raise ConfigurationError(f"the subagent's MCP server {server!r} is not one of this session's mcp_servers")
        chosen.update((tool.name, tool) for tool in found)
    for spec in definition.disallowedTools or []:
        for tool in _named(chosen, _tool_name(spec)):
            chosen.pop(tool.name, None)
    return chosen, inline


def subagent_permission_mode(parent_mode: str, definition: AgentDefinition) -> Any:
    """The subagent's mode: the parent's when it is permissive, else the definition's, else the parent's."""
    if parent_mode in _PERMISSIVE_MODES or definition.permissionMode is None:
        return parent_mode
    return definition.permissionMode


def memory_directory(scope: str, agent_type: str, cwd: str) -> Path:
    """Where a subagent of `memory=scope` keeps its notes (Claude Code's directories)."""
    if scope == "user":
        return Path.home() / ".claude" / "agent-memory" / agent_type
    if scope == "project":
        return Path(cwd) / ".claude" / "agent-memory" / agent_type
    return Path(cwd) / ".claude" / "agent-memory-local" / agent_type


def memory_prompt(directory: Path) -> str:
    """The system prompt section of a subagent with memory: where it is, and the head of MEMORY.md."""
    directory.mkdir(parents=True, exist_ok=True)
    index = directory / "MEMORY.md"
    try:
        lines = index.read_text(encoding="utf-8").splitlines()[:_MEMORY_LINES]
    except FileNotFoundError:
        lines = []
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"the subagent memory file {index} cannot be read: {error}") from error
    shown = "\n".join(lines) if lines else "(empty)"
    return (
        f"\n\n# Persistent agent memory\n\nYou have a persistent memory directory at {directory}; what you write "
        f"there is kept across conversations. Keep what is worth remembering in {index} (its first "
        f"{_MEMORY_LINES} lines are shown to you at the start of every task) and in other files there.\n\n"
        f"Contents of MEMORY.md:\n{shown}"
    )


def skills_prompt(names: list[str], skills: Mapping[str, Skill]) -> str:
    """The system prompt section of the skills a subagent starts with (their SKILL.md bodies)."""
    missing = [name for name in names if name not in skills]
    if missing:
        known = ", ".join(sorted(skills)) or "none"
        raise ConfigurationError(f"the subagent's skills {', '.join(missing)} are not found (skills found: {known})")
    return "".join(f"\n\n# Skill: {name}\n\n{skills[name].body}" for name in names)
