"""`PreCompact` hooks: fired with the trigger and instructions, able to veto and to add instructions;
`/compact [instructions]` and the settings that turn compaction off."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import claude_agent_sdk.types as sdk_types
import pytest
from tests.compaction.support import ASKS_FOR_SUMMARY, WINDOW_ENV, boundaries, result_of, statuses, summaries

from tether import (
    AgentClient,
    AgentOptions,
    ConfigurationError,
    HookEvent,
    HookMatcher,
    MemoryStore,
    Message,
    ResultMessage,
)
from tether.models.base import ModelRequest
from tether.testing import FunctionModel

pytestmark = pytest.mark.anyio

WINDOW = 1_500


def summarising(request: ModelRequest) -> str:
    """Answers briefly; asked for a summary, gives one that names the instructions it was given."""
    said = json.dumps(request.messages)
    if ASKS_FOR_SUMMARY in said:
        return "<summary>Numbers were told. Instructions seen: " + str("Additional instructions" in said) + "</summary>"
    return "Noted."


async def talk(options: AgentOptions, prompts: list[str]) -> tuple[list[Message], str]:
    messages: list[Message] = []
    async with AgentClient(options) as client:
        for prompt in prompts:
            await client.query(prompt)
            async for message in client.receive_response():
                messages.append(message)
        session_id = client.session_id or ""
    return messages, session_id


def turns(count: int) -> list[str]:
    return [f"Turn {n}: the number is {n * 11}. " + "Words to fill the context window. " * 16 for n in range(count)]


def recorder(calls: list[dict[str, Any]], output: dict[str, Any] | None = None) -> Any:
    async def hook(input_data: Any, tool_use_id: str | None, context: Any) -> dict[str, Any]:
        calls.append(dict(input_data))
        return output or {}

    return hook


def options_with(
    model: FunctionModel, hooks: dict[HookEvent, list[HookMatcher]] | None, project: Path, **env: str
) -> AgentOptions:
    return AgentOptions(
        model=model,
        tools=[],
        cwd=project,
        session_store=MemoryStore(),
        hooks=hooks,
        env={WINDOW_ENV: str(WINDOW), **env},
    )


async def test_pre_compact_fires_with_the_trigger_and_the_sdk_input(project: Path) -> None:
    calls: list[dict[str, Any]] = []
    model = FunctionModel(summarising)
    hooks: dict[HookEvent, list[HookMatcher]] = {"PreCompact": [HookMatcher(hooks=[recorder(calls)])]}
    messages, session_id = await talk(options_with(model, hooks, project), [*turns(12), "/compact keep every number"])

    triggers = [call["trigger"] for call in calls]
    assert triggers[-1] == "manual" and set(triggers[:-1]) == {"auto"} and len(triggers) >= 2
    assert calls[0]["custom_instructions"] is None
    assert calls[-1]["custom_instructions"] == "keep every number"
    sdk_type = sdk_types.PreCompactHookInput
    for call in calls:
        assert sdk_type.__required_keys__ <= call.keys() <= sdk_type.__required_keys__ | sdk_type.__optional_keys__
        assert call["hook_event_name"] == "PreCompact" and call["session_id"] == session_id
    assert [b.data["compact_metadata"]["trigger"] for b in boundaries(messages)] == triggers
    # The manual one's instructions reached the model; its run answered with no model turn.
    asked = [r for r in model.requests if ASKS_FOR_SUMMARY in json.dumps(r.messages)]
    assert "keep every number" in json.dumps(asked[-1].messages)
    assert "keep every number" not in json.dumps(asked[0].messages)
    last = result_of(messages)
    assert (last.subtype, last.num_turns, last.is_error) == ("success", 0, False)
    # The summary request's usage counts in the run's (cumulative) usage.
    before = [m for m in messages if isinstance(m, ResultMessage)][-2]
    assert last.usage and before.usage and last.usage["input_tokens"] > before.usage["input_tokens"]


async def test_a_hook_veto_stops_auto_compaction_and_nothing_is_summarised(project: Path) -> None:
    calls: list[dict[str, Any]] = []
    model = FunctionModel(summarising)
    veto = {"decision": "block", "reason": "keep everything verbatim"}
    hooks: dict[HookEvent, list[HookMatcher]] = {
        "PreCompact": [HookMatcher(matcher="auto", hooks=[recorder(calls, veto)])]
    }
    options = options_with(model, hooks, project)
    messages, session_id = await talk(options, turns(14))

    assert len(calls) >= 2 and {c["trigger"] for c in calls} == {"auto"}  # asked again at each request
    assert boundaries(messages) == [] and statuses(messages) == [] and summaries(messages) == []
    assert not any(ASKS_FOR_SUMMARY in json.dumps(r.messages) for r in model.requests)
    assert "Turn 0:" in json.dumps(model.requests[-1].messages)  # the whole history, as the hook wanted
    assert all(isinstance(m, ResultMessage) and not m.is_error for m in messages if isinstance(m, ResultMessage))
    # The hook matched `auto` only: `/compact` is not vetoed.
    more, _ = await talk(dataclasses.replace(options, resume=session_id), ["/compact"])
    assert len(boundaries(more)) == 1 and len(calls) == len([c for c in calls if c["trigger"] == "auto"])


async def test_a_hook_can_veto_compact_and_add_instructions(project: Path) -> None:
    model = FunctionModel(summarising)
    veto: dict[HookEvent, list[HookMatcher]] = {
        "PreCompact": [HookMatcher(hooks=[recorder([], {"continue_": False, "stopReason": "not today"})])]
    }
    messages, _ = await talk(options_with(model, veto, project), ["hello", "/compact"])
    result = result_of(messages)
    assert result.is_error and "not today" in (result.result or "")
    assert boundaries(messages) == []

    added = {"hookSpecificOutput": {"hookEventName": "PreCompact", "additionalContext": "Keep the user's name."}}
    helper: dict[HookEvent, list[HookMatcher]] = {"PreCompact": [HookMatcher(hooks=[recorder([], added)])]}
    messages, _ = await talk(options_with(model, helper, project), ["hello, I am Ada", "/compact"])
    assert len(boundaries(messages)) == 1
    asked = [r for r in model.requests if ASKS_FOR_SUMMARY in json.dumps(r.messages)]
    assert "Keep the user's name." in json.dumps(asked[-1].messages)


async def test_compaction_can_be_turned_off_as_in_claude_code(project: Path) -> None:
    model = FunctionModel(summarising)
    messages, _ = await talk(options_with(model, None, project, DISABLE_AUTO_COMPACT="1"), [*turns(12), "/compact"])
    compacted = boundaries(messages)
    assert [b.data["compact_metadata"]["trigger"] for b in compacted] == ["manual"]  # only when asked

    model = FunctionModel(summarising)
    messages, _ = await talk(options_with(model, None, project, DISABLE_COMPACT="1"), [*turns(12), "/compact"])
    assert boundaries(messages) == [] and result_of(messages).is_error
    assert "DISABLE_COMPACT" in (result_of(messages).result or "")
    assert "Turn 0:" in json.dumps(model.requests[-1].messages)

    # With verbatim_prompts a `/compact` prompt is a prompt like any other.
    model = FunctionModel(summarising)
    options = AgentOptions(model=model, tools=[], cwd=project, session_store=MemoryStore(), verbatim_prompts=True)
    messages, _ = await talk(options, ["/compact"])
    assert boundaries(messages) == [] and json.dumps(model.requests[0].messages).count("/compact") == 1


async def test_the_percentage_override_compacts_earlier(project: Path) -> None:
    first: dict[str, int] = {}
    for percent in ("", "50"):
        model = FunctionModel(summarising)
        messages, _ = await talk(options_with(model, None, project, CLAUDE_AUTOCOMPACT_PCT_OVERRIDE=percent), turns(12))
        results = [m for m in messages if isinstance(m, ResultMessage)]
        before = [m for m in messages[: messages.index(boundaries(messages)[0])] if isinstance(m, ResultMessage)]
        first[percent] = len(before)
        assert len(results) == 12
    assert first["50"] < first[""]


@pytest.mark.parametrize(
    ("name", "value"),
    [("CLAUDE_AUTOCOMPACT_PCT_OVERRIDE", "150"), ("CLAUDE_AUTOCOMPACT_PCT_OVERRIDE", "soon"), (WINDOW_ENV, "-5")],
)
async def test_a_malformed_setting_fails_at_start(project: Path, name: str, value: str) -> None:
    model = FunctionModel(summarising)
    store = MemoryStore()
    options = AgentOptions(model=model, tools=[], cwd=project, session_store=store, env={name: value})
    with pytest.raises(ConfigurationError, match=name):
        await talk(options, ["hi"])
    assert model.requests == []
