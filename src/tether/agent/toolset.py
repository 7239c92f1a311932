"""The tools of a run, gathered from the options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tether.errors import ConfigurationError
from tether.tools.base import SdkMcpTool, Tool, ToolContext, ToolResult

__all__ = ["PrefixedTool", "sdk_server_tools"]


@dataclass
class PrefixedTool:
    """A tool exposed under another name (`mcp__<server>__<tool>`)."""

    name: str
    inner: Tool

    @property
    def description(self) -> str:
        return self.inner.description

    @property
    def input_schema(self) -> dict[str, Any]:
        return self.inner.input_schema

    async def call(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        return await self.inner.call(input, context)


def sdk_server_tools(server_name: str, config: dict[str, Any]) -> list[Tool]:
    """The tools of an in-process server made by `create_sdk_mcp_server`, named for the model."""
    tools = config.get("tools")
    if not isinstance(tools, list) or not all(isinstance(t, SdkMcpTool) for t in tools):
        raise ConfigurationError(f"MCP server {server_name!r}: an sdk server needs a list of @tool tools")
    return [PrefixedTool(name=f"mcp__{server_name}__{t.name}", inner=t) for t in tools]
