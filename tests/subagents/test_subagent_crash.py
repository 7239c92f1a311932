"""A parent killed (SIGKILL) while its subagent runs: the transcript survives, the session resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

from tether import (
    AgentDefinition,
    AgentOptions,
    ResultMessage,
    get_subagent_messages,
    list_subagents,
)
from tether.sessions.session import INTERRUPTED_TOOL_RESULT
from tether.testing import ScriptedModel, run_query

pytestmark = pytest.mark.anyio

CHILD = textwrap.dedent(
    """
    import anyio
    from tether import AgentDefinition, AgentOptions, TaskStartedMessage, query
    from tether.testing import FunctionModel, tool_use_reply

    async def reply(request):
        if request.system.startswith("You research."):
            print("SUBAGENT-THINKING", flush=True)
            await anyio.sleep_forever()  # killed while the subagent waits for its model
        call = {"description": "research", "prompt": "Find the answer", "subagent_type": "researcher"}
        return tool_use_reply("Agent", call, id="toolu_agent1")

    async def main():
        agents = {"researcher": AgentDefinition(description="Researches", prompt="You research.")}
        options = AgentOptions(model=FunctionModel(reply), agents=agents)
        async for message in query(prompt="Research it", options=options):
            if getattr(message, "subtype", None) == "init":
                print("SESSION", message.data["session_id"], flush=True)
            if isinstance(message, TaskStartedMessage):
                print("AGENT", message.task_id, flush=True)

    anyio.run(main)
    """
)


def run_until_the_subagent_thinks(project: Path) -> dict[str, str]:
    """Start the child; once its subagent waits for the model (and it said so), kill it; what it printed."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], cwd=project, stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    seen: dict[str, str] = {}
    try:
        assert child.stdout is not None
        for line in child.stdout:
            word, _, value = line.strip().partition(" ")
            seen[word] = value
            if {"SUBAGENT-THINKING", "AGENT"} <= set(seen):
                break
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return seen


async def test_a_parent_killed_mid_subagent_resumes_and_keeps_the_transcript(project: Path) -> None:
    seen = await anyio.to_thread.run_sync(run_until_the_subagent_thinks, project)
    session_id, agent_id = seen["SESSION"], seen["AGENT"]

    assert list_subagents(session_id, directory=str(project)) == [agent_id]
    said = get_subagent_messages(session_id, agent_id, directory=str(project))
    assert [m.type for m in said] == ["user"] and said[0].parent_tool_use_id == "toolu_agent1"

    model = ScriptedModel(["The research was cut off; let me start again."])
    agents = {"researcher": AgentDefinition(description="Researches", prompt="You research.")}
    options = AgentOptions(model=model, resume=session_id, cwd=project, agents=agents)
    messages = (await run_query("What happened?", options)).messages

    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.subtype == "success"
    history = model.requests[0].messages
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    call = history[1]["content"][-1]
    assert call["type"] == "tool_use" and call["name"] == "Agent" and call["id"] == "toolu_agent1"
    closed = history[2]["content"][0]
    assert closed["tool_use_id"] == "toolu_agent1" and closed["is_error"] is True
    assert closed["content"] == INTERRUPTED_TOOL_RESULT
    assert history[2]["content"][-1] == {"type": "text", "text": "What happened?"}
    assert list_subagents(session_id, directory=str(project)) == [agent_id]
