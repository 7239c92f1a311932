"""SubagentStart and SubagentStop hooks, and the subagent fields of tool hooks inside a subagent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import types as sdk_types
from tests.subagents.team import Team, delegate, result_of, result_text, tool_results, turn

from tether import AgentDefinition, AgentOptions, HookEvent, HookMatcher, PermissionResultAllow, TaskStartedMessage
from tether.models.base import ModelRequest
from tether.testing import Reply, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

REVIEWER = "You review code."
AGENTS = {"reviewer": AgentDefinition(description="Reviews code", prompt=REVIEWER, tools=["Read"])}


def main(request: ModelRequest) -> Reply:
    if turn(request) == 0:
        return delegate("reviewer", "Review app.py", id="toolu_agent1")
    return "Reviewer: " + result_text(tool_results(request)[0])


def reviewer(request: ModelRequest) -> Reply:
    if turn(request) == 0:
        return tool_use_reply("Read", {"file_path": "app.py"})
    return f"fine (turn {turn(request)})"


class Recorder:
    """Hook callbacks that record their inputs and answer with `answers[event]` (a list, one per call)."""

    def __init__(self, answers: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.inputs: list[dict[str, Any]] = []
        self.answers = answers or {}

    async def __call__(self, input_data: Any, tool_use_id: str | None, context: Any) -> Any:
        self.inputs.append(input_data)
        answers = self.answers.get(input_data["hook_event_name"], [])
        return answers.pop(0) if answers else {}

    def of(self, event: str) -> list[dict[str, Any]]:
        return [data for data in self.inputs if data["hook_event_name"] == event]


def hooks(recorder: Recorder, *events: HookEvent, matcher: str | None = None) -> dict[HookEvent, list[HookMatcher]]:
    return {event: [HookMatcher(matcher=matcher, hooks=[recorder])] for event in events}


async def test_subagent_start_and_stop_fire_with_the_sdk_fields(app: Path) -> None:
    recorder = Recorder()
    team = Team(main, {REVIEWER: reviewer})
    options = AgentOptions(
        model=team.model, cwd=app, agents=AGENTS, hooks=hooks(recorder, "SubagentStart", "SubagentStop", "Stop")
    )

    messages = (await run_query("review", options)).messages

    agent_id = next(m.task_id for m in messages if isinstance(m, TaskStartedMessage))
    session_id = messages[0].data["session_id"]  # type: ignore[union-attr]
    (start,) = recorder.of("SubagentStart")
    assert start["agent_id"] == agent_id and start["agent_type"] == "reviewer" and start["session_id"] == session_id
    assert {"cwd", "transcript_path", "permission_mode"} <= set(start)
    (stop,) = recorder.of("SubagentStop")
    assert stop["agent_id"] == agent_id and stop["agent_type"] == "reviewer"
    assert stop["stop_hook_active"] is False and stop["last_assistant_message"] == "fine (turn 1)"
    assert stop["agent_transcript_path"] == ""  # the store keeps no file (a JsonlStore would)
    for data in (start, stop):
        sdk_type = getattr(sdk_types, f"{data['hook_event_name']}HookInput")
        assert sdk_type.__required_keys__ <= data.keys() <= sdk_type.__required_keys__ | sdk_type.__optional_keys__
    (main_stop,) = recorder.of("Stop")  # Stop is the main agent's only
    assert "agent_id" not in main_stop
    assert [data["hook_event_name"] for data in recorder.inputs] == ["SubagentStart", "SubagentStop", "Stop"]


async def test_subagent_start_context_reaches_the_subagent_prompt(app: Path) -> None:
    context = {"hookSpecificOutput": {"hookEventName": "SubagentStart", "additionalContext": "Be brief."}}
    recorder = Recorder({"SubagentStart": [context]})
    team = Team(main, {REVIEWER: reviewer})
    options = AgentOptions(model=team.model, cwd=app, agents=AGENTS, hooks=hooks(recorder, "SubagentStart"))

    await run_query("review", options)

    first = team.requests_of(REVIEWER)[0].messages[0]["content"]
    assert [block["text"] for block in first] == ["Review app.py", "Be brief."]


async def test_a_subagent_start_matcher_selects_by_agent_type(app: Path) -> None:
    recorder = Recorder()
    team = Team(main, {REVIEWER: reviewer})
    options = AgentOptions(
        model=team.model, cwd=app, agents=AGENTS, hooks=hooks(recorder, "SubagentStart", matcher="tester")
    )

    await run_query("review", options)

    assert recorder.inputs == []


async def test_a_subagent_stop_block_makes_the_subagent_go_on(app: Path) -> None:
    block = {"decision": "block", "reason": "Check the tests too."}
    recorder = Recorder({"SubagentStop": [block]})
    team = Team(main, {REVIEWER: reviewer})
    options = AgentOptions(model=team.model, cwd=app, agents=AGENTS, hooks=hooks(recorder, "SubagentStop"))

    result = (await run_query("review", options)).result

    assert result.result == "Reviewer: fine (turn 2)"
    last = team.requests_of(REVIEWER)[-1].messages[-1]
    assert last["content"][-1]["text"] == "Check the tests too."
    assert [data["stop_hook_active"] for data in recorder.of("SubagentStop")] == [False, True]


async def test_tool_hooks_inside_a_subagent_say_which_subagent(app: Path) -> None:
    recorder = Recorder()
    team = Team(main, {REVIEWER: reviewer})
    options = AgentOptions(model=team.model, cwd=app, agents=AGENTS, hooks=hooks(recorder, "PreToolUse", "PostToolUse"))

    messages = (await run_query("review", options)).messages

    agent_id = next(m.task_id for m in messages if isinstance(m, TaskStartedMessage))
    pre = recorder.of("PreToolUse")
    assert [data["tool_name"] for data in pre] == ["Agent", "Read"]
    assert "agent_id" not in pre[0]  # the main agent's call
    assert pre[1]["agent_id"] == agent_id and pre[1]["agent_type"] == "reviewer"
    post_read = next(data for data in recorder.of("PostToolUse") if data["tool_name"] == "Read")
    assert post_read["agent_id"] == agent_id
    post_agent = next(data for data in recorder.of("PostToolUse") if data["tool_name"] == "Agent")
    assert post_agent["tool_response"]["agentId"] == agent_id and post_agent["tool_response"]["status"] == "completed"


async def test_a_pre_tool_use_hook_can_deny_a_delegation(app: Path) -> None:
    deny = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "no reviews today",
        }
    }
    recorder = Recorder({"PreToolUse": [deny]})
    team = Team(main, {REVIEWER: reviewer})
    options = AgentOptions(
        model=team.model, cwd=app, agents=AGENTS, hooks=hooks(recorder, "PreToolUse", matcher="Agent")
    )

    result = (await run_query("review", options)).result

    assert "no reviews today" in (result.result or "")
    assert team.requests_of(REVIEWER) == []


async def test_a_deferred_delegation_runs_at_the_next_prompt_with_its_messages_and_cost(app: Path) -> None:
    decisions = [{"permissionDecision": "defer"}, {"permissionDecision": "allow"}]

    async def defer_once(input_data: Any, tool_use_id: str | None, context: Any) -> Any:
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse", **decisions.pop(0)}}

    def main_then_ok(request: ModelRequest) -> Reply:
        results = tool_results(request)
        if results:
            return "Reviewer: " + result_text(results[0])
        return delegate("reviewer", "Review app.py", id="toolu_agent1") if turn(request) == 0 else "ok"

    team = Team(main_then_ok, {REVIEWER: reviewer}, cost_per_reply=0.5)
    hooks_option: dict[HookEvent, list[HookMatcher]] = {
        "PreToolUse": [HookMatcher(matcher="Agent", hooks=[defer_once])]
    }
    first = (
        await run_query("review", AgentOptions(model=team.model, cwd=app, agents=AGENTS, hooks=hooks_option))
    ).messages
    assert result_of(first).terminal_reason == "tool_deferred" and team.requests_of(REVIEWER) == []

    session_id = result_of(first).session_id
    options = AgentOptions(model=team.model, cwd=app, agents=AGENTS, hooks=hooks_option, resume=session_id)
    later = (await run_query("go on", options)).messages

    nested = [m for m in later if getattr(m, "parent_tool_use_id", None) == "toolu_agent1"]
    assert [type(m).__name__ for m in nested] == ["AssistantMessage", "UserMessage"]
    assert len(team.requests_of(REVIEWER)) == 2
    assert result_of(later).total_cost_usd == pytest.approx(0.5 * 4)  # the first run's reply, 2 reviewer, 1 main


async def test_can_use_tool_is_told_which_subagent_asks(project: Path) -> None:
    asked: list[tuple[str, str | None]] = []

    async def allow(tool_name: str, tool_input: dict[str, Any], context: Any) -> PermissionResultAllow:
        asked.append((tool_name, context.agent_id))
        return PermissionResultAllow()

    def writer(request: ModelRequest) -> Reply:
        if turn(request) == 0:
            return tool_use_reply("Bash", {"command": "echo hi"})
        return "done"

    team = Team(main, {REVIEWER: writer})
    agents = {"reviewer": AgentDefinition(description="Reviews code", prompt=REVIEWER, tools=["Bash"])}

    messages = (
        await run_query("review", AgentOptions(model=team.model, cwd=project, agents=agents, can_use_tool=allow))
    ).messages

    agent_id = next(m.task_id for m in messages if isinstance(m, TaskStartedMessage))
    assert asked == [("Bash", agent_id)]  # the Agent call itself needs no permission
