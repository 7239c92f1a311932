"""Anything raised while deciding, validating or converting one tool call becomes that call's
`is_error` result: the model is told, and the run goes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tether import (
    AgentOptions,
    HookContext,
    HookInput,
    HookMatcher,
    PreToolUseHookSpecificOutput,
    ResultMessage,
    SyncHookJSONOutput,
    create_sdk_mcp_server,
    tool,
)
from tether.agent.tool_runner import ToolRunner
from tether.testing import ScriptedModel, run_query, tool_use_reply
from tether.tools.base import ToolContext, ToolResult

pytestmark = pytest.mark.anyio


def tool_result_sent(model: ScriptedModel) -> dict[str, Any]:
    """The tool result the model got back for its (only) call."""
    (block,) = model.last_request.messages[-1]["content"]
    assert block["type"] == "tool_result"
    return dict(block)


async def answered(model: ScriptedModel, project: Path, **extra: Any) -> dict[str, Any]:
    """Run `model` (a call, then an answer) to success; the tool result the model was sent."""
    messages = (await run_query("Go on.", AgentOptions(model=model, cwd=project, **extra))).messages
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.subtype == "success" and result.result == "Noted."
    return tool_result_sent(model)


@pytest.mark.parametrize("mode", ["default", "acceptEdits", "plan", "bypassPermissions", "dontAsk"])
@pytest.mark.parametrize(
    ("name", "tool_input", "where"),
    [
        ("Read", {"file_path": "notes\x00.txt"}, "file_path"),
        ("Write", {"file_path": "a\x00b", "content": "x"}, "file_path"),
        ("Grep", {"pattern": "x", "path": "src\x00"}, "path"),
        ("Glob", {"pattern": "*\x00.py"}, "pattern"),
    ],
)
async def test_a_nul_byte_in_a_path_is_refused_cleanly_in_every_mode(
    project: Path, mode: Any, name: str, tool_input: dict[str, Any], where: str
) -> None:
    model = ScriptedModel([tool_use_reply(name, tool_input), "Noted."])
    block = await answered(model, project, permission_mode=mode)
    assert block["is_error"] is True
    assert (
        block["content"] == f"InputValidationError: {name} was called with invalid input: {where} contains a NUL byte"
    )


async def test_a_hook_that_puts_a_nul_byte_in_the_input_is_refused(project: Path) -> None:
    async def poison(data: HookInput, tool_use_id: str | None, context: HookContext) -> SyncHookJSONOutput:
        output: PreToolUseHookSpecificOutput = {"hookEventName": "PreToolUse", "updatedInput": {"file_path": "x\x00"}}
        return {"hookSpecificOutput": output}

    model = ScriptedModel([tool_use_reply("Read", {"file_path": "notes.txt"}), "Noted."])
    hooks = {"PreToolUse": [HookMatcher(matcher="Read", hooks=[poison])]}
    block = await answered(model, project, hooks=hooks, allowed_tools=["Read"])
    assert block["is_error"] is True and "file_path contains a NUL byte" in block["content"]


async def test_a_schema_that_cannot_be_checked_is_the_calls_error(project: Path) -> None:
    """The tool's own schema has a pattern that is not a regular expression: checking raises."""

    @tool("lookup", "Look a code up", {"type": "object", "properties": {"code": {"type": "string", "pattern": "("}}})
    async def lookup(args: dict[str, Any]) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": "found"}]}

    servers = {"codes": create_sdk_mcp_server("codes", tools=[lookup])}
    model = ScriptedModel([tool_use_reply("mcp__codes__lookup", {"code": "A1"}), "Noted."])
    block = await answered(model, project, mcp_servers=servers, permission_mode="bypassPermissions")
    assert block["is_error"] is True
    assert block["content"].startswith("mcp__codes__lookup was not run: checking the call failed (error: ")


class _Odd:
    """A tool of one's own that returns `value` as is."""

    def __init__(self, value: Any) -> None:
        self.value = value
        self.name = "odd"
        self.description = "returns what it was given"
        self.input_schema: dict[str, Any] = {"type": "object"}

    async def call(self, input: dict[str, Any], context: ToolContext) -> Any:
        return self.value


async def test_a_tool_that_returns_no_tool_result_is_its_calls_error(tmp_path: Path) -> None:
    runner = ToolRunner({"odd": _Odd({"content": "hi"})}, tmp_path, "s1")
    outcome = await runner.run({"type": "tool_use", "id": "t1", "name": "odd", "input": {}})
    assert outcome.result == {
        "type": "tool_result",
        "tool_use_id": "t1",
        "content": "odd returned dict, not a ToolResult",
        "is_error": True,
    }


async def test_content_that_is_not_blocks_is_sent_as_json_text(tmp_path: Path) -> None:
    runner = ToolRunner({"odd": _Odd(ToolResult([1, {"a": 2}]))}, tmp_path, "s1")  # type: ignore[list-item]
    outcome = await runner.run({"type": "tool_use", "id": "t1", "name": "odd", "input": {}})
    assert outcome.result == {"type": "tool_result", "tool_use_id": "t1", "content": '[1, {"a": 2}]'}
