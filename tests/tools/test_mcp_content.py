"""What an MCP tool's result becomes for the model, for every MCP content kind, and what a user gets
for an MCP configuration that cannot work: a `ConfigurationError` naming the problem, or a failed
server that does not stop the others."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tether._vocabulary.mcp import McpSdkServerConfig
from tether.errors import ConfigurationError
from tether.tools.base import ToolContext, ToolResult, tool
from tether.tools.mcp import McpServers, load_mcp_servers
from tether.tools.sdk_server import create_sdk_mcp_server

pytestmark = pytest.mark.anyio

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYGAAAAAEAAH2FzhVAAAAAElFTkSuQmCC"
RICH_CONTENT: list[dict[str, Any]] = [
    {"type": "image", "data": PNG, "mimeType": "image/png"},
    {"type": "resource_link", "uri": "file:///data/report.csv", "name": "report"},
    {"type": "audio", "data": "UklGRg==", "mimeType": "audio/wav"},
    {"type": "resource", "resource": {"uri": "file:///notes.txt", "text": "meeting at noon"}},
    {
        "type": "resource",
        "resource": {"uri": "file:///logo.bin", "blob": "AAEC", "mimeType": "application/octet-stream"},
    },
    {"type": "hologram", "data": "..."},
]


def returning(outcome: Any) -> McpSdkServerConfig:
    """An in-process server with one tool `give` that returns `outcome` whatever it is asked."""

    @tool("give", "Returns a fixed result", {})
    async def give(args: dict[str, Any]) -> Any:
        return outcome

    return create_sdk_mcp_server("fixed", tools=[give])


async def call_give(outcome: Any, context: ToolContext) -> ToolResult:
    async with McpServers({"fixed": returning(outcome)}) as servers:
        (give,) = servers.tools
        return await give.call({}, context)


async def test_every_mcp_content_kind_reaches_the_model_as_a_block_it_can_read(context: ToolContext) -> None:
    result = await call_give({"content": RICH_CONTENT}, context)

    assert not result.is_error
    assert result.content == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "text", "text": "[resource report: file:///data/report.csv]"},
        {"type": "text", "text": "[audio content (audio/wav), not shown]"},
        {"type": "text", "text": "meeting at noon"},
        {"type": "text", "text": "[binary resource file:///logo.bin (application/octet-stream)]"},
        {"type": "text", "text": "[content of type 'hologram' not shown]"},
    ]


async def test_a_plain_string_content_is_one_text_block(context: ToolContext) -> None:
    result = await call_give({"content": "42 files"}, context)
    assert result.content == [{"type": "text", "text": "42 files"}] and not result.is_error


@pytest.mark.parametrize(
    ("outcome", "problem"),
    [
        ("just a string", "the tool returned str, not a dict with 'content'"),
        ({"content": 42}, "the tool's 'content' is int, not a list of blocks"),
        ({"content": ["loose text"]}, "a content block is a dict, not str"),
    ],
)
async def test_a_handler_result_of_the_wrong_shape_is_an_error_result_naming_it(
    outcome: Any, problem: str, context: ToolContext
) -> None:
    result = await call_give(outcome, context)
    assert result.is_error and problem in str(result.content)


def test_an_mcp_config_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the config file"):
        load_mcp_servers(tmp_path / "missing.json")
    with pytest.raises(ConfigurationError, match="invalid JSON"):
        load_mcp_servers('{"mcpServers": {')
    listed = tmp_path / "servers.json"
    listed.write_text(json.dumps([{"command": "x"}]))
    with pytest.raises(ConfigurationError, match="must map server names to configs, not list"):
        load_mcp_servers(listed)
    with pytest.raises(ConfigurationError, match=r"mcp_servers\['demo'\] must be a dict config, not str"):
        load_mcp_servers({"demo": "python server.py"})


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"type": "stdio"}, "a stdio server needs a 'command'"),
        ({"type": "http"}, "an http server needs a 'url'"),
        ({"type": "sse", "url": 8080}, "an sse server needs a 'url'"),
        ({"type": "websocket", "url": "ws://localhost"}, "unknown MCP server type 'websocket'"),
    ],
)
async def test_a_server_config_that_cannot_work_fails_alone_naming_the_problem(
    config: dict[str, Any], problem: str
) -> None:
    async with McpServers({"broken": config, "fixed": returning({"content": "ok"})}) as servers:
        assert servers.status == [{"name": "broken", "status": "failed"}, {"name": "fixed", "status": "connected"}]
        assert problem in servers.errors["broken"]
        assert [t.name for t in servers.tools] == ["mcp__fixed__give"]
