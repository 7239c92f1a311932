"""The SDK's `examples/filesystem_agents.py` on tether: a subagent defined in `.claude/agents/`.

The example runs in the SDK's source tree, whose `.claude/agents/test-agent.md` it expects; here
the directory above the ported example gets that file. The model delegates the prompt to the agent,
so the file's agent is not only listed in `init` but runs.
"""

from __future__ import annotations

from typing import Any

from tests.fakes import Reply, ToolUse
from tests.sdk_examples.harness import Examples, result_text, system_text, tool_results

PROMPT = "Say hello in exactly 3 words"
AGENT_PROMPT = "Greet the user in three words"
TEST_AGENT = """---
name: test-agent
description: A test agent that greets people
tools: Read
---
You are a friendly greeter. Answer with a short greeting.
"""


def delegate(body: dict[str, Any]) -> Reply:
    agent_tool = next(tool for tool in body["tools"] if tool["name"] == "Agent")
    assert "- test-agent: A test agent that greets people" in agent_tool["description"]
    call = {"description": "Greet", "prompt": AGENT_PROMPT, "subagent_type": "test-agent"}
    return Reply([ToolUse("Agent", call)])


def relay(body: dict[str, Any]) -> str:
    (block,) = tool_results(body)
    return result_text(block)


def test_filesystem_agents(examples: Examples) -> None:
    agents = examples.workdir.parent / ".claude" / "agents"
    agents.mkdir(parents=True)
    (agents / "test-agent.md").write_text(TEST_AGENT, encoding="utf-8")

    run = examples.run(
        "filesystem_agents.py", script={PROMPT: [delegate, relay], AGENT_PROMPT: ["Hello there, friend!"]}
    ).check()

    out = run.stdout
    assert "Init message received. Agents loaded: ['test-agent']\n" in out
    assert "Assistant: Hello there, friend!\n" in out
    assert "SUCCESS: Received full response (init, assistant, result)\n" in out
    assert "SUCCESS: test-agent was loaded from filesystem\n" in out
    (greeter,) = run.requests_for(AGENT_PROMPT)
    assert system_text(greeter).startswith("You are a friendly greeter.")
    assert [tool["name"] for tool in greeter["tools"]] == ["Read"]
