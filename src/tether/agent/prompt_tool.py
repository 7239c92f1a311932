"""`permission_prompt_tool_name`: permission prompts answered by an MCP tool, as in Claude Code.

When a call needs asking (no rule or mode decides it), the named tool is called with
`{"tool_name", "input", "tool_use_id"}` and answers with JSON text: `{"behavior": "allow",
"updatedInput": {...}}` (the input to run, the call's own when absent) or `{"behavior": "deny",
"message": "...", "interrupt": false}`. An answer that is not one of these, or a failing tool,
refuses the call with a message naming the problem: a prompt that cannot be read never allows.
The SDK's own value `"stdio"` means "ask `can_use_tool`", which is what tether does without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tether._vocabulary.permissions import (
    PermissionResult,
    PermissionResultAllow,
    PermissionResultDeny,
    ToolPermissionContext,
)
from tether.errors import ConfigurationError
from tether.tools.base import Tool, ToolContext, ToolResult

__all__ = ["STDIO", "PermissionPromptTool", "prompt_tool_of"]

STDIO = "stdio"
"""The value the Claude Agent SDK sets when `can_use_tool` answers the prompts."""


def prompt_tool_of(name: str | None, tools: dict[str, Tool], *, has_callback: bool) -> Tool | None:
    """The tool `permission_prompt_tool_name` names (None for None or `"stdio"`); `ConfigurationError`
    when it names no tool, or comes with `can_use_tool` (the SDK refuses both at once too)."""
    if name is None or name == STDIO:
        return None
    if has_callback:
        raise ConfigurationError("can_use_tool and permission_prompt_tool_name cannot both be set: pick one")
    tool = tools.get(name)
    if tool is None:
        names = ", ".join(sorted(n for n in tools if n.startswith("mcp__"))) or "none"
        raise ConfigurationError(f"permission_prompt_tool_name {name!r} names no tool (MCP tools: {names})")
    return tool


class PermissionPromptTool:
    """A `can_use_tool` that asks an MCP tool."""

    def __init__(self, tool: Tool, cwd: str, session_id: str) -> None:
        self.tool = tool
        self.cwd = Path(cwd)
        self.session_id = session_id

    async def __call__(
        self, tool_name: str, tool_input: dict[str, Any], context: ToolPermissionContext
    ) -> PermissionResult:
        request = {"tool_name": tool_name, "input": tool_input, "tool_use_id": context.tool_use_id}
        asked = ToolContext(cwd=self.cwd, session_id=self.session_id, tool_use_id=context.tool_use_id or "")
        result = await self.tool.call(request, asked)
        try:
            return _answer(result, tool_input)
        except ValueError as error:
            return PermissionResultDeny(message=f"the permission prompt tool {self.tool.name} {error}")


def _answer(result: ToolResult, tool_input: dict[str, Any]) -> PermissionResult:
    text = result.content if isinstance(result.content, str) else _text_of(result.content)
    if result.is_error:
        raise ValueError(f"failed: {text[:200]}")
    try:
        answer = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError(f"did not answer with JSON: {text[:200]!r}") from None
    behavior = answer.get("behavior") if isinstance(answer, dict) else None
    if behavior == "allow":
        updated = answer.get("updatedInput")
        if updated is not None and not isinstance(updated, dict):
            raise ValueError(f"answered an updatedInput that is not an object: {updated!r}")
        return PermissionResultAllow(updated_input=updated if updated is not None else tool_input)
    if behavior == "deny":
        return PermissionResultDeny(message=str(answer.get("message") or ""), interrupt=answer.get("interrupt") is True)
    raise ValueError(f"answered {text[:200]!r}, not a behavior of allow or deny")


def _text_of(blocks: list[dict[str, Any]]) -> str:
    return "".join(str(block.get("text", "")) for block in blocks if block.get("type") == "text")
