"""The Agent tool on the scripted model: delegation, what the caller sees, concurrency, limits."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.subagents.team import Team, delegate, result_of, result_text, tool_results, turn

from tether import (
    AgentClient,
    AgentDefinition,
    AgentOptions,
    AssistantMessage,
    ConfigurationError,
    MemoryStore,
    SystemMessage,
    TaskNotificationMessage,
    TaskProgressMessage,
    TaskStartedMessage,
    TaskUpdatedMessage,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
    create_sdk_mcp_server,
    query,
    tool,
)
from tether.models.base import ModelRequest
from tether.testing import Reply, ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

REVIEWER = "You review code."
REVIEWER_AGENT = AgentDefinition(description="Reviews code for bugs", prompt=REVIEWER, tools=["Read", "Grep"])


def main_delegates_then_reports(request: ModelRequest) -> Reply:
    if turn(request) == 0:
        return delegate("reviewer", "Review app.py", description="review app.py", id="toolu_agent1")
    return "The reviewer says: " + result_text(tool_results(request)[0])


def reviewer_reads_then_answers(request: ModelRequest) -> Reply:
    if turn(request) == 0:
        return tool_use_reply("Read", {"file_path": "app.py"}, text="Let me read it.")
    return "app.py looks fine."


async def test_the_subagent_answers_through_the_agent_tool(app: Path) -> None:
    team = Team(main_delegates_then_reports, {REVIEWER: reviewer_reads_then_answers})
    options = AgentOptions(model=team.model, cwd=app, agents={"reviewer": REVIEWER_AGENT})

    messages = (await run_query("Please review my code", options)).messages

    result = result_of(messages)
    assert result.subtype == "success"
    assert result.result == "The reviewer says: app.py looks fine."
    init = messages[0]
    assert isinstance(init, SystemMessage) and init.data["agents"] == ["reviewer"] and "Agent" in init.data["tools"]
    agent_tool = next(tool for tool in team.model.requests[0].tools if tool.name == "Agent")
    assert "- reviewer: Reviews code for bugs" in agent_tool.description
    assert agent_tool.input_schema["required"] == ["description", "prompt", "subagent_type"]

    sub_requests = team.requests_of(REVIEWER)
    assert [tool.name for tool in sub_requests[0].tools] == ["Read", "Grep"]  # its own tools, no Agent tool
    assert sub_requests[0].messages == [{"role": "user", "content": [{"type": "text", "text": "Review app.py"}]}]
    assert sub_requests[0].system == REVIEWER


async def test_the_caller_sees_the_subagent_tool_calls_and_the_task_lifecycle(app: Path) -> None:
    team = Team(main_delegates_then_reports, {REVIEWER: reviewer_reads_then_answers})
    options = AgentOptions(model=team.model, cwd=app, agents={"reviewer": REVIEWER_AGENT})

    messages = (await run_query("Please review my code", options)).messages

    nested = [m for m in messages if getattr(m, "parent_tool_use_id", None) == "toolu_agent1"]
    assert [type(m).__name__ for m in nested] == ["AssistantMessage", "UserMessage"]
    call, results = nested
    assert isinstance(call, AssistantMessage) and [type(b) for b in call.content] == [ToolUseBlock]  # no text
    assert isinstance(results, UserMessage) and isinstance(results.content[0], ToolResultBlock)
    tasks = [
        m
        for m in messages
        if isinstance(m, (TaskStartedMessage, TaskProgressMessage, TaskUpdatedMessage, TaskNotificationMessage))
    ]
    assert [m.subtype for m in tasks] == ["task_started", "task_progress", "task_updated", "task_notification"]
    started, progress, updated, notification = tasks
    assert isinstance(started, TaskStartedMessage) and started.tool_use_id == "toolu_agent1"
    assert started.description == "review app.py" and started.task_type == "local_agent"
    assert isinstance(progress, TaskProgressMessage) and progress.last_tool_name == "Read"
    assert progress.usage["tool_uses"] == 1 and progress.usage["total_tokens"] > 0
    assert isinstance(updated, TaskUpdatedMessage) and updated.status == "completed"
    assert isinstance(notification, TaskNotificationMessage) and notification.status == "completed"
    assert {m.task_id for m in tasks} == {started.task_id}
    assert all(m.session_id == init_session(messages) for m in tasks)
    assert started.data["task_id"] == started.task_id and notification.data["summary"] == notification.summary
    # the lifecycle ends before the parent's tool result
    tool_result = next(
        m
        for m in messages
        if isinstance(m, UserMessage)
        and m.parent_tool_use_id is None
        and isinstance(m.content, list)
        and isinstance(m.content[0], ToolResultBlock)
    )
    assert messages.index(notification) < messages.index(tool_result)
    assert tool_result.tool_use_result is not None and tool_result.tool_use_result["agentId"] == started.task_id


def init_session(messages: Sequence[object]) -> str:
    init = messages[0]
    assert isinstance(init, SystemMessage)
    return str(init.data["session_id"])


async def test_forward_subagent_text_forwards_its_text_too(app: Path) -> None:
    team = Team(main_delegates_then_reports, {REVIEWER: reviewer_reads_then_answers})
    options = AgentOptions(model=team.model, cwd=app, agents={"reviewer": REVIEWER_AGENT}, forward_subagent_text=True)

    messages = (await run_query("Please review my code", options)).messages

    nested = [m for m in messages if getattr(m, "parent_tool_use_id", None) == "toolu_agent1"]
    assert [type(m).__name__ for m in nested] == ["AssistantMessage", "UserMessage", "AssistantMessage"]
    call, _, answer = nested
    assert isinstance(call, AssistantMessage) and call.content[0] == TextBlock("Let me read it.")
    assert isinstance(answer, AssistantMessage) and answer.content == [TextBlock("app.py looks fine.")]


async def test_two_delegations_in_one_reply_run_concurrently(project: Path) -> None:
    entered: list[str] = []
    both_in = anyio.Event()

    def main(request: ModelRequest) -> Reply:
        if turn(request) == 0:
            calls = [delegate("counter", f"count {name}").content[0] for name in ("apples", "pears")]
            return [calls[0], {**calls[1], "id": "toolu_second"}]
        return " / ".join(result_text(block) for block in tool_results(request))

    async def counter(request: ModelRequest) -> Reply:
        fruit = request.messages[0]["content"][0]["text"].split()[-1]
        entered.append(fruit)
        if len(entered) == 2:
            both_in.set()
        with anyio.fail_after(20):  # each waits for the other: run one after the other, they would never end
            await both_in.wait()
        return f"{fruit}: 3"

    team = Team(main, {"You count.": counter})
    agents = {"counter": AgentDefinition(description="Counts things", prompt="You count.", tools=[])}

    messages = (
        await run_query("Count apples and pears", AgentOptions(model=team.model, cwd=project, agents=agents))
    ).messages

    assert sorted(entered) == ["apples", "pears"]
    assert result_of(messages).result == "apples: 3 / pears: 3"  # results in the order of the calls
    started = [m for m in messages if isinstance(m, TaskStartedMessage)]
    ended = [m for m in messages if isinstance(m, TaskNotificationMessage)]
    assert len(started) == 2 and len(ended) == 2
    assert messages.index(started[1]) < messages.index(ended[0])  # the second started before the first ended


async def test_subagent_usage_and_cost_add_to_the_result(app: Path) -> None:
    team = Team(main_delegates_then_reports, {REVIEWER: reviewer_reads_then_answers}, cost_per_reply=0.25)
    options = AgentOptions(model=team.model, cwd=app, agents={"reviewer": REVIEWER_AGENT}, forward_subagent_text=True)

    messages = (await run_query("Please review my code", options)).messages

    result = result_of(messages)
    replies = [m for m in messages if isinstance(m, AssistantMessage)]
    assert len(replies) == 4  # two of the main agent, two of the reviewer
    assert result.total_cost_usd == pytest.approx(1.0)
    assert result.usage is not None and result.model_usage is not None
    output = sum(m.usage["output_tokens"] for m in replies if m.usage)
    assert result.usage["output_tokens"] == output
    assert result.model_usage["team-model"]["outputTokens"] == output
    assert result.model_usage["team-model"]["costUSD"] == pytest.approx(1.0)


async def test_an_unknown_agent_type_is_an_error_result_naming_the_agents(project: Path) -> None:
    def main(request: ModelRequest) -> Reply:
        if turn(request) == 0:
            return delegate("nobody", "do it")
        return result_text(tool_results(request)[0])

    team = Team(main, {})
    options = AgentOptions(model=team.model, cwd=project, agents={"reviewer": REVIEWER_AGENT})

    result = (await run_query("go", options)).result

    assert result.result == "Agent type 'nobody' not found. Available agents: reviewer"


async def test_a_malformed_definition_fails_at_start_naming_the_agent_and_field(project: Path) -> None:
    bad = AgentDefinition(description="x", prompt="y", maxTurns=0)
    team = Team(main_delegates_then_reports, {})

    with pytest.raises(ConfigurationError, match=r"agents\['reviewer'\]: invalid maxTurns=0"):
        await run_query("go", AgentOptions(model=team.model, cwd=project, agents={"reviewer": bad}))
    assert team.model.requests == []


async def test_a_dict_definition_is_accepted_as_the_sdk_sends_it(app: Path) -> None:
    team = Team(main_delegates_then_reports, {REVIEWER: reviewer_reads_then_answers})
    agents = {"reviewer": {"description": "Reviews code", "prompt": REVIEWER, "tools": ["Read"]}}

    result = (await run_query("review", AgentOptions(model=team.model, cwd=app, agents=agents))).result

    assert result.result == "The reviewer says: app.py looks fine."


async def test_max_turns_of_a_subagent_ends_it_with_an_error_result(app: Path) -> None:
    def endless_reader(request: ModelRequest) -> Reply:
        return tool_use_reply("Read", {"file_path": "app.py"})

    team = Team(main_delegates_then_reports, {REVIEWER: endless_reader})
    agents = {"reviewer": AgentDefinition(description="Reviews", prompt=REVIEWER, tools=["Read"], maxTurns=2)}

    messages = (await run_query("review", AgentOptions(model=team.model, cwd=app, agents=agents))).messages

    assert len(team.requests_of(REVIEWER)) == 2
    assert "did not finish: reached max_turns (2)" in (result_of(messages).result or "")
    notification = next(m for m in messages if isinstance(m, TaskNotificationMessage))
    assert notification.status == "failed"


async def test_tools_and_disallowed_tools_pick_the_subagent_tools(project: Path) -> None:
    team = Team(main_delegates_then_reports, {REVIEWER: lambda request: "done"})
    agents = {
        "reviewer": AgentDefinition(description="Reviews", prompt=REVIEWER, disallowedTools=["Bash", "Write"]),
    }

    await run_query(
        "review", AgentOptions(model=team.model, cwd=project, agents=agents, tools=["Read", "Bash", "Write"])
    )

    assert [tool.name for tool in team.requests_of(REVIEWER)[0].tools] == ["Read"]


async def test_plan_mode_of_a_subagent_keeps_it_from_writing(project: Path) -> None:
    def writer(request: ModelRequest) -> Reply:
        if turn(request) == 0:
            return tool_use_reply("Write", {"file_path": "out.txt", "content": "x"})
        return result_text(tool_results(request)[0])

    team = Team(main_delegates_then_reports, {REVIEWER: writer})
    agents = {"reviewer": AgentDefinition(description="Reviews", prompt=REVIEWER, permissionMode="plan")}

    result = (await run_query("review", AgentOptions(model=team.model, cwd=project, agents=agents))).result

    assert "plan mode" in (result.result or "")
    assert not (project / "out.txt").exists()


async def test_a_deny_rule_naming_the_agent_type_stops_the_delegation(project: Path) -> None:
    team = Team(main_delegates_then_reports, {REVIEWER: reviewer_reads_then_answers})
    options = AgentOptions(
        model=team.model, cwd=project, agents={"reviewer": REVIEWER_AGENT}, disallowed_tools=["Agent(reviewer)"]
    )

    result = (await run_query("review", options)).result

    assert "denied by the rule Agent(reviewer)" in (result.result or "")
    assert team.requests_of(REVIEWER) == []
    assert result.permission_denials and result.permission_denials[0]["tool_name"] == "Agent"


async def test_memory_puts_the_agent_notes_in_its_prompt_and_lets_it_write_them(project: Path) -> None:
    notes = project / ".claude" / "agent-memory" / "reviewer"
    notes.mkdir(parents=True)
    (notes / "MEMORY.md").write_text("- the team prefers tabs\n")

    def remembering(request: ModelRequest) -> Reply:
        if turn(request) == 0:
            return tool_use_reply("Write", {"file_path": str(notes / "style.md"), "content": "tabs"})
        return "noted"

    team = Team(main_delegates_then_reports, {REVIEWER: remembering})
    agents = {"reviewer": AgentDefinition(description="Reviews", prompt=REVIEWER, tools=["Grep"], memory="project")}

    result = (
        await run_query(
            "review", AgentOptions(model=team.model, cwd=project, agents=agents, permission_mode="acceptEdits")
        )
    ).result

    system = team.requests_of(REVIEWER)[0].system or ""
    assert "- the team prefers tabs" in system and str(notes) in system
    assert result.result == "The reviewer says: noted"
    assert (notes / "style.md").read_text() == "tabs"


async def test_the_older_task_name_of_the_tool_is_accepted(app: Path) -> None:
    def main(request: ModelRequest) -> Reply:
        if turn(request) == 0:
            return tool_use_reply(
                "Task", {"description": "review", "prompt": "Review app.py", "subagent_type": "reviewer"}
            )
        return "The reviewer says: " + result_text(tool_results(request)[0])

    team = Team(main, {REVIEWER: reviewer_reads_then_answers})

    messages = (
        await run_query("review", AgentOptions(model=team.model, cwd=app, agents={"reviewer": REVIEWER_AGENT}))
    ).messages

    assert result_of(messages).result == "The reviewer says: app.py looks fine."
    assert any(isinstance(m, TaskNotificationMessage) and m.status == "completed" for m in messages)


async def test_an_interrupt_stops_a_running_subagent_and_the_session_goes_on(project: Path) -> None:
    thinking = anyio.Event()

    async def stuck(request: ModelRequest) -> Reply:
        thinking.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    def main(request: ModelRequest) -> Reply:
        if turn(request) == 0 and request.messages[0]["content"][0]["text"] == "review":
            return delegate("reviewer", "Review app.py", id="toolu_agent1")
        return "ok"

    team = Team(main, {REVIEWER: stuck})
    options = AgentOptions(model=team.model, cwd=project, agents={"reviewer": REVIEWER_AGENT})
    async with AgentClient(options) as client:
        await client.query("review")
        seen = []
        async for message in client.receive_response():
            seen.append(message)
            if isinstance(message, TaskStartedMessage):
                await thinking.wait()
                await client.interrupt()
        await client.query("never mind")
        after = [m async for m in client.receive_response()]

    stopped = result_of(seen)
    assert stopped.is_error and stopped.terminal_reason == "aborted_tools"
    assert result_of(after).result == "ok"
    history = team.model.requests[-1].messages
    closed = history[2]["content"][0]
    assert closed["type"] == "tool_result" and closed["tool_use_id"] == "toolu_agent1" and closed["is_error"]


async def test_mcp_servers_name_the_parent_servers_whose_tools_the_subagent_gets(project: Path) -> None:
    @tool("add", "Adds two numbers", {"a": int, "b": int})
    async def add(args: dict[str, int]) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": str(args["a"] + args["b"])}]}

    servers = {"calc": create_sdk_mcp_server("calc", tools=[add]), "other": create_sdk_mcp_server("other", tools=[])}
    team = Team(main_delegates_then_reports, {REVIEWER: lambda request: "done"})
    agents = {"reviewer": AgentDefinition(description="Reviews", prompt=REVIEWER, tools=["Read"], mcpServers=["calc"])}

    await run_query("review", AgentOptions(model=team.model, cwd=project, agents=agents, mcp_servers=servers))

    assert [t.name for t in team.requests_of(REVIEWER)[0].tools] == ["Read", "mcp__calc__add"]

    unknown = {"reviewer": AgentDefinition(description="Reviews", prompt=REVIEWER, mcpServers=["nowhere"])}
    result = (await run_query("review", AgentOptions(model=team.model, cwd=project, agents=unknown))).result
    assert "MCP server 'nowhere' is not one of this session's mcp_servers" in (result.result or "")


async def test_without_persistence_a_subagent_runs_and_nothing_is_stored(app: Path) -> None:
    team = Team(main_delegates_then_reports, {REVIEWER: reviewer_reads_then_answers})
    store = MemoryStore()
    options = AgentOptions(
        model=team.model, cwd=app, agents={"reviewer": REVIEWER_AGENT}, persist_session=False, session_store=store
    )

    result = (await run_query("review", options)).result

    assert result.result == "The reviewer says: app.py looks fine."
    assert store.size == 0


async def test_a_caller_that_stops_reading_mid_subagent_loses_nothing_of_its_own(app: Path) -> None:
    started = anyio.Event()

    async def slow_reviewer(request: ModelRequest) -> Reply:
        started.set()
        await anyio.sleep(30)  # still working when the caller walks away
        return "never"

    team = Team(main_delegates_then_reports, {REVIEWER: slow_reviewer})
    store = MemoryStore()
    options = AgentOptions(model=team.model, cwd=app, agents={"reviewer": REVIEWER_AGENT}, session_store=store)
    stream = query(prompt="Please review my code", options=options)
    session_id = None
    async for message in stream:
        if isinstance(message, SystemMessage) and message.subtype == "init":
            session_id = message.data["session_id"]
        if isinstance(message, TaskStartedMessage):
            break  # the subagent runs on; the generator is left to be closed
    await started.wait()
    del stream
    gc.collect()
    await anyio.wait_all_tasks_blocked()  # the generator's close has run: it must not have cancelled the subagent

    resumed = AgentOptions(model=ScriptedModel(["fine"]), cwd=app, session_store=store, resume=session_id)
    assert (await run_query("and now?", resumed)).result.result == "fine"
