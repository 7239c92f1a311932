"""PermissionRequest and Notification hooks: they fire where tether would ask `can_use_tool`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.hooks.hook_helpers import recorder, result_of, tool_results

from tether import AgentOptions, HookMatcher, PermissionMode, PermissionResultAllow
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio


def deciding(decision: dict[str, Any], calls: list[dict[str, Any]]) -> Any:
    async def hook(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
        calls.append(input_data)
        return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}

    return hook


def asker(asked: list[str], order: list[str] | None = None) -> Any:
    async def can_use_tool(tool_name: str, tool_input: dict[str, Any], context: Any) -> PermissionResultAllow:
        asked.append(tool_name)
        if order is not None:
            order.append("can_use_tool")
        return PermissionResultAllow()

    return can_use_tool


def touch(name: str, id: str) -> Any:
    return tool_use_reply("Bash", {"command": f"touch {name}"}, id=id)


async def test_a_permission_request_hook_allows_instead_of_asking(project: Path, sqlite_store: SQLiteStore) -> None:
    calls: list[dict[str, Any]] = []
    asked: list[str] = []
    messages = (
        await run_query(
            "make a file",
            AgentOptions(
                model=ScriptedModel([touch("made.txt", "bash"), "ok"]),
                cwd=project,
                can_use_tool=asker(asked),
                hooks={
                    "PermissionRequest": [HookMatcher(matcher="Bash", hooks=[deciding({"behavior": "allow"}, calls)])]
                },
                session_store=sqlite_store,
            ),
        )
    ).messages
    assert (project / "made.txt").exists() and asked == []
    assert calls[0]["tool_name"] == "Bash" and calls[0]["tool_input"] == {"command": "touch made.txt"}
    assert result_of(messages).permission_denials == []


async def test_a_permission_request_hook_denies_with_interrupt(project: Path, sqlite_store: SQLiteStore) -> None:
    calls: list[dict[str, Any]] = []
    decision = {"behavior": "deny", "message": "no shell today", "interrupt": True}
    model = ScriptedModel([touch("made.txt", "bash"), "never"])
    messages = (
        await run_query(
            "make a file",
            AgentOptions(
                model=model,
                cwd=project,
                hooks={"PermissionRequest": [HookMatcher(hooks=[deciding(decision, calls)])]},
                session_store=sqlite_store,
            ),
        )
    ).messages
    assert not (project / "made.txt").exists()
    assert tool_results(messages)["bash"] == {"content": "no shell today", "is_error": True}
    result = result_of(messages)
    assert result.is_error and result.permission_denials is not None
    assert [d["tool_use_id"] for d in result.permission_denials] == ["bash"]
    assert len(model.requests) == 1  # interrupt: the model was not asked again


async def test_updated_permissions_from_the_hook_apply_to_later_calls(project: Path, sqlite_store: SQLiteStore) -> None:
    calls: list[dict[str, Any]] = []

    async def allow_always(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
        calls.append(input_data)
        decision = {"behavior": "allow", "updatedPermissions": input_data["permission_suggestions"]}
        return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": decision}}

    model = ScriptedModel([touch("one.txt", "first"), touch("one.txt", "second"), "ok"])
    await run_query(
        "twice",
        AgentOptions(
            model=model,
            cwd=project,
            hooks={"PermissionRequest": [HookMatcher(hooks=[allow_always])]},
            session_store=sqlite_store,
        ),
    )
    assert len(calls) == 1  # the rule it added allowed the second, identical call


async def test_without_a_decision_a_notification_fires_then_can_use_tool_is_asked(
    project: Path, sqlite_store: SQLiteStore
) -> None:
    order: list[str] = []
    asked: list[str] = []
    events: list[tuple[str, dict[str, Any], str | None]] = []

    async def note(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
        order.append(input_data["hook_event_name"])
        events.append((input_data["hook_event_name"], input_data, tool_use_id))
        if input_data["hook_event_name"] == "Notification":
            return {"hookSpecificOutput": {"hookEventName": "Notification", "additionalContext": "the user was paged"}}
        return {}

    messages = (
        await run_query(
            "make a file",
            AgentOptions(
                model=ScriptedModel([touch("made.txt", "bash"), "ok"]),
                cwd=project,
                can_use_tool=asker(asked, order),
                hooks={
                    "PermissionRequest": [HookMatcher(hooks=[note])],
                    "Notification": [HookMatcher(matcher="permission_prompt", hooks=[note])],
                },
                session_store=sqlite_store,
            ),
        )
    ).messages
    assert order == ["PermissionRequest", "Notification", "can_use_tool"]
    notification = events[1][1]
    assert notification["notification_type"] == "permission_prompt" and "Bash" in notification["message"]
    assert events[1][2] == "bash"
    assert (project / "made.txt").exists()
    assert "the user was paged" in tool_results(messages)["bash"]["content"]


async def test_without_a_decision_and_without_can_use_tool_the_call_is_denied(
    project: Path, sqlite_store: SQLiteStore
) -> None:
    calls: list[tuple[str, dict[str, Any], str | None]] = []
    messages = (
        await run_query(
            "make a file",
            AgentOptions(
                model=ScriptedModel([touch("made.txt", "bash"), "ok"]),
                cwd=project,
                hooks={"PermissionRequest": [HookMatcher(hooks=[recorder(calls)])]},
                session_store=sqlite_store,
            ),
        )
    ).messages
    assert len(calls) == 1 and not (project / "made.txt").exists()
    assert "nobody to ask" in tool_results(messages)["bash"]["content"]


@pytest.mark.parametrize(
    ("permission_mode", "call"),
    [
        ("default", tool_use_reply("Read", {"file_path": "x.txt"}, id="read")),  # allowed by the mode
        ("bypassPermissions", tool_use_reply("Bash", {"command": "true"}, id="bash")),
        ("dontAsk", tool_use_reply("Bash", {"command": "true"}, id="bash")),  # denied without asking
    ],
)
async def test_it_does_not_fire_when_nothing_would_be_asked(
    project: Path, sqlite_store: SQLiteStore, permission_mode: PermissionMode, call: Any
) -> None:
    calls: list[tuple[str, dict[str, Any], str | None]] = []
    asked: list[str] = []
    await run_query(
        "go",
        AgentOptions(
            model=ScriptedModel([call, "ok"]),
            cwd=project,
            permission_mode=permission_mode,
            can_use_tool=asker(asked),
            hooks={
                "PermissionRequest": [HookMatcher(hooks=[recorder(calls)])],
                "Notification": [HookMatcher(hooks=[recorder(calls)])],
            },
            session_store=sqlite_store,
        ),
    )
    assert calls == [] and asked == []
