"""A subagent that fills its context compacts like the main agent, in its own transcript: the
boundary, the summary and the kept tail are the subagent's entries (`isSidechain`, `agentId`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.subagents.team import Team, delegate, result_of, result_text, tool_results, turn

from tether import (
    AgentDefinition,
    AgentOptions,
    MemoryStore,
    SystemMessage,
    TaskStartedMessage,
    get_subagent_messages_from_store,
    project_key_for_directory,
)
from tether._vocabulary.store import SessionKey
from tether.agent.compaction import SUMMARY_PROMPT
from tether.agent.subagents import subagent_subpath
from tether.models.base import ModelRequest
from tether.sessions.entries import is_compact_boundary
from tether.testing import Reply, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

READER = "You read files."
READS = 8


def main(request: ModelRequest) -> Reply:
    if SUMMARY_PROMPT.splitlines()[0] in json.dumps(request.messages):  # compaction's summary call
        return "<summary>The reader read notes.txt several times.</summary>"
    if turn(request) == 0:
        return delegate("reader", "Read notes.txt again and again", id="toolu_agent1")
    return "Reader: " + result_text(tool_results(request)[0])


class Reader:
    """Reads notes.txt `READS` times (counted here: compaction shortens the history), then answers."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self, request: ModelRequest) -> Reply:
        if self.reads < READS:
            self.reads += 1
            return tool_use_reply("Read", {"file_path": "notes.txt"})
        return "Read it all."


async def test_a_subagent_compacts_in_its_own_transcript(project: Path) -> None:
    (project / "notes.txt").write_text("A line of notes to fill the context window.\n" * 40)
    store = MemoryStore()
    team = Team(main, {READER: Reader()})
    agents = {"reader": AgentDefinition(description="Reads files", prompt=READER, tools=["Read"])}
    options = AgentOptions(model=team.model, cwd=project, agents=agents, session_store=store, context_window=4_000)

    messages = (await run_query("go", options)).messages

    assert result_of(messages).result == "Reader: Read it all."
    session_id = messages[0].data["session_id"]  # type: ignore[union-attr]
    agent_id = next(m.task_id for m in messages if isinstance(m, TaskStartedMessage))
    key = SessionKey(
        project_key=project_key_for_directory(project), session_id=session_id, subpath=subagent_subpath(agent_id)
    )
    entries = await store.load(key) or []
    boundaries = [entry for entry in entries if is_compact_boundary(entry)]
    assert boundaries, "the subagent did not compact"
    chain = [entry for entry in entries if entry.get("uuid")]
    assert all(entry["isSidechain"] is True and entry["agentId"] == agent_id for entry in chain)
    summary = next(entry for entry in entries if entry.get("isCompactSummary"))
    assert summary["parentUuid"] == boundaries[0]["uuid"]
    assert any(isinstance(m, SystemMessage) and m.subtype == "compact_boundary" for m in messages)

    said = await get_subagent_messages_from_store(store, session_id, agent_id, str(project))
    assert "The reader read notes.txt" in json.dumps(said[0].message)  # the history goes on from the summary
    assert said[-1].message["content"][0]["text"] == "Read it all."
