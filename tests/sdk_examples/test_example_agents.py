"""The SDK's `examples/agents.py` on tether: three runs, each delegating to a subagent of `agents=`.

The model (the fake Anthropic API) delegates each prompt with the Agent tool; the subagent's
requests carry its own prompt, tools and model, and its answer comes back to the main agent.
"""

from __future__ import annotations

from typing import Any

from tests.fakes import Reply, ToolUse
from tests.sdk_examples.harness import Examples, result_text, system_text, tool_results

REVIEW = "Use the code-reviewer agent"
DOCS = "Use the doc-writer agent"
ANALYZE = "Use the analyzer agent"
SUBAGENT_PROMPTS = {
    "code-reviewer": "Review the code in src/claude_agent_sdk/types.py",
    "doc-writer": "Explain what AgentDefinition is used for",
    "analyzer": "Find all Python files in examples/",
}


def delegate(agent: str) -> Reply:
    call = {"description": f"Ask the {agent}", "prompt": SUBAGENT_PROMPTS[agent], "subagent_type": agent}
    return Reply([ToolUse("Agent", call)])


def relay(body: dict[str, Any]) -> str:
    (block,) = tool_results(body)
    assert not block.get("is_error"), block
    return f"The subagent says: {result_text(block)}"


def test_agents(examples: Examples) -> None:
    run = examples.run(
        "agents.py",
        script={
            REVIEW: [delegate("code-reviewer"), relay],
            SUBAGENT_PROMPTS["code-reviewer"]: ["types.py is well structured."],
            DOCS: [delegate("doc-writer"), relay],
            SUBAGENT_PROMPTS["doc-writer"]: ["AgentDefinition describes a subagent."],
            ANALYZE: [delegate("analyzer"), relay],
            SUBAGENT_PROMPTS["analyzer"]: ["There are no Python files there."],
        },
    ).check()

    out = run.stdout
    assert "Claude: The subagent says: types.py is well structured.\n" in out
    assert "Claude: The subagent says: AgentDefinition describes a subagent.\n" in out
    assert "Claude: The subagent says: There are no Python files there.\n" in out
    assert out.count("\nCost: $") == 3

    (main,) = run.requests_for(REVIEW)[:1]
    agent_tool = next(tool for tool in main["tools"] if tool["name"] == "Agent")
    assert "code-reviewer: Reviews code for best practices" in agent_tool["description"]
    (reviewer,) = run.requests_for(SUBAGENT_PROMPTS["code-reviewer"])
    assert system_text(reviewer).startswith("You are a code reviewer.")
    assert [tool["name"] for tool in reviewer["tools"]] == ["Read", "Grep"]
    assert reviewer["model"].startswith("claude-sonnet")
    (writer,) = run.requests_for(SUBAGENT_PROMPTS["doc-writer"])
    assert [tool["name"] for tool in writer["tools"]] == ["Read", "Write", "Edit"]
    (analyzer,) = run.requests_for(SUBAGENT_PROMPTS["analyzer"])
    assert [tool["name"] for tool in analyzer["tools"]] == ["Read", "Grep", "Glob"]
    assert analyzer["model"] == run.requests_for(ANALYZE)[0]["model"]  # no model: the parent's
