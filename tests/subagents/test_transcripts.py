"""Subagent transcripts are session data: stored under the parent in every store, listed, read, forked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.subagents.team import Team, delegate, result_of, result_text, tool_results

from tether import (
    AgentDefinition,
    AgentOptions,
    AssistantMessage,
    SystemMessage,
    TaskStartedMessage,
    UserMessage,
    fork_session_via_store,
    get_session_messages_from_store,
    get_subagent_messages_from_store,
    list_subagents_from_store,
    project_key_for_directory,
    query,
)
from tether.models.base import ModelRequest
from tether.testing import Reply, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

REVIEWER = "You review code."
AGENTS = {"reviewer": AgentDefinition(description="Reviews code", prompt=REVIEWER, tools=["Read"])}


def main(request: ModelRequest) -> Reply:
    """Delegates the first prompt; reports a subagent's answer; answers any later prompt with 'ok'."""
    results = tool_results(request)
    if results:
        return "The reviewer says: " + result_text(results[0])
    if len(request.messages) == 1:
        return delegate("reviewer", "Review app.py", id="toolu_agent1")
    return "ok"


def reviewer(request: ModelRequest) -> Reply:
    if len(request.messages) == 1:
        return tool_use_reply("Read", {"file_path": "app.py"})
    return "app.py looks fine."


def subagent_key(session_id: str, agent_id: str, cwd: Path) -> dict[str, Any]:
    return {
        "project_key": project_key_for_directory(cwd),
        "session_id": session_id,
        "subpath": f"subagents/agent-{agent_id}",
    }


async def test_a_subagent_transcript_is_stored_before_its_messages_are_yielded(any_store: Any, app: Path) -> None:
    team = Team(main, {REVIEWER: reviewer})
    options = AgentOptions(model=team.model, cwd=app, agents=AGENTS, session_store=any_store)
    session_id = agent_id = ""
    checked = 0
    async for message in query(prompt="Review my code", options=options):
        if isinstance(message, SystemMessage) and message.subtype == "init":
            session_id = message.data["session_id"]
        if isinstance(message, TaskStartedMessage):
            agent_id = message.task_id
        if isinstance(message, (AssistantMessage, UserMessage)) and message.parent_tool_use_id:
            stored = await any_store.load(subagent_key(session_id, agent_id, app))
            assert message.uuid in [entry.get("uuid") for entry in stored]
            checked += 1
    assert checked == 2

    assert await list_subagents_from_store(any_store, session_id, str(app)) == [agent_id]
    said = await get_subagent_messages_from_store(any_store, session_id, agent_id, str(app))
    assert [m.type for m in said] == ["user", "assistant", "user", "assistant"]
    assert said[0].message["content"] == "Review app.py" or said[0].message["content"][0]["text"] == "Review app.py"
    assert said[-1].message["content"][0]["text"] == "app.py looks fine."
    assert {m.parent_tool_use_id for m in said} == {"toolu_agent1"} and {m.session_id for m in said} == {session_id}

    entries = await any_store.load(subagent_key(session_id, agent_id, app))
    metadata = [entry for entry in entries if entry["type"] == "agent_metadata"]  # JsonlStore: its sidecar, read last
    assert len(metadata) == 1
    assert metadata[0]["agentType"] == "reviewer" and metadata[0]["toolUseId"] == "toolu_agent1"
    chain = [entry for entry in entries if entry.get("uuid")]
    assert all(e["isSidechain"] is True and e["agentId"] == agent_id and e["sessionId"] == session_id for e in chain)

    main_messages = await get_session_messages_from_store(any_store, session_id, str(app))
    assert len(main_messages) == 4  # the prompt, the Agent call, its result, the answer: no subagent message


async def test_a_fork_keeps_the_subagent_transcripts_it_holds_the_call_of(any_store: Any, app: Path) -> None:
    team = Team(main, {REVIEWER: reviewer})
    first = (
        await run_query(
            "Review my code", AgentOptions(model=team.model, cwd=app, agents=AGENTS, session_store=any_store)
        )
    ).messages
    session_id = first[0].data["session_id"]  # type: ignore[union-attr]
    agent_id = next(m.task_id for m in first if isinstance(m, TaskStartedMessage))
    original = await get_subagent_messages_from_store(any_store, session_id, agent_id, str(app))

    options = AgentOptions(
        model=team.model, cwd=app, agents=AGENTS, session_store=any_store, resume=session_id, fork_session=True
    )
    forked = (await run_query("Anything else?", options)).messages

    assert result_of(forked).result == "ok"
    fork_id = forked[0].data["session_id"]  # type: ignore[union-attr]
    assert fork_id != session_id
    assert await list_subagents_from_store(any_store, fork_id, str(app)) == [agent_id]
    copied = await get_subagent_messages_from_store(any_store, fork_id, agent_id, str(app))
    assert [m.message for m in copied] == [m.message for m in original]
    assert await list_subagents_from_store(any_store, session_id, str(app)) == [agent_id]  # the source keeps its own

    prompt_uuid = (await get_session_messages_from_store(any_store, session_id, str(app)))[0].uuid
    early = await fork_session_via_store(any_store, session_id, str(app), up_to_message_id=prompt_uuid)
    assert await list_subagents_from_store(any_store, early.session_id, str(app)) == []  # forked before the call
