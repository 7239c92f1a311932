"""`include_hook_events=True`: a `HookEventMessage` when each hook starts and when it answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.hooks.hook_helpers import result_of

from tether import AgentOptions, HookEventMessage, HookMatcher, SystemMessage, UserMessage, get_session_messages_async
from tether.options import UNSUPPORTED_OPTIONS
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def hook_events_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    # Until the options list stops rejecting include_hook_events (a no-op once it does).
    monkeypatch.delitem(UNSUPPORTED_OPTIONS, "include_hook_events", raising=False)


async def allow_write(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
    return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"}}


async def broken(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
    raise ValueError("broken hook")


async def test_each_hook_run_is_a_started_and_a_response_message_before_what_follows(
    project: Path, sqlite_store: SQLiteStore
) -> None:
    model = ScriptedModel([tool_use_reply("Write", {"file_path": "a.txt", "content": "a"}, id="w"), "Done."])
    messages = (
        await run_query(
            "write",
            AgentOptions(
                model=model,
                cwd=project,
                include_hook_events=True,
                hooks={
                    "PreToolUse": [HookMatcher(matcher="Write", hooks=[allow_write])],
                    "Stop": [HookMatcher(hooks=[broken])],
                },
                session_store=sqlite_store,
            ),
        )
    ).messages
    hook_messages = [m for m in messages if isinstance(m, HookEventMessage)]
    assert [(m.subtype, m.hook_event_name) for m in hook_messages] == [
        ("hook_started", "PreToolUse"),
        ("hook_response", "PreToolUse"),
        ("hook_started", "Stop"),
        ("hook_response", "Stop"),
    ]
    assert all(isinstance(m, SystemMessage) for m in hook_messages)
    session_id = result_of(messages).session_id
    started, answered = hook_messages[0].data, hook_messages[1].data
    assert started["type"] == "system" and started["hook_name"] == "PreToolUse:Write"
    assert started["hook_id"] == answered["hook_id"] and started["uuid"] != answered["uuid"]
    assert hook_messages[0].session_id == session_id and hook_messages[0].uuid == started["uuid"]
    assert answered["outcome"] == "success" and answered["stdout"] == answered["stderr"] == ""
    assert json.loads(answered["output"])["hookSpecificOutput"]["permissionDecision"] == "allow"
    failed = hook_messages[3].data
    assert failed["outcome"] == "error" and "ValueError: broken hook" in failed["stderr"] and failed["output"] == ""
    # the PreToolUse pair comes before the tool result it decided, the Stop pair before the result
    positions = {id(m): i for i, m in enumerate(messages)}
    tool_result = next(m for m in messages if isinstance(m, UserMessage))
    assert positions[id(hook_messages[1])] < positions[id(tool_result)] < positions[id(hook_messages[2])]
    assert positions[id(hook_messages[3])] == len(messages) - 2
    # like the SDK's CLI, tether streams hook events but does not write them into the transcript
    stored = await get_session_messages_async(session_id, store=sqlite_store)
    assert "hook_started" not in str([s.message for s in stored])


async def test_without_the_option_only_session_start_hooks_are_reported(
    project: Path, sqlite_store: SQLiteStore
) -> None:
    async def nothing(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
        return {}

    messages = (
        await run_query(
            "hi",
            AgentOptions(
                model=ScriptedModel(["hello"]),
                cwd=project,
                hooks={
                    "SessionStart": [HookMatcher(hooks=[nothing])],
                    "UserPromptSubmit": [HookMatcher(hooks=[nothing])],
                },
                session_store=sqlite_store,
            ),
        )
    ).messages
    hook_messages = [m for m in messages if isinstance(m, HookEventMessage)]
    assert [(m.subtype, m.hook_event_name) for m in hook_messages] == [
        ("hook_started", "SessionStart"),
        ("hook_response", "SessionStart"),
    ]
    assert hook_messages[0].data["hook_name"] == "SessionStart:startup"
