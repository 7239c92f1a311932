"""What every hook is called with, compared with the claude-agent-sdk's own input types."""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Any, cast

import claude_agent_sdk.types as sdk_types
import pytest
from tests.hooks.hook_helpers import recorder, result_of

import tether._vocabulary.hooks as tether_hooks
from tether import (
    AgentOptions,
    HookEvent,
    HookMatcher,
    PermissionResultAllow,
    UnsupportedOptionError,
    list_sessions_async,
)
from tether.agent.hooks import FIRED_EVENTS
from tether.sessions.stores.jsonl import JsonlStore
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

SDK_HOOK_TYPES = sorted(
    name
    for name in dir(sdk_types)
    if name.endswith(("HookInput", "HookSpecificOutput", "HookJSONOutput"))
    or name in ("HookEffort", "BackgroundTaskSummary", "SessionCronSummary", "HookContext")
)

# The optional (NotRequired) keys tether fills, besides the required ones.
FILLED_OPTIONAL_KEYS: dict[str, set[str]] = {
    "PreToolUse": set(),
    "PostToolUse": {"duration_ms"},
    "PostToolUseFailure": {"duration_ms", "is_interrupt"},
    "PermissionRequest": {"permission_suggestions"},
    "Notification": {"title"},
    "UserPromptSubmit": set(),
    "Stop": {"last_assistant_message", "background_tasks", "session_crons"},
    "SessionStart": {"model"},
    "PreCompact": set(),
}
COMPACTION_EVENTS = {"PreCompact"}
SUBAGENT_EVENTS = {"SubagentStart", "SubagentStop"}  # tests/subagents/test_subagent_hooks.py
"""Fired only when the session is compacted: tests/compaction checks their input."""


@pytest.mark.parametrize("name", SDK_HOOK_TYPES)
def test_every_sdk_hook_type_has_the_same_keys(name: str) -> None:
    sdk_type = getattr(sdk_types, name)
    ours = getattr(tether_hooks, name)
    if typing.get_origin(sdk_type) is not None or isinstance(sdk_type, type(int | str)):  # a union
        assert set(typing.get_args(ours)) >= {getattr(tether_hooks, t.__name__) for t in typing.get_args(sdk_type)}
        return
    assert ours.__required_keys__ == sdk_type.__required_keys__
    assert ours.__optional_keys__ == sdk_type.__optional_keys__


def test_hook_matcher_and_events_match_the_sdk() -> None:
    ours = {f.name: (f.default, f.default_factory) for f in dataclasses.fields(HookMatcher)}
    theirs = {f.name: (f.default, f.default_factory) for f in dataclasses.fields(sdk_types.HookMatcher)}
    assert ours == theirs
    assert literal_values(tether_hooks.HookEvent) >= literal_values(sdk_types.HookEvent)
    assert len(literal_values(sdk_types.HookEvent)) == 10


def literal_values(annotation: Any) -> set[str]:
    """The strings of a Literal, or of a union of Literals (the SDK writes HookEvent that way)."""
    if typing.get_origin(annotation) is typing.Literal:
        return set(typing.get_args(annotation))
    return {value for arg in typing.get_args(annotation) for value in literal_values(arg)}


async def test_every_fired_event_gets_the_sdk_input_keys(project: Path, sqlite_store: SQLiteStore) -> None:
    calls: list[tuple[str, dict[str, Any], str | None]] = []
    asked: list[str] = []

    async def allow(tool_name: str, tool_input: dict[str, Any], context: Any) -> PermissionResultAllow:
        asked.append(tool_name)
        return PermissionResultAllow()

    model = ScriptedModel(
        [
            tool_use_reply("Bash", {"command": "echo hi"}, id="bash"),
            tool_use_reply("Read", {"file_path": str(project / "missing.txt")}, id="read"),
            "Done.",
        ]
    )
    messages = (
        await run_query(
            "go",
            AgentOptions(
                model=model,
                cwd=project,
                hooks={cast(HookEvent, event): [HookMatcher(hooks=[recorder(calls)])] for event in FIRED_EVENTS},
                can_use_tool=allow,
                session_store=sqlite_store,
            ),
        )
    ).messages
    result = result_of(messages)
    assert result.subtype == "success" and asked == ["Bash"]
    seen: dict[str, tuple[dict[str, Any], str | None]] = {}
    for event, data, tool_use_id in calls:
        seen.setdefault(event, (data, tool_use_id))  # the first call of each event
    assert set(seen) == set(FIRED_EVENTS) - COMPACTION_EVENTS - SUBAGENT_EVENTS
    prompt_ids = set()
    for event, (data, _) in seen.items():
        if event != "SessionStart":  # tether's own event: the SDK has no input type for it
            sdk_type = getattr(sdk_types, f"{event}HookInput")
            assert sdk_type.__required_keys__ <= data.keys(), event
            assert data.keys() <= sdk_type.__required_keys__ | sdk_type.__optional_keys__, event
            assert {"permission_mode", "prompt_id"} <= data.keys()
            prompt_ids.add(data["prompt_id"])
        assert FILLED_OPTIONAL_KEYS[event] <= data.keys(), event
        assert data["hook_event_name"] == event
        assert data["session_id"] == result.session_id
        assert data["cwd"] == str(project.resolve())
        assert data["transcript_path"] == ""  # a SQLite session has no transcript file
        assert data["permission_mode"] == "default"
    assert len(prompt_ids) == 1 and isinstance(prompt_ids.pop(), str)
    assert seen["PreToolUse"][0]["tool_use_id"] == seen["PreToolUse"][1] == "bash"
    assert seen["PostToolUse"][0]["tool_response"]["stdout"].strip() == "hi"
    assert seen["PostToolUseFailure"][0]["tool_use_id"] == "read"
    assert seen["PermissionRequest"][1] == "bash"
    assert seen["PermissionRequest"][0]["permission_suggestions"][0]["rules"] == [
        {"toolName": "Bash", "ruleContent": "echo hi"}
    ]
    assert seen["Notification"][0]["notification_type"] == "permission_prompt"
    assert seen["Stop"][0]["last_assistant_message"] == "Done."
    assert seen["SessionStart"][0]["source"] == "startup"


async def test_transcript_path_is_the_jsonl_file_of_a_jsonl_session(project: Path, tmp_path: Path) -> None:
    calls: list[tuple[str, dict[str, Any], str | None]] = []
    seen_file: list[str] = []

    async def read_transcript(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
        seen_file.append(Path(input_data["transcript_path"]).read_text())
        return {}

    store = JsonlStore(tmp_path / "claude")
    messages = (
        await run_query(
            "hello transcript",
            AgentOptions(
                model=ScriptedModel(["hi"]),
                cwd=project,
                hooks={
                    "UserPromptSubmit": [HookMatcher(hooks=[recorder(calls)])],
                    "Stop": [HookMatcher(hooks=[read_transcript])],
                },
                session_store=store,
            ),
        )
    ).messages
    path = Path(calls[0][1]["transcript_path"])
    assert path.is_file() and path.stem == result_of(messages).session_id
    assert "hello transcript" in seen_file[0]


@pytest.mark.parametrize("event", ["SessionEnd", "PostCompact"])
async def test_an_event_tether_does_not_fire_fails_at_start_and_stores_nothing(
    event: str, project: Path, sqlite_store: SQLiteStore
) -> None:
    model = ScriptedModel(["never"])
    with pytest.raises(UnsupportedOptionError, match=event) as raised:
        await run_query(
            "hi",
            AgentOptions(
                model=model,
                cwd=project,
                hooks={cast(HookEvent, event): [HookMatcher(hooks=[recorder([])])]},
                session_store=sqlite_store,
            ),
        )
    assert event in raised.value.option
    assert model.requests == []
    assert await list_sessions_async(project, store=sqlite_store) == []
