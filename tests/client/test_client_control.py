"""The client's control methods: server info, permission mode, model, context usage, MCP servers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from tests.client.support import MODEL, StallingAnthropicServer, echo, options_for
from tests.fakes import Reply, ToolUse

from tether import (
    AgentClient,
    ConfigurationError,
    ResultMessage,
    create_sdk_mcp_server,
    tool,
)

pytestmark = pytest.mark.anyio

DEMO_SERVER = Path(__file__).parents[1] / "tools" / "mcp_demo_server.py"
FLAKY = (  # a stdio MCP server that fails to start until the file sys.argv[1] exists
    "import os, runpy, sys\nif not os.path.exists(sys.argv[1]): sys.exit(3)\n"
    "runpy.run_path(sys.argv[2], run_name='__main__')"
)


@tool("add", "Adds two numbers", {"a": int, "b": int})
async def add(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": str(args["a"] + args["b"])}]}


def offered(body: dict[str, Any]) -> set[str]:
    return {t["name"] for t in body.get("tools", [])}


async def answer(client: AgentClient, prompt: str) -> list[Any]:
    await client.query(prompt)
    return [m async for m in client.receive_response()]


async def test_server_info_says_what_tether_knows(project: Path) -> None:
    with StallingAnthropicServer([]) as server:
        async with AgentClient(options_for(server, project, permission_mode="plan")) as client:
            info = await client.get_server_info()
            session_id = client.session_id
    assert info is not None
    assert info["commands"] == [] and info["output_style"] == "default"
    assert info["available_output_styles"] == ["default"]
    assert [m["value"] for m in info["models"]] == [MODEL]
    assert info["current_permission_mode"] == "plan"
    assert info["session_id"] == session_id


async def test_set_permission_mode_is_validated_and_used_from_the_next_prompt(project: Path) -> None:
    write = Reply([ToolUse("Write", {"file_path": "note.txt", "content": "hi"})])
    with StallingAnthropicServer([write, "denied, then", write, "written"]) as server:
        async with AgentClient(options_for(server, project)) as client:
            await answer(client, "write a note")
            assert not (project / "note.txt").exists()  # default mode, no rule: refused
            with pytest.raises(ConfigurationError, match="permission mode"):
                await client.set_permission_mode("yolo")  # type: ignore[arg-type]
            await client.set_permission_mode("acceptEdits")
            info = await client.get_server_info()
            assert info is not None and info["current_permission_mode"] == "acceptEdits"
            await answer(client, "write it now")
    assert (project / "note.txt").read_text() == "hi"


async def test_set_model_changes_the_model_of_the_next_prompts(project: Path) -> None:
    with StallingAnthropicServer([echo, echo]) as server:
        async with AgentClient(options_for(server, project)) as client:
            await answer(client, "one")
            await client.set_model("claude-haiku-4-5")
            await answer(client, "two")
    assert [r["model"] for r in server.requests] == [MODEL, "claude-haiku-4-5"]


async def test_context_usage_counts_tokens_by_category_against_the_window(project: Path) -> None:
    servers = {"calc": create_sdk_mcp_server("calc", tools=[add])}
    with StallingAnthropicServer([Reply("ok", input_tokens=50_000)]) as server:
        async with AgentClient(options_for(server, project, mcp_servers=servers)) as client:
            before = await client.get_context_usage()
            await answer(client, "a question")
            after = await client.get_context_usage()

    for usage in (before, after):
        categories = {c["name"]: c["tokens"] for c in usage["categories"]}
        assert set(categories) == {"System prompt", "System tools", "MCP tools", "Messages", "Free space"}
        used = sum(tokens for name, tokens in categories.items() if name != "Free space")
        assert usage["totalTokens"] == used and categories["Free space"] == usage["maxTokens"] - used
        assert usage["rawMaxTokens"] == 200_000 and usage["model"] == MODEL
        # maxTokens leaves room for a compaction's summary; past the threshold the agent compacts
        assert usage["maxTokens"] < 200_000 and usage["isAutoCompactEnabled"]
        assert used < usage["autoCompactThreshold"] < usage["maxTokens"]
        assert usage["percentage"] == pytest.approx(100 * used / 200_000, abs=0.01)
        assert categories["System prompt"] > 0 and categories["System tools"] > 0
        assert [(t["name"], t["serverName"]) for t in usage["mcpTools"]] == [("mcp__calc__add", "calc")]
        assert categories["MCP tools"] == usage["mcpTools"][0]["tokens"] > 0
    # After the reply, the provider's own count (50,000 input tokens) is what the context holds.
    assert after["totalTokens"] >= 50_000 > before["totalTokens"]
    assert after["percentage"] >= 25.0


async def test_mcp_status_toggle_and_reconnect(project: Path, tmp_path: Path) -> None:
    flag = tmp_path / "flaky-may-start"
    servers = {
        "calc": create_sdk_mcp_server("calc", tools=[add]),
        "flaky": {
            "command": sys.executable,
            "args": ["-c", FLAKY, str(flag), str(DEMO_SERVER)],
            "env": {"K": "secret"},
        },
    }
    call = Reply([ToolUse("mcp__flaky__add", {"a": 2, "b": 3})])
    replies = ["one", "two", "three", call, "it is 5"]
    with StallingAnthropicServer(replies) as server:
        options = options_for(server, project, mcp_servers=servers, allowed_tools=["mcp__flaky__add"])
        async with AgentClient(options) as client:
            status = {s["name"]: s for s in (await client.get_mcp_status())["mcpServers"]}
            assert status["calc"]["status"] == "connected"
            assert status["calc"]["config"] == {"type": "sdk", "name": "calc"}
            assert [t["name"] for t in status["calc"]["tools"]] == ["add"]
            assert status["flaky"]["status"] == "failed"
            assert status["flaky"]["config"] == {
                "type": "stdio",
                "command": sys.executable,
                "args": servers["flaky"]["args"],
            }

            await client.toggle_mcp_server("calc", False)
            assert [s["status"] for s in (await client.get_mcp_status())["mcpServers"]] == ["disabled", "failed"]
            await answer(client, "without calc")
            assert "mcp__calc__add" not in offered(server.requests[-1])
            await client.toggle_mcp_server("calc", True)
            await answer(client, "with calc")
            assert "mcp__calc__add" in offered(server.requests[-1])

            with pytest.raises(ConfigurationError, match="flaky"):
                await client.reconnect_mcp_server("flaky")
            flag.touch()
            await client.reconnect_mcp_server("flaky")
            status = {s["name"]: s for s in (await client.get_mcp_status())["mcpServers"]}
            assert status["flaky"]["status"] == "connected"
            assert status["flaky"]["serverInfo"] == {"name": "demo", "version": "1.2.3"}
            await answer(client, "now with flaky")
            assert "mcp__flaky__add" in offered(server.requests[-1])
            done = await answer(client, "add 2 and 3")
            with pytest.raises(ConfigurationError, match="no MCP server is named 'nope'"):
                await client.toggle_mcp_server("nope", True)
    assert isinstance(done[-1], ResultMessage) and done[-1].result == "it is 5"
    result = server.requests[-1]["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and result["content"] == [{"type": "text", "text": "5"}]


async def test_stop_task_and_rewind_files_say_what_tether_cannot_do(project: Path) -> None:
    with StallingAnthropicServer([]) as server:
        async with AgentClient(options_for(server, project)) as client:
            with pytest.raises(ConfigurationError, match="no running task 'task-1'"):
                await client.stop_task("task-1")
            with pytest.raises(ConfigurationError, match="enable_file_checkpointing=True"):
                await client.rewind_files("some-user-message-uuid")
