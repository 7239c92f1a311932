"""The Claude Agent SDK's MCP vocabulary: the configs of `AgentOptions.mcp_servers` (subprocess,
SSE, HTTP and in-process servers) and the statuses `get_mcp_status()` returns. Like every
TypedDict they are plain dicts at runtime.
"""

# No `from __future__ import annotations` here: a TypedDict tells `NotRequired` keys apart at
# runtime (`__optional_keys__`) only when its annotations are evaluated, not strings.

from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

import typing_extensions

if TYPE_CHECKING:
    from mcp.server import Server as McpServer
else:
    McpServer = Any
    """An `mcp.server.Server` (the `instance` of an in-process server config); `Any` at runtime."""

__all__ = [
    "McpClaudeAIProxyServerConfig",
    "McpHttpServerConfig",
    "McpSSEServerConfig",
    "McpSdkServerConfig",
    "McpSdkServerConfigStatus",
    "McpServer",
    "McpServerConfig",
    "McpServerConnectionStatus",
    "McpServerInfo",
    "McpServerStatus",
    "McpServerStatusConfig",
    "McpStatusResponse",
    "McpStdioServerConfig",
    "McpToolAnnotations",
    "McpToolInfo",
]


class McpSdkServerConfig(typing_extensions.TypedDict):  # as `tether.tools` reads schemas
    """An in-process MCP server: `{"type": "sdk", "name", "instance"}`.

    `instance` is an `mcp.server.Server`: the one `create_sdk_mcp_server` builds, or your own.
    """

    type: Literal["sdk"]
    name: str
    instance: McpServer


class McpStdioServerConfig(TypedDict):
    """A server run as a subprocess speaking MCP on stdin/stdout."""

    type: NotRequired[Literal["stdio"]]
    command: str
    args: NotRequired[list[str]]
    env: NotRequired[dict[str, str]]


class McpSSEServerConfig(TypedDict):
    """A server reached over HTTP with server-sent events."""

    type: Literal["sse"]
    url: str
    headers: NotRequired[dict[str, str]]


class McpHttpServerConfig(TypedDict):
    """A server reached over streamable HTTP."""

    type: Literal["http"]
    url: str
    headers: NotRequired[dict[str, str]]


McpServerConfig = McpStdioServerConfig | McpSSEServerConfig | McpHttpServerConfig | McpSdkServerConfig


class McpSdkServerConfigStatus(TypedDict):
    """An in-process server as a status lists it (without its instance)."""

    type: Literal["sdk"]
    name: str


class McpClaudeAIProxyServerConfig(TypedDict):
    """A server proxied through Claude.ai, as a status lists it."""

    type: Literal["claudeai-proxy"]
    url: str
    id: str


McpServerStatusConfig = (
    McpStdioServerConfig
    | McpSSEServerConfig
    | McpHttpServerConfig
    | McpSdkServerConfigStatus
    | McpClaudeAIProxyServerConfig
)


class McpToolAnnotations(TypedDict, total=False):
    """Hints about an MCP tool, as a status lists them."""

    readOnly: bool
    destructive: bool
    openWorld: bool


class McpToolInfo(TypedDict):
    """A tool of an MCP server, as a status lists it."""

    name: str
    description: NotRequired[str]
    annotations: NotRequired[McpToolAnnotations]


class McpServerInfo(TypedDict):
    """The name and version an MCP server gave in its handshake."""

    name: str
    version: str


McpServerConnectionStatus = Literal["connected", "failed", "needs-auth", "pending", "disabled"]


class McpServerStatus(TypedDict):
    """One MCP server of `get_mcp_status()`: its status and, when connected, its tools."""

    name: str
    status: McpServerConnectionStatus
    serverInfo: NotRequired[McpServerInfo]
    error: NotRequired[str]
    config: NotRequired[McpServerStatusConfig]
    scope: NotRequired[str]
    tools: NotRequired[list[McpToolInfo]]


class McpStatusResponse(TypedDict):
    """What `get_mcp_status()` returns: `{"mcpServers": [...]}`."""

    mcpServers: list[McpServerStatus]
