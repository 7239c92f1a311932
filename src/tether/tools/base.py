"""The `Tool` protocol, the `@tool` decorator and in-process MCP servers.

A tool has a name, a description, a JSON schema for its input, and one async method, `call`.
`@tool(name, description, input_schema)` turns an async function into a tool, exactly as in the
Claude Agent SDK: the function receives the input dict and returns
`{"content": [{"type": "text", "text": ...}], "is_error": bool}`.
`create_sdk_mcp_server(name, version, tools)` groups tools under a server name; passed in
`mcp_servers={"calc": server}`, its tools reach the model as `mcp__calc__<tool>`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypedDict, TypeVar, runtime_checkable

__all__ = [
    "McpSdkServerConfig",
    "SdkMcpTool",
    "Tool",
    "ToolContext",
    "ToolResult",
    "create_sdk_mcp_server",
    "schema_from_annotation",
    "tool",
]

T = TypeVar("T")


@dataclass
class ToolContext:
    """What a running tool may know about its surroundings."""

    cwd: Path
    session_id: str
    tool_use_id: str
    session_state: dict[str, Any] = field(default_factory=dict)
    """State that lives as long as the session is open in this process (shared by all tools)."""


@dataclass
class ToolResult:
    """What a tool returns: text or content blocks, and whether the call failed."""

    content: str | list[dict[str, Any]]
    is_error: bool = False
    structured: dict[str, Any] | None = None
    """Optional machine-readable form of the result, kept in the transcript (`toolUseResult`) and
    given to PostToolUse hooks as `tool_response`; the model sees only `content`."""


@runtime_checkable
class Tool(Protocol):
    """A tool the model can call."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def input_schema(self) -> dict[str, Any]: ...

    async def call(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        """Run the tool. Raise (any exception) to report an error result to the model."""
        ...


ToolHandler = Callable[[T], Awaitable[dict[str, Any]]]


@dataclass
class SdkMcpTool(Generic[T]):
    """A tool made with `@tool`: the Claude Agent SDK's shape, usable wherever a `Tool` is."""

    name: str
    description: str
    input_schema: dict[str, Any]
    handler: ToolHandler[T]
    annotations: dict[str, Any] | None = None

    async def call(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        """Call the handler; its `{"content", "is_error"}` dict becomes a `ToolResult`."""
        outcome = await self.handler(input)  # type: ignore[arg-type]
        if not isinstance(outcome, Mapping):
            return ToolResult(content=str(outcome))
        content = outcome.get("content", "")
        if not isinstance(content, (str, list)):
            content = str(content)
        return ToolResult(content=content, is_error=bool(outcome.get("is_error", False)))


_JSON_TYPES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
}


def schema_from_annotation(input_schema: Any) -> dict[str, Any]:
    """A JSON schema from what `@tool` accepts: a schema, `{"param": type}`, or a TypedDict."""
    if isinstance(input_schema, Mapping):
        if input_schema.get("type") == "object" or "properties" in input_schema:
            return dict(input_schema)
        fields = dict(input_schema)
    elif inspect.isclass(input_schema) and hasattr(input_schema, "__annotations__"):
        fields = dict(input_schema.__annotations__)
    else:
        raise TypeError(f"input_schema must be a JSON schema, a dict of types or a TypedDict, not {input_schema!r}")
    properties = {name: {"type": _JSON_TYPES.get(kind, "string")} for name, kind in fields.items()}
    return {"type": "object", "properties": properties, "required": list(fields)}


def tool(
    name: str, description: str, input_schema: Any, annotations: dict[str, Any] | None = None
) -> Callable[[ToolHandler[Any]], SdkMcpTool[Any]]:
    """Make a tool of an async function `handler(args: dict) -> {"content": [...]}`."""

    def decorate(handler: ToolHandler[Any]) -> SdkMcpTool[Any]:
        return SdkMcpTool(
            name=name,
            description=description,
            input_schema=schema_from_annotation(input_schema),
            handler=handler,
            annotations=annotations,
        )

    return decorate


class McpSdkServerConfig(TypedDict):
    """An in-process MCP server: `{"type": "sdk", "name", "version", "tools"}`."""

    type: str
    name: str
    version: str
    tools: list[SdkMcpTool[Any]]


def create_sdk_mcp_server(
    name: str, version: str = "1.0.0", tools: list[SdkMcpTool[Any]] | None = None
) -> McpSdkServerConfig:
    """Group tools into an in-process server to pass in `AgentOptions.mcp_servers`."""
    return McpSdkServerConfig(type="sdk", name=name, version=version, tools=list(tools or []))
