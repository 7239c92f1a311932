"""`permissionDecision: "defer"`: the run ends before the call, and the session's next run resumes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.hooks.hook_helpers import result_of, tool_results

from tether import AgentClient, AgentOptions, DeferredToolUse, HookMatcher, ResultMessage, get_session_messages_async
from tether.sessions.session import INTERRUPTED_TOOL_RESULT
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

QUESTION = {"file_path": "answer.txt", "content": "DRAFT"}


def deciding(decisions: list[dict[str, Any]], calls: list[dict[str, Any]]) -> Any:
    """A PreToolUse hook that answers with the next of `decisions` and records its inputs."""

    async def hook(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
        calls.append({"tool_use_id": tool_use_id, "tool_input": input_data["tool_input"]})
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse", **decisions[len(calls) - 1]}}

    return hook


DEFER = {"permissionDecision": "defer"}
ALLOW_FINAL = {"permissionDecision": "allow", "updatedInput": {"file_path": "answer.txt", "content": "FINAL"}}


def options(project: Path, store: SQLiteStore, model: ScriptedModel, hook: Any, **more: Any) -> dict[str, Any]:
    return {
        "model": model,
        "cwd": project,
        "hooks": {"PreToolUse": [HookMatcher(matcher="Write", hooks=[hook])]},
        "session_store": store,
        **more,
    }


async def test_a_deferred_call_ends_the_run_and_the_resume_runs_it(project: Path, sqlite_store: SQLiteStore) -> None:
    calls: list[dict[str, Any]] = []
    hook = deciding([DEFER, ALLOW_FINAL], calls)
    first = ScriptedModel([tool_use_reply("Write", QUESTION, text="Let me write it.", id="ask")])
    messages = (
        await run_query("write the answer", AgentOptions(**options(project, sqlite_store, first, hook)))
    ).messages

    result = result_of(messages)
    assert (result.subtype, result.is_error) == ("success", False)
    assert result.stop_reason == result.terminal_reason == "tool_deferred"
    assert result.deferred_tool_use == DeferredToolUse(id="ask", name="Write", input=QUESTION)
    assert not (project / "answer.txt").exists()
    stored = await get_session_messages_async(result.session_id, store=sqlite_store)
    assert stored[-1].type == "assistant" and stored[-1].message["content"][-1]["id"] == "ask"

    second = ScriptedModel(["Written."])
    later = (
        await run_query("go on", AgentOptions(**options(project, sqlite_store, second, hook, resume=result.session_id)))
    ).messages

    assert [c["tool_use_id"] for c in calls] == ["ask", "ask"]  # the same call asked its hook again
    assert calls[1]["tool_input"] == QUESTION
    assert (project / "answer.txt").read_text() == "FINAL"
    assert not tool_results(later)["ask"]["is_error"]
    sent = second.requests[0].messages
    assert sent[-2]["content"][-1]["id"] == "ask"
    assert [b["type"] for b in sent[-1]["content"]] == ["tool_result", "text"]
    assert sent[-1]["content"][0]["tool_use_id"] == "ask" and sent[-1]["content"][1]["text"] == "go on"
    assert INTERRUPTED_TOOL_RESULT not in str(sent)
    assert result_of(later).subtype == "success" and result_of(later).deferred_tool_use is None

    third = ScriptedModel(["Still here."])
    await run_query("and now?", AgentOptions(**options(project, sqlite_store, third, hook, resume=result.session_id)))
    assert third.requests[0].messages[:-1] == [
        *sent,
        {"role": "assistant", "content": [{"type": "text", "text": "Written."}]},
    ]
    assert len(calls) == 2  # nothing deferred any more


async def test_a_resumed_call_can_be_deferred_again(project: Path, sqlite_store: SQLiteStore) -> None:
    calls: list[dict[str, Any]] = []
    hook = deciding([DEFER, DEFER, ALLOW_FINAL], calls)
    first = (
        await run_query(
            "write",
            AgentOptions(
                **options(project, sqlite_store, ScriptedModel([tool_use_reply("Write", QUESTION, id="ask")]), hook)
            ),
        )
    ).messages
    session_id = result_of(first).session_id

    idle = ScriptedModel([])
    again = (
        await run_query("not yet", AgentOptions(**options(project, sqlite_store, idle, hook, resume=session_id)))
    ).messages
    assert result_of(again).terminal_reason == "tool_deferred"
    assert result_of(again).deferred_tool_use == DeferredToolUse(id="ask", name="Write", input=QUESTION)
    assert idle.requests == []  # the run ended before the model was asked

    last = ScriptedModel(["Done."])
    await run_query("now", AgentOptions(**options(project, sqlite_store, last, hook, resume=session_id)))
    assert (project / "answer.txt").read_text() == "FINAL"
    sent = last.requests[0].messages
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[-1]["content"][-1]["text"] == "now"  # "not yet" was never sent: its run ended at the call


async def test_a_deferred_call_whose_tool_is_gone_ends_the_resume_with_an_error(
    project: Path, sqlite_store: SQLiteStore
) -> None:
    calls: list[dict[str, Any]] = []
    hook = deciding([DEFER, ALLOW_FINAL], calls)
    first = (
        await run_query(
            "write",
            AgentOptions(
                **options(project, sqlite_store, ScriptedModel([tool_use_reply("Write", QUESTION, id="ask")]), hook)
            ),
        )
    ).messages
    session_id = result_of(first).session_id

    model = ScriptedModel(["never"])
    gone = (
        await run_query(
            "go on", AgentOptions(**options(project, sqlite_store, model, hook, resume=session_id, tools=["Read"]))
        )
    ).messages
    result = result_of(gone)
    assert result.is_error and result.terminal_reason == "tool_deferred_unavailable"
    assert result.deferred_tool_use is not None and result.deferred_tool_use.name == "Write"
    assert model.requests == [] and len(calls) == 1  # ended before the hook was asked

    back = ScriptedModel(["Written."])
    await run_query("go on", AgentOptions(**options(project, sqlite_store, back, hook, resume=session_id)))
    assert (project / "answer.txt").read_text() == "FINAL"  # still pending, so it ran once the tool was back


async def test_defer_is_ignored_when_the_response_has_several_calls(project: Path, sqlite_store: SQLiteStore) -> None:
    calls: list[dict[str, Any]] = []
    hook = deciding([DEFER, DEFER], calls)
    model = ScriptedModel(
        [
            [
                {"type": "tool_use", "id": "a", "name": "Write", "input": {"file_path": "a.txt", "content": "a"}},
                {"type": "tool_use", "id": "b", "name": "Write", "input": {"file_path": "b.txt", "content": "b"}},
            ],
            "Both written.",
        ]
    )
    messages = (
        await run_query(
            "write two", AgentOptions(**options(project, sqlite_store, model, hook, permission_mode="acceptEdits"))
        )
    ).messages
    result = result_of(messages)
    assert result.subtype == "success" and result.deferred_tool_use is None
    assert (project / "a.txt").exists() and (project / "b.txt").exists()  # the normal permission flow allowed them


async def test_a_client_session_runs_its_deferred_call_with_the_next_query(
    project: Path, sqlite_store: SQLiteStore
) -> None:
    calls: list[dict[str, Any]] = []
    hook = deciding([DEFER, ALLOW_FINAL], calls)
    model = ScriptedModel([tool_use_reply("Write", QUESTION, id="ask"), "Written."])
    async with AgentClient(AgentOptions(**options(project, sqlite_store, model, hook))) as client:
        await client.query("write the answer")
        first = [m async for m in client.receive_response()]
        assert isinstance(first[-1], ResultMessage) and first[-1].terminal_reason == "tool_deferred"
        await client.query("the answer is FINAL")
        second = [m async for m in client.receive_response()]
    assert isinstance(second[-1], ResultMessage) and second[-1].result == "Written."
    assert (project / "answer.txt").read_text() == "FINAL"
    assert [b["type"] for b in model.requests[1].messages[-1]["content"]] == ["tool_result", "text"]
