"""MCP servers from `AgentOptions.mcp_servers`, as tools named `mcp__<server>__<tool>`.

```python
async with McpServers({"files": {"command": "npx", "args": ["-y", "@mcp/server-files", "."]},
                       "search": {"type": "http", "url": "https://example.com/mcp",
                                  "headers": {"Authorization": "Bearer ..."}},
                       "calc": create_sdk_mcp_server("calc", tools=[add])}) as servers:
    servers.tools   # list[Tool]: mcp__files__read_file, ..., mcp__calc__add
    servers.status  # [{"name": "files", "status": "connected"}, ...] for the init message
```

Server configs, as in the Claude Agent SDK: stdio (`{"type": "stdio" or absent, "command",
"args", "env"}`), streamable HTTP (`{"type": "http", "url", "headers"}`), SSE (`{"type": "sse",
"url", "headers"}`) and in-process servers (`{"type": "sdk", "name", "instance"}`: the `instance` is
an `mcp.server.Server`, built by `create_sdk_mcp_server` or by you, served over the `mcp` package's
in-memory transport). `mcp_servers` may also be the path of a JSON file, or JSON text, holding
`{"mcpServers": {...}}`.

The tools of a `create_sdk_mcp_server` server are called directly, without the in-memory round
trip; both ways run the same code (`ToolSet.call`) and give the same results.

Servers connect concurrently. A server that cannot be reached, fails its handshake or takes
longer than `connect_timeout` is reported with status `failed` (and its reason in `errors`); the
others are used. Everything is closed on exit. With servers to connect (anything but
`create_sdk_mcp_server` servers), enter and exit in the same task, and exit sets in the reverse
order of entering them: each server lives in a task of a task group held by this object (the `mcp`
client's own task groups need the same).
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import anyio
from anyio.abc import TaskGroup

from tether.errors import ConfigurationError
from tether.tools.base import Tool, ToolContext, ToolResult
from tether.tools.sdk_server import SdkServerTool, tool_result, tool_set_of

if TYPE_CHECKING:
    from mcp import Client

__all__ = [
    "McpServers",
    "McpTool",
    "load_mcp_servers",
    "mcp_tool_name",
]

DEFAULT_CONNECT_TIMEOUT = 30.0
MAX_LIST_PAGES = 100
STDERR_TAIL_LINES = 20


def mcp_tool_name(server: str, tool: str) -> str:
    """`mcp__<server>__<tool>`, with characters a model API rejects replaced by `_`."""
    return f"mcp__{_clean(server)}__{_clean(tool)}"


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def load_mcp_servers(spec: Mapping[str, Any] | str | Path | None) -> dict[str, dict[str, Any]]:
    """The server configs of `mcp_servers`: a dict, or a JSON file path / JSON text (`{"mcpServers": ...}`)."""
    if spec is None:
        return {}
    if isinstance(spec, (str, Path)):
        text = str(spec).strip()
        if not text.startswith("{"):
            try:
                text = Path(text).expanduser().read_text(encoding="utf-8")
            except OSError as error:
                raise ConfigurationError(f"mcp_servers: cannot read the config file {spec}: {error}") from error
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"mcp_servers: invalid JSON ({error})") from error
        spec = data.get("mcpServers", data) if isinstance(data, dict) else data
    if not isinstance(spec, Mapping):
        raise ConfigurationError(f"mcp_servers must map server names to configs, not {type(spec).__name__}")
    servers: dict[str, dict[str, Any]] = {}
    for name, config in spec.items():
        if not isinstance(config, Mapping):
            raise ConfigurationError(f"mcp_servers[{name!r}] must be a dict config, not {type(config).__name__}")
        servers[str(name)] = dict(config)
    return servers


# -- connected servers -------------------------------------------------------------------------------


@dataclass
class McpTool:
    """A tool of a connected MCP server, exposed as `mcp__<server>__<tool>`."""

    name: str
    description: str
    input_schema: dict[str, Any]
    server: str
    remote_name: str
    client: Client = field(repr=False)
    annotations: dict[str, Any] | None = None
    timeout: float | None = None
    meta: dict[str, Any] | None = None
    """The tool's MCP `_meta` (`anthropic/maxResultSizeChars` sets the size of results the model gets)."""

    async def call(self, input: dict[str, Any], context: ToolContext) -> ToolResult:
        """Call the tool on its server; protocol and connection failures become error results."""
        from mcp import MCPError

        try:
            result = await self.client.call_tool(self.remote_name, input, read_timeout_seconds=self.timeout)
        except MCPError as error:
            return ToolResult(f"MCP server {self.server!r} refused the call: {error}", is_error=True)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
            return ToolResult(f"MCP server {self.server!r} is disconnected", is_error=True)
        except TimeoutError:
            return ToolResult(f"MCP server {self.server!r} did not answer within {self.timeout:g}s", is_error=True)
        return tool_result(result)


@dataclass
class _Server:
    name: str
    config: dict[str, Any]
    status: str = "pending"
    error: str | None = None
    tools: list[Tool] = field(default_factory=list)
    server_info: dict[str, Any] | None = None
    ready: anyio.Event = field(default_factory=anyio.Event)


class McpServers:
    """The MCP servers of a run, connected for the duration of `async with`."""

    def __init__(
        self,
        servers: Mapping[str, Any] | str | Path | None,
        *,
        cwd: str | Path | None = None,
        env: Mapping[str, str] | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        tool_timeout: float | None = None,
    ) -> None:
        self._servers = [_Server(name, config) for name, config in load_mcp_servers(servers).items()]
        self.cwd = str(cwd) if cwd is not None else None
        self.env = dict(env or {})
        self.connect_timeout = connect_timeout
        self.tool_timeout = tool_timeout
        self._closing = anyio.Event()
        self._group: TaskGroup | None = None

    @property
    def tools(self) -> list[Tool]:
        """The tools of every connected server, in config order."""
        return [tool for server in self._servers if server.status == "connected" for tool in server.tools]

    @property
    def status(self) -> list[dict[str, Any]]:
        """`[{"name", "status"}]`, status `connected` or `failed`: the init message's `mcp_servers`."""
        return [{"name": server.name, "status": server.status} for server in self._servers]

    @property
    def errors(self) -> dict[str, str]:
        """Why each failed server failed."""
        return {server.name: server.error or "unknown error" for server in self._servers if server.status == "failed"}

    @property
    def details(self) -> list[dict[str, Any]]:
        """Status with `error`, `serverInfo` and tool names (the Claude SDK's `McpServerStatus` shape)."""
        details: list[dict[str, Any]] = []
        for server in self._servers:
            item: dict[str, Any] = {"name": server.name, "status": server.status}
            if server.error:
                item["error"] = server.error
            if server.server_info:
                item["serverInfo"] = server.server_info
            if server.status == "connected":
                item["tools"] = [{"name": tool.name} for tool in server.tools]
            details.append(item)
        return details

    async def __aenter__(self) -> McpServers:
        connected = []
        for server in self._servers:
            if not self._add_in_process(server):
                connected.append(server)
        if not connected:  # nothing to hold open: no task group, so no cancel scope to nest
            return self
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        try:
            for server in connected:
                group.start_soon(self._serve, server)
            for server in self._servers:
                await server.ready.wait()
        except BaseException as error:
            self._closing.set()
            group.cancel_scope.cancel()
            self._group = None
            if not await group.__aexit__(type(error), error, error.__traceback__):
                raise
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        self._closing.set()
        group, self._group = self._group, None
        if group is None:
            return None
        return await group.__aexit__(*exc_info)

    def _add_in_process(self, server: _Server) -> bool:
        """Set up a server with nothing to connect (a `create_sdk_mcp_server` one); False for the others."""
        if server.config.get("type") != "sdk":
            return False
        instance = server.config.get("instance")
        if instance is None:
            server.status = "failed"
            server.error = "an sdk server needs an 'instance' (an mcp.server.Server, e.g. from create_sdk_mcp_server)"
        else:
            tool_set = tool_set_of(instance)
            if tool_set is None:
                return False
            server.tools = [SdkServerTool(mcp_tool_name(server.name, n), tool_set, n) for n in tool_set.tools]
            server.status = "connected"
            server.server_info = {"name": tool_set.name, "version": tool_set.version}
        server.ready.set()
        return True

    async def _serve(self, server: _Server) -> None:
        """Connect one server, list its tools, and hold the connection until the set closes."""
        stderr_log: TextIO | None = None
        try:
            if _kind(server.config) == "stdio":
                stderr_log = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
            with anyio.CancelScope(deadline=anyio.current_time() + self.connect_timeout) as scope:
                async with AsyncExitStack() as stack:
                    client = await stack.enter_async_context(self._client(server, stderr_log))
                    server.tools = await self._list_tools(server, client)
                    info = client.server_info
                    server.server_info = {"name": info.name, "version": info.version} if info else None
                    server.status = "connected"
                    scope.deadline = math.inf
                    server.ready.set()
                    await self._closing.wait()
            if scope.cancelled_caught and server.status != "connected":
                server.status = "failed"
                server.error = f"did not connect within {self.connect_timeout:g}s" + _stderr_tail(stderr_log)
        except Exception as error:
            if server.status != "connected":
                server.status = "failed"
                server.error = _describe(error) + _stderr_tail(stderr_log)
        finally:
            if server.status == "pending":
                server.status, server.error = "failed", server.error or "the connection was cancelled"
            server.ready.set()
            if stderr_log is not None:
                stderr_log.close()

    def _client(self, server: _Server, stderr_log: TextIO | None) -> Client:
        from mcp import Client, StdioServerParameters
        from mcp.client.stdio import stdio_client

        config = server.config
        kind = _kind(config)
        timeout = self.tool_timeout
        if kind == "sdk":
            return Client(config["instance"], read_timeout_seconds=timeout)
        if kind == "stdio":
            if not isinstance(config.get("command"), str):
                raise ConfigurationError("a stdio server needs a 'command'")
            parameters = StdioServerParameters(
                command=config["command"],
                args=[str(arg) for arg in config.get("args", [])],
                env={**os.environ, **self.env, **{k: str(v) for k, v in (config.get("env") or {}).items()}},
                cwd=config.get("cwd") or self.cwd,
            )
            errlog = stderr_log if stderr_log is not None else sys.stderr
            return Client(stdio_client(parameters, errlog=errlog), read_timeout_seconds=timeout)
        if not isinstance(config.get("url"), str):
            raise ConfigurationError(f"an {kind} server needs a 'url'")
        headers = {str(k): str(v) for k, v in (config.get("headers") or {}).items()}
        if kind == "sse":
            from mcp.client.sse import sse_client

            return Client(sse_client(config["url"], headers=headers), read_timeout_seconds=timeout)
        return Client(_http_transport(config["url"], headers), read_timeout_seconds=timeout)

    async def _list_tools(self, server: _Server, client: Client) -> list[Tool]:
        tools: list[Tool] = []
        cursor: str | None = None
        for _ in range(MAX_LIST_PAGES):
            page = await client.list_tools(cursor=cursor)
            for remote in page.tools:
                annotations = (
                    remote.annotations.model_dump(by_alias=True, exclude_none=True) if remote.annotations else None
                )
                tools.append(
                    McpTool(
                        name=mcp_tool_name(server.name, remote.name),
                        description=remote.description or "",
                        input_schema=dict(remote.input_schema or {"type": "object", "properties": {}}),
                        server=server.name,
                        remote_name=remote.name,
                        client=client,
                        annotations=annotations,
                        timeout=self.tool_timeout,
                        meta=dict(remote.meta) if remote.meta else None,
                    )
                )
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools


def _kind(config: Mapping[str, Any]) -> str:
    kind = config.get("type") or "stdio"
    if kind not in ("stdio", "http", "sse", "sdk"):
        raise ConfigurationError(f"unknown MCP server type {kind!r}; use stdio, http, sse or sdk")
    return str(kind)


def _http_transport(url: str, headers: dict[str, str]) -> Any:
    """A streamable HTTP transport with its own HTTP client (closed with the transport)."""
    from contextlib import asynccontextmanager

    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    @asynccontextmanager
    async def transport() -> Any:
        async with create_mcp_http_client(headers=headers) as http:
            async with streamable_http_client(url, http_client=http) as streams:
                yield streams

    return transport()


def _describe(error: BaseException) -> str:
    """A one-line description of a connection failure (the innermost errors of an exception group)."""
    leaves: list[BaseException] = []

    def collect(exc: BaseException) -> None:
        inner = getattr(exc, "exceptions", None)
        if inner:
            for item in inner:
                collect(item)
        else:
            leaves.append(exc)

    collect(error)
    return "; ".join(f"{type(leaf).__name__}: {leaf}" if str(leaf) else type(leaf).__name__ for leaf in leaves[:3])


def _stderr_tail(log: TextIO | None) -> str:
    if log is None:
        return ""
    try:
        log.seek(0)
        lines = [line.rstrip() for line in log.read().splitlines() if line.strip()]
    except (OSError, ValueError):
        return ""
    return ("\nserver stderr:\n" + "\n".join(lines[-STDERR_TAIL_LINES:])) if lines else ""
