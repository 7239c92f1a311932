"""`permission_prompt_tool_name`: a call that needs asking is put to an MCP tool, as Claude Code does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tether import (
    AgentOptions,
    ConfigurationError,
    Message,
    PermissionResultAllow,
    ResultMessage,
    ToolResultBlock,
    UserMessage,
    create_sdk_mcp_server,
    tool,
)
from tether.testing import MemoryStore, ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

ASKED: list[dict[str, Any]] = []
ANSWERS: list[Any] = []


@tool("approve", "Answers permission prompts", {"tool_name": str, "input": dict, "tool_use_id": str})
async def approve(args: dict[str, Any]) -> dict[str, Any]:
    ASKED.append(args)
    answer = ANSWERS.pop(0)
    text = answer if isinstance(answer, str) else json.dumps(answer)
    return {"content": [{"type": "text", "text": text}]}


SERVERS = {"gate": create_sdk_mcp_server("gate", tools=[approve])}


async def run(project: Path, *answers: Any, **options: Any) -> tuple[list[Message], Path]:
    ASKED.clear()
    ANSWERS[:] = answers
    target = project / "notes.txt"
    model = ScriptedModel([tool_use_reply("Write", {"file_path": str(target), "content": "hello"}, id="w1"), "done"])
    settings: dict[str, Any] = {"permission_prompt_tool_name": "mcp__gate__approve", **options}
    agent_options = AgentOptions(model=model, cwd=project, session_store=MemoryStore(), mcp_servers=SERVERS, **settings)
    return (await run_query("write the notes", agent_options)).messages, target


def results(messages: list[Message]) -> list[ToolResultBlock]:
    return [
        block
        for m in messages
        if isinstance(m, UserMessage) and isinstance(m.content, list)
        for block in m.content
        if isinstance(block, ToolResultBlock)
    ]


async def test_the_tool_is_asked_and_its_allow_runs_the_call_with_its_input(project: Path) -> None:
    changed = {"file_path": str(project / "notes.txt"), "content": "approved text"}
    messages, target = await run(project, {"behavior": "allow", "updatedInput": changed})

    asked = {"tool_name": "Write", "input": {"file_path": str(target), "content": "hello"}, "tool_use_id": "w1"}
    assert ASKED == [asked]
    assert target.read_text() == "approved text"
    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "done"


async def test_its_deny_refuses_the_call_with_its_message(project: Path) -> None:
    messages, target = await run(project, {"behavior": "deny", "message": "not on Fridays"})

    assert not target.exists()
    [refused] = results(messages)
    assert refused.is_error and "not on Fridays" in str(refused.content)


@pytest.mark.parametrize(
    ("answer", "problem"),
    [("yes please", "did not answer with JSON"), ({"behavior": "maybe"}, "not a behavior of allow or deny")],
)
async def test_an_answer_it_cannot_read_refuses_the_call_naming_the_problem(
    project: Path, answer: Any, problem: str
) -> None:
    messages, target = await run(project, answer)

    assert not target.exists()
    [refused] = results(messages)
    assert refused.is_error and problem in str(refused.content) and "mcp__gate__approve" in str(refused.content)


async def test_rules_still_decide_first(project: Path) -> None:
    messages, target = await run(project, allowed_tools=["Write"])

    assert ASKED == [] and target.read_text() == "hello"
    assert isinstance(messages[-1], ResultMessage) and not messages[-1].is_error


async def test_a_name_that_is_no_tool_or_one_given_with_can_use_tool_fails_at_start(project: Path) -> None:
    with pytest.raises(ConfigurationError, match="names no tool"):
        await run(project, permission_prompt_tool_name="mcp__gate__nothing")

    async def allow(name: str, tool_input: dict[str, Any], context: Any) -> PermissionResultAllow:
        return PermissionResultAllow()

    with pytest.raises(ConfigurationError, match="cannot both be set"):
        await run(project, can_use_tool=allow)
