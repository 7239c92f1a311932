"""The Agent tool: how the model delegates a task to a subagent of `AgentOptions.agents`.

Claude Code's name and input schema (`{description, prompt, subagent_type, model?,
run_in_background?}`), because models are trained on them; older Claude Code called it `Task`,
and a history that holds `Task` calls resumes (`AGENT_TOOL_NAMES`). The tool only describes the
agents and hands each call to a `Delegate` (`tether.agent.subagents`), which runs the subagent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from tether.tools.base import ToolContext, ToolResult

__all__ = ["AGENT_TOOL", "AGENT_TOOL_NAMES", "AgentTool", "Delegate"]

AGENT_TOOL = "Agent"
"""The name current Claude Code gives the tool that starts a subagent."""
AGENT_TOOL_NAMES = frozenset({AGENT_TOOL, "Task"})
"""`Agent`, and `Task` as older Claude Code named it."""


class Delegate(Protocol):
    """Runs one Agent call: `input` as the schema below allows, for the call `tool_use_id`."""

    async def delegate(self, input: dict[str, Any], tool_use_id: str) -> ToolResult: ...


class AgentTool:
    """The Agent tool of a session whose options define subagents.

    Its description lists the agents (name and description), so the model can pick one.
    The tool changes nothing by itself (each call the subagent makes is checked on its own), so
    permission modes let it run, plan mode included; a deny rule `Agent` or `Agent(<type>)` stops it.
    """

    name = AGENT_TOOL
    annotations: Mapping[str, Any] = {"readOnlyHint": True}

    def __init__(self, agents: Mapping[str, str], delegate: Delegate, models: Sequence[str] = ()) -> None:
        self._agents = dict(agents)
        self._delegate = delegate
        self._models = list(models)
        """The model names a call may pick (Claude Code's aliases), listed in the schema's enum."""

    @property
    def description(self) -> str:
        """What the model reads: when to delegate and the agents it can delegate to."""
        listing = "\n".join(f"- {name}: {description}" for name, description in self._agents.items())
        return (
            "Launch a subagent to handle a task on its own. The subagent works with its own prompt and "
            "tools, and its final answer comes back as this tool's result; it does not see this "
            "conversation, so give it everything it needs in `prompt`. Launch several agents in one "
            "message to run them concurrently.\n\n"
            f"Available agent types (subagent_type):\n{listing}"
        )

    @property
    def input_schema(self) -> dict[str, Any]:
        """Claude Code's input schema of the Agent tool."""
        return {
            "type": "object",
            "properties": {
                "description": {"type": "string", "description": "A short (3-5 word) description of the task"},
                "prompt": {"type": "string", "description": "The task for the agent to perform"},
                "subagent_type": {
                    "type": "string",
                    "description": "The type of specialized agent to use for this task",
                },
                "model": {
                    "type": "string",
                    "enum": list(self._models),
                    "description": "Optional model for this agent; without it the agent's own model is used",
                },
                "run_in_background": {
                    "type": "boolean",
                    "description": "Accepted for Claude Code's schema; tether runs the agent to its end either way",
                },
            },
            "required": ["description", "prompt", "subagent_type"],
            "additionalProperties": False,
        }

    async def call(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        """Run the subagent and return its final answer."""
        return await self._delegate.delegate(input, context.tool_use_id)
