"""MCP servers through `McpServers`: a real stdio server process, streamable HTTP, in-process servers,
and servers that fail without stopping the others."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.tools.base import ToolContext, ToolResult, create_sdk_mcp_server, tool
from tether.tools.mcp import McpServers, load_mcp_servers, mcp_tool_name

pytestmark = pytest.mark.anyio

DEMO_SERVER = Path(__file__).with_name("mcp_demo_server.py")
STDIO_DEMO = {"command": sys.executable, "args": [str(DEMO_SERVER)]}


def texts(result: ToolResult) -> str:
    assert isinstance(result.content, list)
    return "".join(block["text"] for block in result.content if block["type"] == "text")


def tools_by_name(servers: McpServers) -> dict[str, Any]:
    return {t.name: t for t in servers.tools}


async def test_stdio_server_is_listed_and_called(context: ToolContext) -> None:
    async with McpServers({"demo": STDIO_DEMO}) as servers:
        assert servers.status == [{"name": "demo", "status": "connected"}]
        tools = tools_by_name(servers)
        assert set(tools) == {"mcp__demo__add", "mcp__demo__shout", "mcp__demo__fail", "mcp__demo__pid"}
        assert tools["mcp__demo__add"].input_schema["required"] == ["a", "b"]
        assert tools["mcp__demo__add"].description == "Add two integers."
        assert tools["mcp__demo__shout"].annotations["readOnlyHint"] is True

        result = await tools["mcp__demo__add"].call({"a": 2, "b": 3}, context)
        assert not result.is_error
        assert texts(result) == "5"
        assert result.structured["structuredContent"] == {"result": 5}

        failed = await tools["mcp__demo__fail"].call({"reason": "on purpose"}, context)
        assert failed.is_error
        server_pid = int(texts(await tools["mcp__demo__pid"].call({}, context)))
        assert servers.details[0]["serverInfo"] == {"name": "demo", "version": "1.2.3"}
    deadline = time.monotonic() + 10  # safety net: the server is stopped before __aexit__ returns
    while _alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(server_pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


async def test_failing_servers_are_reported_and_do_not_stop_the_others(context: ToolContext) -> None:
    crashing = {"command": sys.executable, "args": ["-c", "import sys; print('no config found', file=sys.stderr)"]}
    configs = {
        "demo": STDIO_DEMO,
        "crashing": crashing,
        "missing": {"command": "/nonexistent/mcp-server"},
        "nowhere": {"type": "http", "url": "http://127.0.0.1:9/mcp"},
        "weird": {"type": "carrier-pigeon"},
    }
    async with McpServers(configs, connect_timeout=20) as servers:
        assert servers.status == [
            {"name": "demo", "status": "connected"},
            {"name": "crashing", "status": "failed"},
            {"name": "missing", "status": "failed"},
            {"name": "nowhere", "status": "failed"},
            {"name": "weird", "status": "failed"},
        ]
        assert "no config found" in servers.errors["crashing"]
        assert "mcp-server" in servers.errors["missing"]
        assert "carrier-pigeon" in servers.errors["weird"]
        assert {t.name for t in servers.tools} == {
            "mcp__demo__add",
            "mcp__demo__shout",
            "mcp__demo__fail",
            "mcp__demo__pid",
        }
        result = await tools_by_name(servers)["mcp__demo__shout"].call({"text": "hi"}, context)
        assert texts(result) == "HI!"


async def test_a_server_that_never_answers_times_out() -> None:
    silent = {"command": sys.executable, "args": ["-c", "import time; time.sleep(120)"]}
    async with McpServers({"silent": silent}, connect_timeout=0.5) as servers:
        assert servers.status == [{"name": "silent", "status": "failed"}]
        assert "did not connect within 0.5s" in servers.errors["silent"]


async def test_sdk_servers_are_in_process(context: ToolContext) -> None:
    @tool("add", "Add two numbers", {"a": float, "b": float})
    async def add(args: dict[str, Any]) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": str(args["a"] + args["b"])}]}

    async with McpServers({"calc": create_sdk_mcp_server("calc", tools=[add])}) as servers:
        assert servers.status == [{"name": "calc", "status": "connected"}]
        (calc_add,) = servers.tools
        assert calc_add.name == "mcp__calc__add"
        result = await calc_add.call({"a": 1, "b": 2}, context)
        assert result.content == [{"type": "text", "text": "3"}]


async def test_sdk_server_instances_of_the_mcp_package(context: ToolContext) -> None:
    from mcp.server.mcpserver import MCPServer

    instance = MCPServer("inproc")

    @instance.tool()
    def double(x: int) -> int:
        """Double it."""
        return 2 * x

    async with McpServers({"inproc": {"type": "sdk", "name": "inproc", "instance": instance}}) as servers:
        assert servers.status == [{"name": "inproc", "status": "connected"}]
        result = await tools_by_name(servers)["mcp__inproc__double"].call({"x": 21}, context)
        assert texts(result) == "42"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[str]:
    """The demo server over streamable HTTP in its own process; yields its URL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, str(DEMO_SERVER), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30  # safety net for a slow start
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    raise RuntimeError("the HTTP demo server exited") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_streamable_http_server(http_server: str, context: ToolContext) -> None:
    config = {"type": "http", "url": http_server, "headers": {"X-Test": "yes"}}
    async with McpServers({"remote": config}) as servers:
        assert servers.status == [{"name": "remote", "status": "connected"}], servers.errors
        result = await tools_by_name(servers)["mcp__remote__add"].call({"a": 20, "b": 22}, context)
        assert texts(result) == "42"


def test_config_from_json_text_and_file(tmp_path: Path) -> None:
    text = json.dumps({"mcpServers": {"demo": STDIO_DEMO}})
    assert load_mcp_servers(text) == {"demo": STDIO_DEMO}
    (tmp_path / "mcp.json").write_text(text)
    assert load_mcp_servers(tmp_path / "mcp.json") == {"demo": STDIO_DEMO}
    assert load_mcp_servers(str(tmp_path / "mcp.json")) == {"demo": STDIO_DEMO}
    assert load_mcp_servers(None) == {}


def test_tool_names_are_sanitised() -> None:
    assert mcp_tool_name("my server", "do.it") == "mcp__my_server__do_it"


async def test_nothing_configured() -> None:
    async with McpServers({}) as servers:
        assert servers.tools == [] and servers.status == []
