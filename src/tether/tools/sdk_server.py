"""In-process MCP servers of `@tool` tools: `create_sdk_mcp_server` and how their calls run.

`create_sdk_mcp_server(name, version, tools)` serves tools from a real `mcp.server.Server`
(`{"type": "sdk", "name", "instance"}`, as the SDK returns it); passed in
`mcp_servers={"calc": server}`, its tools reach the model as `mcp__calc__<tool>`. The server
remembers its tools (`tool_set_of`), so `McpServers` calls them directly, without the in-memory
round trip; both ways run the same code (`ToolSet.call`) and give the same results.
`tool_result` turns any MCP `CallToolResult` (of these servers or of connected ones) into a
`ToolResult`.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tether.errors import ConfigurationError
from tether.tools.base import (
    RESULT_SIZE_META_KEY,
    McpSdkServerConfig,
    SdkMcpTool,
    ToolContext,
    ToolResult,
    annotation_of,
    schema_from_annotation,
)
from tether.tools.validation import input_problem

if TYPE_CHECKING:
    from mcp.server import Server
    from mcp.types import CallToolResult, ContentBlock, ToolAnnotations

__all__ = ["SdkServerTool", "ToolSet", "build_tool_server", "create_sdk_mcp_server", "tool_result", "tool_set_of"]


def create_sdk_mcp_server(
    name: str, version: str = "1.0.0", tools: list[SdkMcpTool[Any]] | None = None
) -> McpSdkServerConfig:
    """An in-process MCP server (an `mcp.server.Server`) serving `tools`, for `AgentOptions.mcp_servers`.

    Arguments are checked against each tool's schema; unknown tools, invalid arguments and
    exceptions raised by a handler come back as error results, never as failures of the run.
    """
    return McpSdkServerConfig(type="sdk", name=name, instance=build_tool_server(name, version, list(tools or [])))


@dataclass
class ToolSet:
    """The `@tool` tools of one `create_sdk_mcp_server` server, and how a call of one runs."""

    name: str
    version: str
    tools: dict[str, SdkMcpTool[Any]]
    schemas: dict[str, dict[str, Any]]
    annotations: dict[str, ToolAnnotations | None]

    @classmethod
    def of(cls, name: str, version: str, tools: Sequence[SdkMcpTool[Any]]) -> ToolSet:
        """Check the tools (SdkMcpTool, names unique, valid annotations) and compute their schemas."""
        by_name: dict[str, SdkMcpTool[Any]] = {}
        for item in tools:
            if not isinstance(item, SdkMcpTool):
                raise ConfigurationError(f"create_sdk_mcp_server({name!r}): {item!r} is not a @tool tool")
            if item.name in by_name:
                raise ConfigurationError(f"create_sdk_mcp_server({name!r}): two tools are named {item.name!r}")
            by_name[item.name] = item
        schemas = {tool_name: schema_from_annotation(item.input_schema) for tool_name, item in by_name.items()}
        annotations = {tool_name: _wire_annotations(item) for tool_name, item in by_name.items()}
        return cls(name, version, by_name, schemas, annotations)

    def wire_tools(self) -> list[Any]:
        """The tools as `tools/list` lists them (`mcp.types.Tool`)."""
        from mcp.types import Tool as WireTool

        return [
            WireTool(
                name=item.name,
                description=item.description,
                input_schema=self.schemas[item.name],
                annotations=self.annotations[item.name],
                _meta=self.meta(item.name),
            )
            for item in self.tools.values()
        ]

    def meta(self, tool_name: str) -> dict[str, Any] | None:
        """The tool's MCP `_meta`: its `maxResultSizeChars`, as the Claude Agent SDK sends it."""
        limit = annotation_of(self.tools[tool_name], "maxResultSizeChars", "max_result_size_chars")
        return {RESULT_SIZE_META_KEY: limit} if limit is not None else None

    async def call(self, tool_name: str, arguments: dict[str, Any]) -> CallToolResult:
        """Run one tool. Unknown tools, invalid arguments and handler failures are error results."""
        item = self.tools.get(tool_name)
        if item is None:
            return _error_result(f"Tool '{tool_name}' not found")
        problem = input_problem(self.schemas[tool_name], arguments)
        if problem is not None:
            return _error_result(f"Input validation error: {problem}")
        try:
            return _call_result(await item.handler(arguments))
        except Exception as error:
            return _error_result(str(error) or type(error).__name__)


_TOOL_SETS: weakref.WeakKeyDictionary[Any, ToolSet] = weakref.WeakKeyDictionary()
"""The servers `build_tool_server` made, with their tools (for the direct-call fast path)."""


def tool_set_of(server: Any) -> ToolSet | None:
    """The tools of a server `build_tool_server` made (None for any other server)."""
    try:
        return _TOOL_SETS.get(server)
    except TypeError:  # not weakly referenceable: not one of ours
        return None


def build_tool_server(name: str, version: str, tools: Sequence[SdkMcpTool[Any]]) -> Server[Any]:
    """A low-level `mcp.server.Server` that lists `tools` and runs their calls (`ToolSet.call`)."""
    from mcp.server import Server, ServerRequestContext
    from mcp.types import CallToolRequestParams, ListToolsResult, PaginatedRequestParams

    tool_set = ToolSet.of(name, version, tools)
    listed = tool_set.wire_tools()

    async def list_tools(ctx: ServerRequestContext[Any, Any], params: PaginatedRequestParams | None) -> ListToolsResult:
        return ListToolsResult(tools=listed)

    async def call_tool(ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams) -> CallToolResult:
        return await tool_set.call(params.name, dict(params.arguments or {}))

    server: Server[Any] = Server(name, version=version, on_list_tools=list_tools, on_call_tool=call_tool)
    _TOOL_SETS[server] = tool_set
    return server


def _wire_annotations(item: SdkMcpTool[Any]) -> ToolAnnotations | None:
    from mcp.types import ToolAnnotations
    from pydantic import ValidationError

    if item.annotations is None or isinstance(item.annotations, ToolAnnotations):
        return item.annotations
    try:
        return ToolAnnotations.model_validate(dict(item.annotations))
    except (ValidationError, TypeError, ValueError) as error:
        raise ConfigurationError(f"@tool {item.name!r}: invalid annotations ({error})") from error


def _error_result(message: str) -> CallToolResult:
    from mcp.types import CallToolResult, TextContent

    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def _call_result(outcome: Any) -> CallToolResult:
    """The MCP result of a handler's `{"content": [...], "is_error": bool}`."""
    from mcp.types import CallToolResult, TextContent

    if not isinstance(outcome, Mapping):
        raise TypeError(f"the tool returned {type(outcome).__name__}, not a dict with 'content'")
    content = outcome.get("content", [])
    if isinstance(content, str):
        blocks: list[ContentBlock] = [TextContent(type="text", text=content)]
    elif isinstance(content, list):
        blocks = [_handler_block(item) for item in content]
    else:
        raise TypeError(f"the tool's 'content' is {type(content).__name__}, not a list of blocks")
    return CallToolResult(content=blocks, is_error=bool(outcome.get("is_error", False)))


def _handler_block(item: Any) -> ContentBlock:
    """One content block of a handler's result as MCP content (MCP's own field names)."""
    from mcp.types import AudioContent, EmbeddedResource, ImageContent, ResourceLink, TextContent
    from pydantic import ValidationError

    models: dict[str, type[ContentBlock]] = {
        "text": TextContent,
        "image": ImageContent,
        "audio": AudioContent,
        "resource_link": ResourceLink,
        "resource": EmbeddedResource,
    }
    if not isinstance(item, Mapping):
        raise TypeError(f"a content block is a dict, not {type(item).__name__}")
    kind = item.get("type")
    model = models.get(kind) if isinstance(kind, str) else None
    if model is None:
        return TextContent(type="text", text=f"[content of type {kind!r} not shown]")
    try:
        return model.model_validate(item)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise ValueError(f"invalid {kind} block: {where}: {problem['msg']}") from None


@dataclass
class SdkServerTool:
    """A tool of a `create_sdk_mcp_server` server, exposed as `mcp__<server>__<tool>`, called directly."""

    name: str
    tool_set: ToolSet = field(repr=False)
    remote_name: str

    @property
    def description(self) -> str:
        return self.tool_set.tools[self.remote_name].description

    @property
    def input_schema(self) -> dict[str, Any]:
        return self.tool_set.schemas[self.remote_name]

    @property
    def annotations(self) -> dict[str, Any] | None:
        annotations = self.tool_set.annotations[self.remote_name]
        return annotations.model_dump(by_alias=True, exclude_none=True) if annotations else None

    @property
    def meta(self) -> dict[str, Any] | None:
        return self.tool_set.meta(self.remote_name)

    async def call(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        """Call the tool's handler (what a call through the server's `tools/call` runs)."""
        return tool_result(await self.tool_set.call(self.remote_name, input))


def tool_result(result: CallToolResult) -> ToolResult:
    """The tool result of an MCP `CallToolResult`: Anthropic content blocks, plus the raw form.

    An error made only of text is given as one string, like every other tool error of tether.
    """
    blocks = [_content_block(item) for item in result.content]
    if not blocks and result.structured_content is not None:
        blocks = [{"type": "text", "text": json.dumps(result.structured_content)}]
    structured: dict[str, Any] = {"content": blocks}
    if result.structured_content is not None:
        structured["structuredContent"] = result.structured_content
    content: str | list[dict[str, Any]] = blocks
    if result.is_error and all(block["type"] == "text" for block in blocks):
        content = "\n".join(block["text"] for block in blocks)
    return ToolResult(content, is_error=bool(result.is_error), structured=structured)


def _content_block(item: ContentBlock) -> dict[str, Any]:
    """An Anthropic content block for one MCP content item."""
    from mcp.types import AudioContent, EmbeddedResource, ImageContent, ResourceLink, TextContent, TextResourceContents

    if isinstance(item, TextContent):
        return {"type": "text", "text": item.text}
    if isinstance(item, ImageContent):
        return {"type": "image", "source": {"type": "base64", "media_type": item.mime_type, "data": item.data}}
    if isinstance(item, EmbeddedResource):
        resource = item.resource
        if isinstance(resource, TextResourceContents):
            return {"type": "text", "text": resource.text}
        return {"type": "text", "text": f"[binary resource {resource.uri} ({resource.mime_type})]"}
    if isinstance(item, ResourceLink):
        return {"type": "text", "text": f"[resource {item.name}: {item.uri}]"}
    if isinstance(item, AudioContent):
        return {"type": "text", "text": f"[audio content ({item.mime_type}), not shown]"}
    return {"type": "text", "text": str(item)}
