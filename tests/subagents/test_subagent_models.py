"""A subagent on another model than its parent: an alias served by the (fake) Anthropic API."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.fakes import FakeAnthropicServer, Reply, ToolUse
from tests.subagents.team import Team, delegate, result_of, result_text, tool_results, turn

from tether import AgentDefinition, AgentOptions, AssistantMessage
from tether.models import DEFAULT_ANTHROPIC_MODEL, MODEL_ALIASES
from tether.models.base import ModelRequest
from tether.models.limits import limits_for
from tether.testing import Reply as ScriptedReply
from tether.testing import run_query

pytestmark = pytest.mark.anyio

REVIEWER = "You review code."


def main(request: ModelRequest) -> ScriptedReply:
    if turn(request) == 0:
        return delegate("reviewer", "Review app.py", id="toolu_agent1")
    return "Reviewer: " + result_text(tool_results(request)[0])


def options_for(team: Team, server: FakeAnthropicServer, app: Path, model: str, **env: str) -> AgentOptions:
    agents = {"reviewer": AgentDefinition(description="Reviews code", prompt=REVIEWER, tools=["Read"], model=model)}
    environment = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test", **env}
    return AgentOptions(model=team.model, cwd=app, agents=agents, env=environment)


async def test_a_subagent_runs_on_the_model_its_definition_names(app: Path) -> None:
    team = Team(main, {}, cost_per_reply=0.5)
    replies = [Reply([ToolUse("Read", {"file_path": "app.py"})], input_tokens=100, output_tokens=20), Reply("Fine.")]
    with FakeAnthropicServer(replies) as server:
        messages = (await run_query("review", options_for(team, server, app, "haiku"))).messages

    result = result_of(messages)
    assert result.result == "Reviewer: Fine."
    assert [body["model"] for body in server.requests] == ["claude-haiku-5-5", "claude-haiku-5-5"]
    assert REVIEWER in str(server.requests[0]["system"])
    assert [tool["name"] for tool in server.requests[0]["tools"]] == ["Read"]
    assert "print('hi')" in str(server.requests[1]["messages"][-1]["content"])
    assert len(team.model.requests) == 2  # the parent's two turns only

    nested = [m for m in messages if isinstance(m, AssistantMessage) and m.parent_tool_use_id == "toolu_agent1"]
    assert [m.model for m in nested] == ["claude-haiku-5-5"]
    assert result.model_usage is not None and set(result.model_usage) == {"team-model", "claude-haiku-5-5"}
    haiku = result.model_usage["claude-haiku-5-5"]
    assert haiku["inputTokens"] == 112 and haiku["outputTokens"] == 27
    assert haiku["costUSD"] is not None and haiku["costUSD"] > 0
    assert result.total_cost_usd == pytest.approx(2 * 0.5 + haiku["costUSD"])  # the parent's two replies and haiku's


async def test_an_alias_follows_anthropic_default_model_variables(app: Path) -> None:
    team = Team(main, {})
    with FakeAnthropicServer([Reply("Fine.")]) as server:
        await run_query(
            "review", options_for(team, server, app, "opus", ANTHROPIC_DEFAULT_OPUS_MODEL="claude-opus-4-1")
        )

    assert [body["model"] for body in server.requests] == ["claude-opus-4-1"]


async def test_inherit_runs_the_subagent_on_the_parent_model(app: Path) -> None:
    team = Team(main, {REVIEWER: lambda request: "Fine."})
    with FakeAnthropicServer([]) as server:
        result = (await run_query("review", options_for(team, server, app, "inherit"))).result

    assert result.result == "Reviewer: Fine." and server.requests == []
    assert len(team.requests_of(REVIEWER)) == 1


async def test_the_aliases_name_models_tether_knows_and_are_what_the_agent_tool_offers(app: Path) -> None:
    assert set(MODEL_ALIASES) == {"sonnet", "opus", "haiku"}
    assert MODEL_ALIASES["sonnet"] == DEFAULT_ANTHROPIC_MODEL  # one Sonnet, whichever way it is named
    assert all(limits_for(model).context_window == 1_000_000 for model in MODEL_ALIASES.values()), MODEL_ALIASES
    team = Team(lambda request: "Nothing to delegate.", {})
    agents = {"reviewer": AgentDefinition(description="Reviews code", prompt=REVIEWER)}
    await run_query("hello", AgentOptions(model=team.model, cwd=app, agents=agents))
    (offered,) = [spec for spec in team.model.requests[0].tools if spec.name == "Agent"]
    assert offered.input_schema["properties"]["model"]["enum"] == list(MODEL_ALIASES)
