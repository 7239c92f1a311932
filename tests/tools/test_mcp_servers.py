"""MCP servers through `McpServers`: a real stdio server process, streamable HTTP, in-process servers
(`create_sdk_mcp_server` and the user's own `mcp.server.Server`), and servers that fail without
stopping the others."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, Optional

import mcp.types
import pytest
from mcp import Client
from mcp.server import Server, ServerRequestContext
from typing_extensions import TypedDict

from tether import AgentOptions, ResultMessage, SystemMessage, UserMessage
from tether.errors import ConfigurationError
from tether.testing import ScriptedModel, run_query, tool_use_reply
from tether.tools.base import SdkMcpTool, ToolContext, ToolResult, schema_from_annotation, tool
from tether.tools.mcp import McpServers, McpTool, load_mcp_servers, mcp_tool_name
from tether.tools.sdk_server import create_sdk_mcp_server

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


# -- create_sdk_mcp_server and the user's own mcp.server.Server ------------------------------------

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNgYGAAAAAEAAH2FzhVAAAAAElFTkSuQmCC"


@tool("add", "Add two numbers", {"a": float, "b": float})
async def add_tool(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": f"{args['a'] + args['b']:g}"}]}


@tool("divide", "Divide a by b", {"a": float, "b": float}, annotations={"readOnlyHint": True})
async def divide_tool(args: dict[str, Any]) -> dict[str, Any]:
    if args["b"] == 0:
        return {"content": [{"type": "text", "text": "division by zero"}], "is_error": True}
    return {"content": [{"type": "text", "text": f"{args['a'] / args['b']:g}"}]}


@tool("chart", "Draw a chart", {"title": str}, annotations=mcp.types.ToolAnnotations(destructive_hint=False))
async def chart_tool(args: dict[str, Any]) -> dict[str, Any]:
    return {
        "content": [
            {"type": "text", "text": f"chart {args['title']}"},
            {"type": "image", "data": PNG, "mimeType": "image/png"},
            {"type": "resource_link", "name": "data", "uri": "file:///data.csv"},
        ]
    }


@tool("explode", "Always fails", {})
async def explode_tool(args: dict[str, Any]) -> dict[str, Any]:
    raise RuntimeError("boom")


@tool("sloppy", "Returns a malformed block", {})
async def sloppy_tool(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text"}]}


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("add", {"a": 2, "b": 3}),
    ("divide", {"a": 1, "b": 0}),
    ("chart", {"title": "sales"}),
    ("explode", {}),
    ("sloppy", {}),
    ("add", {"a": 1}),
    ("add", {"a": 1, "b": "two"}),
]


def calc_server() -> Any:
    return create_sdk_mcp_server(
        "calc", version="2.0.0", tools=[add_tool, divide_tool, chart_tool, explode_tool, sloppy_tool]
    )


async def test_create_sdk_mcp_server_gives_the_sdk_shape_with_a_real_mcp_server() -> None:
    config = calc_server()
    assert set(config) == {"type", "name", "instance"}
    assert (config["type"], config["name"]) == ("sdk", "calc")
    server = config["instance"]
    assert isinstance(server, Server)
    assert (server.name, server.version) == ("calc", "2.0.0")
    async with Client(server) as client:
        assert client.server_info is not None and client.server_info.version == "2.0.0"
        listed = {
            item.name: item.model_dump(by_alias=True, exclude_none=True) for item in (await client.list_tools()).tools
        }
    assert listed["add"] == {
        "name": "add",
        "description": "Add two numbers",
        "inputSchema": {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    }
    assert listed["divide"]["annotations"] == {"readOnlyHint": True}
    assert listed["chart"]["annotations"] == {"destructiveHint": False}
    assert list(listed) == ["add", "divide", "chart", "explode", "sloppy"]


async def test_the_served_tools_answer_calls_with_error_results_for_every_failure() -> None:
    async with Client(calc_server()["instance"]) as client:
        ok = await client.call_tool("add", {"a": 2, "b": 3})
        unknown = await client.call_tool("nope", {})
        missing = await client.call_tool("add", {"a": 1})
        raised = await client.call_tool("explode", {})
    assert (ok.is_error, ok.content[0]) == (False, mcp.types.TextContent(type="text", text="5"))
    assert unknown.is_error and unknown.content[0].text == "Tool 'nope' not found"  # type: ignore[union-attr]
    assert missing.is_error and missing.content[0].text.startswith("Input validation error: ")  # type: ignore[union-attr]
    assert "'b' is a required property" in missing.content[0].text  # type: ignore[union-attr]
    assert raised.is_error and raised.content[0].text == "boom"  # type: ignore[union-attr]


async def test_direct_calls_and_calls_through_the_server_give_the_same_results(context: ToolContext) -> None:
    config = calc_server()
    async with McpServers({"calc": config}) as servers, Client(config["instance"]) as client:
        direct = tools_by_name(servers)
        for name, arguments in CALLS:
            served = McpTool(name, "", {}, server="calc", remote_name=name, client=client)
            fast = await direct[f"mcp__calc__{name}"].call(arguments, context)
            assert fast == await served.call(arguments, context), name
    results = {}
    async with McpServers({"calc": config}) as servers:
        for name, arguments in CALLS:
            results[name, json.dumps(arguments)] = await tools_by_name(servers)[f"mcp__calc__{name}"].call(
                arguments, context
            )
    assert results["add", '{"a": 2, "b": 3}'].content == [{"type": "text", "text": "5"}]
    assert results["divide", '{"a": 1, "b": 0}'] == ToolResult(
        "division by zero", is_error=True, structured={"content": [{"type": "text", "text": "division by zero"}]}
    )
    assert results["chart", '{"title": "sales"}'].content == [
        {"type": "text", "text": "chart sales"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "text", "text": "[resource data: file:///data.csv]"},
    ]
    assert results["explode", "{}"].content == "boom" and results["explode", "{}"].is_error
    assert results["sloppy", "{}"].is_error and "invalid text block: text" in str(results["sloppy", "{}"].content)
    assert "'two' is not of type 'number'" in str(results["add", '{"a": 1, "b": "two"}'].content)


async def test_sdk_server_tools_keep_their_annotations_for_permissions() -> None:
    async with McpServers({"calc": calc_server()}) as servers:
        tools = tools_by_name(servers)
        assert servers.details[0]["serverInfo"] == {"name": "calc", "version": "2.0.0"}
    assert tools["mcp__calc__divide"].annotations == {"readOnlyHint": True}
    assert tools["mcp__calc__add"].annotations is None
    assert tools["mcp__calc__add"].input_schema["required"] == ["a", "b"]


def weather_server(calls: list[dict[str, Any]]) -> Server[Any]:
    """A server built by hand with the low-level API of the mcp package (2.x: constructor callbacks)."""
    forecast = mcp.types.Tool(
        name="forecast",
        description="The forecast for a city",
        input_schema={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        annotations=mcp.types.ToolAnnotations(read_only_hint=True),
    )

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: mcp.types.PaginatedRequestParams | None
    ) -> mcp.types.ListToolsResult:
        return mcp.types.ListToolsResult(tools=[forecast])

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: mcp.types.CallToolRequestParams
    ) -> mcp.types.CallToolResult:
        arguments = dict(params.arguments or {})
        calls.append(arguments)
        if arguments["city"] == "Atlantis":
            raise ValueError("no such city")
        return mcp.types.CallToolResult(
            content=[mcp.types.TextContent(type="text", text=f"{arguments['city']}: sunny")]
        )

    return Server("weather", version="0.3", on_list_tools=list_tools, on_call_tool=call_tool)


async def test_the_users_own_mcp_server_works_as_an_sdk_server_in_a_query(project: Path) -> None:
    calls: list[dict[str, Any]] = []
    config = {"weather": {"type": "sdk", "name": "weather", "instance": weather_server(calls)}}
    model = ScriptedModel(
        [
            tool_use_reply("mcp__weather__forecast", {"city": "Paris"}, id="call_1"),
            tool_use_reply("mcp__weather__forecast", {"city": "Atlantis"}, id="call_2"),
            "Sunny in Paris; Atlantis is unknown.",
        ]
    )
    options = AgentOptions(model=model, cwd=project, mcp_servers=config, tools=[], allowed_tools=["mcp__weather"])
    messages = (await run_query("Weather?", options)).messages

    init = messages[0]
    assert isinstance(init, SystemMessage)
    assert init.data["tools"] == ["mcp__weather__forecast"]
    assert init.data["mcp_servers"] == [{"name": "weather", "status": "connected"}]
    assert model.requests[0].tools[0].input_schema["required"] == ["city"]
    assert calls == [{"city": "Paris"}, {"city": "Atlantis"}]
    results = [m.content[0] for m in messages if isinstance(m, UserMessage) and isinstance(m.content, list)]
    assert results[0].content == [{"type": "text", "text": "Paris: sunny"}]  # type: ignore[union-attr]
    # the mcp package answers a handler's exception with a JSON-RPC error ("Internal server error")
    assert results[1].is_error is True and "'weather' refused the call" in str(results[1].content)  # type: ignore[union-attr]
    final = messages[-1]
    assert isinstance(final, ResultMessage) and final.result == "Sunny in Paris; Atlantis is unknown."


async def test_an_sdk_config_without_instance_fails_alone() -> None:
    async with McpServers({"empty": {"type": "sdk", "name": "empty"}, "calc": calc_server()}) as servers:
        assert servers.status == [{"name": "empty", "status": "failed"}, {"name": "calc", "status": "connected"}]
        assert "needs an 'instance'" in servers.errors["empty"]


def test_create_sdk_mcp_server_rejects_what_is_not_a_tool() -> None:
    with pytest.raises(ConfigurationError, match="two tools are named 'add'"):
        create_sdk_mcp_server("calc", tools=[add_tool, add_tool])
    with pytest.raises(ConfigurationError, match="is not a @tool tool"):
        create_sdk_mcp_server("calc", tools=[print])  # type: ignore[list-item]
    odd = tool("odd", "Odd annotations", {}, annotations={"readOnlyHint": "perhaps"})(add_tool.handler)
    with pytest.raises(ConfigurationError, match="'odd': invalid annotations"):
        create_sdk_mcp_server("calc", tools=[odd])


class Order(TypedDict):
    item: Annotated[str, "What to buy"]
    count: int
    size: Literal["S", "M", "L"]
    note: NotRequired[Optional[str]]  # noqa: UP045 - the spelling users write
    tags: list[str]
    price: float | int


def test_tool_keeps_its_input_schema_as_given_and_the_json_schema_is_derived() -> None:
    @tool("order", "Place an order", Order)
    async def order(args: dict[str, Any]) -> dict[str, Any]:
        return {"content": []}

    assert isinstance(order, SdkMcpTool) and order.input_schema is Order
    assert schema_from_annotation(Order) == {
        "type": "object",
        "properties": {
            "item": {"type": "string", "description": "What to buy"},
            "count": {"type": "integer"},
            "size": {"enum": ["S", "M", "L"]},
            "note": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "price": {"anyOf": [{"type": "number"}, {"type": "integer"}]},
        },
        "required": ["item", "count", "size", "tags", "price"],
    }
    assert schema_from_annotation({"n": int, "flag": bool}) == {
        "type": "object",
        "properties": {"n": {"type": "integer"}, "flag": {"type": "boolean"}},
        "required": ["n", "flag"],
    }
    explicit = {"type": "object", "properties": {"name": {"type": "string", "minLength": 2}}}
    assert schema_from_annotation(explicit) == explicit
    assert schema_from_annotation({}) == {"type": "object", "properties": {}, "required": []}
