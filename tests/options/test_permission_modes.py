"""The `dontAsk` and `auto` permission modes, and the single permission-mode vocabulary."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import claude_agent_sdk
import pytest

from tether import (
    AgentClient,
    AgentOptions,
    Message,
    PermissionResultAllow,
    ResultMessage,
    ToolResultBlock,
    UserMessage,
    create_sdk_mcp_server,
    tool,
)
from tether._vocabulary.permissions import PERMISSION_MODES, PermissionMode, validate_permission_mode
from tether.errors import ConfigurationError
from tether.testing import MemoryStore, ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio


class Asked:
    """A `can_use_tool` that allows everything and remembers what it was asked about."""

    def __init__(self) -> None:
        self.tools: list[str] = []

    async def __call__(self, name: str, tool_input: dict[str, Any], context: Any) -> PermissionResultAllow:
        self.tools.append(name)
        return PermissionResultAllow()


@tool("lookup", "Look a word up", {"word": str}, annotations={"readOnlyHint": True})
async def lookup(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": f"{args['word']}: a word"}]}


@tool("launch", "Launch something", {"what": str})
async def launch(args: dict[str, Any]) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": f"launched {args['what']}"}]}


SERVERS = {"dict": create_sdk_mcp_server("dict", tools=[lookup, launch])}


async def run(project: Path, replies: list[Any], **options: Any) -> list[Message]:
    model = ScriptedModel([*replies, "done"])
    agent_options = AgentOptions(model=model, cwd=project, session_store=MemoryStore(), mcp_servers=SERVERS, **options)
    return (await run_query("go", agent_options)).messages


def outcomes(messages: list[Message]) -> dict[str, bool]:
    """Each tool call's id -> whether it ran (its result is not an error)."""
    found: dict[str, bool] = {}
    for message in messages:
        if isinstance(message, UserMessage) and isinstance(message.content, list):
            for block in message.content:
                if isinstance(block, ToolResultBlock):
                    found[block.tool_use_id] = not block.is_error
    return found


def denials_of(messages: list[Message]) -> list[dict[str, Any]]:
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.permission_denials is not None
    return result.permission_denials


CALLS = [
    tool_use_reply("Read", {"file_path": "notes.txt"}, id="read"),
    tool_use_reply("Write", {"file_path": "out.txt", "content": "hi\n"}, id="write"),
    tool_use_reply("Bash", {"command": "echo hi"}, id="bash"),
    tool_use_reply("mcp__dict__lookup", {"word": "tether"}, id="lookup"),
    tool_use_reply("mcp__dict__launch", {"what": "rocket"}, id="launch"),
]


@pytest.fixture
def notes(project: Path) -> Path:
    (project / "notes.txt").write_text("notes\n")
    return project


def test_the_modes_are_the_sdks() -> None:
    assert set(PERMISSION_MODES) == set(get_args(claude_agent_sdk.PermissionMode))
    for mode in PERMISSION_MODES:
        assert validate_permission_mode(mode) == mode
    with pytest.raises(ConfigurationError, match=r"unknown permission mode 'yolo'.*dontAsk"):
        validate_permission_mode("yolo")


async def test_dont_ask_denies_what_no_rule_allows_without_calling_can_use_tool(notes: Path) -> None:
    asked = Asked()

    messages = await run(notes, CALLS, permission_mode="dontAsk", can_use_tool=asked, allowed_tools=["Bash(echo *)"])

    assert outcomes(messages) == {"read": True, "write": False, "bash": True, "lookup": False, "launch": False}
    assert asked.tools == []
    denials = denials_of(messages)
    assert [d["tool_use_id"] for d in denials] == ["write", "lookup", "launch"]
    assert denials[0] == {"tool_name": "Write", "tool_use_id": "write", "tool_input": CALLS[1].content[0]["input"]}
    assert not (notes / "out.txt").exists()


async def test_auto_approves_reads_edits_and_read_only_tools_and_asks_about_the_rest(notes: Path) -> None:
    asked = Asked()

    messages = await run(notes, CALLS, permission_mode="auto", can_use_tool=asked)

    assert outcomes(messages) == {"read": True, "write": True, "bash": True, "lookup": True, "launch": True}
    assert asked.tools == ["Bash", "mcp__dict__launch"]
    assert (notes / "out.txt").read_text() == "hi\n"


async def test_auto_without_can_use_tool_denies_what_it_does_not_approve(notes: Path) -> None:
    messages = await run(notes, CALLS, permission_mode="auto")

    assert outcomes(messages) == {"read": True, "write": True, "bash": False, "lookup": True, "launch": False}
    assert [d["tool_name"] for d in denials_of(messages)] == ["Bash", "mcp__dict__launch"]


async def test_auto_does_not_approve_edits_outside_the_working_directories(notes: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.txt"
    write = tool_use_reply("Write", {"file_path": str(outside), "content": "x"}, id="write")

    messages = await run(notes, [write], permission_mode="auto")

    assert outcomes(messages) == {"write": False}
    assert not outside.exists()


async def test_switching_to_dont_ask_on_a_client_stops_asking(notes: Path) -> None:
    asked = Asked()
    model = ScriptedModel(
        [
            tool_use_reply("Bash", {"command": "echo one"}, id="first"),
            "one",
            tool_use_reply("Bash", {"command": "echo two"}, id="second"),
            "two",
        ]
    )
    mode: PermissionMode = "dontAsk"
    options = AgentOptions(model=model, cwd=notes, session_store=MemoryStore(), can_use_tool=asked)
    async with AgentClient(options) as client:
        await client.query("first")
        first = [m async for m in client.receive_response()]
        await client.set_permission_mode(mode)
        await client.query("second")
        second = [m async for m in client.receive_response()]

    assert (outcomes(first), outcomes(second)) == ({"first": True}, {"second": False})
    assert asked.tools == ["Bash"]
