"""What `AgentClient` reports and changes of a connected session: its MCP servers (turned off,
reconnected), its server info and its context usage."""

from __future__ import annotations

from typing import Any, cast

import anyio
import anyio.lowlevel

from tether._background import Background
from tether._version import __version__
from tether._vocabulary.control import ContextUsageResponse
from tether._vocabulary.mcp import McpServerStatus, McpStatusResponse
from tether.agent.context_window import estimate_tokens
from tether.agent.loop import Agent
from tether.errors import ConfigurationError
from tether.options import AgentOptions
from tether.tools.base import Tool
from tether.tools.mcp import McpServers, load_mcp_servers, mcp_tool_name

__all__ = ["McpControl", "context_usage", "public_config", "server_info"]


class McpControl:
    """The client's changes to a session's MCP servers: servers turned off, servers reconnected.

    A reconnected server is a new connection, held open by a task of its own until the client
    disconnects; its tools replace those of the old connection.
    """

    def __init__(self, agent: Agent, options: AgentOptions) -> None:
        self._agent = agent
        self._options = options
        self._configs = load_mcp_servers(options.mcp_servers)
        self._parked: dict[str, dict[str, Tool]] = {}
        self._reconnected: dict[str, tuple[Background, anyio.Event, dict[str, Any]]] = {}

    def _config(self, name: str) -> dict[str, Any]:
        if name not in self._configs:
            known = ", ".join(repr(n) for n in self._configs) or "none"
            raise ConfigurationError(f"no MCP server is named {name!r}; the servers are {known}")
        return self._configs[name]

    def _tools_of(self, name: str) -> list[str]:
        prefix = mcp_tool_name(name, "")
        return [tool for tool in self._agent.tools if tool.startswith(prefix)]

    def _state(self, name: str) -> dict[str, Any]:
        if name in self._reconnected:
            return self._reconnected[name][2]
        return next((s for s in self._agent.mcp_status if s["name"] == name), {"name": name, "status": "failed"})

    def status(self) -> McpStatusResponse:
        """Every configured server with its status, config (without secrets) and tools."""
        servers: list[McpServerStatus] = []
        for name, config in self._configs.items():
            entry = dict(self._state(name))
            entry["config"] = public_config(name, config)
            if name in self._parked:
                entry["status"] = "disabled"
            elif entry["status"] == "connected":
                prefix = mcp_tool_name(name, "")
                tools = self._agent.tools
                entry["tools"] = [
                    {"name": tool.removeprefix(prefix), "description": tools[tool].description}
                    for tool in self._tools_of(name)
                ]
            servers.append(cast(McpServerStatus, entry))
        return {"mcpServers": servers}

    async def reconnect(self, name: str) -> None:
        """Connect the server anew and use the new connection's tools; raises when it fails."""
        config = self._config(name)
        await self._drop(name)
        closing, opened = anyio.Event(), anyio.Event()
        found: list[McpServers] = []

        async def hold() -> None:
            try:
                async with McpServers({name: config}, cwd=self._agent.session.cwd, env=self._options.env) as servers:
                    found.append(servers)
                    opened.set()
                    await closing.wait()
            finally:
                opened.set()

        holder = Background.start(hold)
        await opened.wait()
        if not found or found[0].status[0]["status"] != "connected":
            closing.set()
            await holder.wait()
            reason = found[0].errors.get(name, "unknown error") if found else "the connection was cancelled"
            raise ConfigurationError(f"the MCP server {name!r} did not reconnect: {reason}")
        servers = found[0]
        self._reconnected[name] = (holder, closing, servers.details[0])
        fresh = {tool.name: tool for tool in servers.tools}
        if name in self._parked:
            self._parked[name] = fresh
        else:
            for tool in self._tools_of(name):
                del self._agent.tools[tool]
            self._agent.tools.update(fresh)

    async def toggle(self, name: str, enabled: bool) -> None:
        """Turn a server's tools off (the model is no longer offered them) or on again."""
        self._config(name)
        if not enabled:
            if name not in self._parked:
                self._parked[name] = {tool: self._agent.tools.pop(tool) for tool in self._tools_of(name)}
            return
        parked = self._parked.pop(name, None)
        if parked is not None:
            self._agent.tools.update(parked)
        if self._state(name)["status"] != "connected":
            await self.reconnect(name)

    async def _drop(self, name: str) -> None:
        held = self._reconnected.pop(name, None)
        if held is not None:
            holder, closing, _ = held
            closing.set()
            await holder.wait()

    async def close(self) -> None:
        """Close the connections made by `reconnect`."""
        for name in list(self._reconnected):
            await self._drop(name)


def public_config(name: str, config: dict[str, Any]) -> dict[str, Any]:
    """A server config as a status shows it: no environment, no headers (they hold secrets)."""
    kind = config.get("type", "stdio")
    if kind == "stdio":
        return {"type": "stdio", "command": config.get("command"), "args": list(config.get("args", []))}
    if kind == "sdk":
        return {"type": "sdk", "name": config.get("name", name)}
    return {"type": kind, "url": config.get("url")}


# -- control answers ------------------------------------------------------------------------------


def server_info(agent: Agent) -> dict[str, Any]:
    """What `get_server_info()` reports: commands, output styles, the model, account, mode."""
    init = agent.init_message().data
    model = str(init["model"])
    return {
        "commands": [],  # tether has no slash commands
        "agents": [],
        "output_style": "default",
        "available_output_styles": ["default"],
        "models": [{"value": model, "displayName": model, "description": "The model of this session"}],
        "account": {"apiKeySource": init["apiKeySource"]},
        "current_permission_mode": init["permissionMode"],
        "session_id": init["session_id"],
        "tether_version": __version__,
    }


def context_usage(agent: Agent) -> ContextUsageResponse:
    """Tokens in the context by category, against the model's window.

    The parts are estimated (four characters per token); the messages take at least what the
    provider counted in its latest response (since the last compaction), less the system prompt
    and tools. A model whose window tether does not know reports `maxTokens` 0.
    """
    session = agent.session
    system = estimate_tokens(agent.system_prompt)
    schemas = {name: estimate_tokens([tool.description, tool.input_schema]) for name, tool in agent.tools.items()}
    mcp = {name: count for name, count in schemas.items() if name.startswith("mcp__")}
    builtin = sum(schemas.values()) - sum(mcp.values())
    measured = agent.compactor.meter.measured or 0
    messages = max(estimate_tokens(list(session.messages)), measured - system - sum(schemas.values()))
    total = system + sum(schemas.values()) + messages
    window_fields = agent.compactor.window_fields()
    window = int(window_fields["rawMaxTokens"])  # 0: unknown
    categories = [
        {"name": "System prompt", "tokens": system, "color": "promptBorder"},
        {"name": "System tools", "tokens": builtin, "color": "inactive"},
        {"name": "MCP tools", "tokens": sum(mcp.values()), "color": "cyan"},
        {"name": "Messages", "tokens": messages, "color": "purple"},
        {"name": "Free space", "tokens": max(int(window_fields["maxTokens"]) - total, 0), "color": "subtle"},
    ]
    return cast(
        ContextUsageResponse,
        {
            "categories": categories,
            "totalTokens": total,
            **window_fields,
            "percentage": round(100 * total / window, 2) if window else 0.0,
            "model": agent.model.model_name,
            "memoryFiles": [],
            "mcpTools": [
                {"name": name, "serverName": name.split("__")[1], "tokens": count, "isLoaded": True}
                for name, count in mcp.items()
            ],
            "agents": [],
            "gridRows": [],
            "systemTools": [{"name": n, "tokens": c} for n, c in schemas.items() if n not in mcp],
        },
    )
