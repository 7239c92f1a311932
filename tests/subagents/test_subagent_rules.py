"""A subagent's calls are decided by the rules its parent runs under: the settings files' allow,
deny and ask rules, the rules `can_use_tool` adds at run time (on either side), and `Task(...)`
rules, Claude Code's older name of the Agent tool."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.subagents.team import Team, delegate, result_of, result_text, tool_results, turn

from tether import (
    AgentDefinition,
    AgentOptions,
    PermissionResultAllow,
    PermissionResultDeny,
    PermissionRuleValue,
    PermissionUpdate,
    TaskStartedMessage,
    ToolPermissionContext,
)
from tether.models.base import ModelRequest
from tether.testing import Reply, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

RUNNER = "You run commands."
AGENTS = {"runner": AgentDefinition(description="Runs commands", prompt=RUNNER, tools=["Bash"])}


def bash(command: str) -> Reply:
    return tool_use_reply("Bash", {"command": command})


def runs_then_answers(*commands: str) -> Callable[[ModelRequest], Reply]:
    """A subagent script: one Bash call per turn, then the results it got, as its answer."""

    def script(request: ModelRequest) -> Reply:
        if turn(request) < len(commands):
            return bash(commands[turn(request)])
        said = [result_text(block) for message in request.messages for block in _results(message)]
        return " | ".join(said)

    return script


def _results(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message["content"]
    return (
        [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]
        if isinstance(content, list)
        else []
    )


def delegates_once(request: ModelRequest) -> Reply:
    if turn(request) == 0:
        return delegate("runner", "Run it", id="toolu_agent1")
    return "Runner: " + result_text(tool_results(request)[0])


class Asked:
    """A `can_use_tool` that records each question (command, asking agent) and allows or denies."""

    def __init__(self, allow: bool) -> None:
        self.allow = allow
        self.questions: list[tuple[str, str | None]] = []

    async def __call__(
        self, tool_name: str, tool_input: dict[str, Any], context: ToolPermissionContext
    ) -> PermissionResultAllow | PermissionResultDeny:
        self.questions.append((str(tool_input.get("command")), context.agent_id))
        return PermissionResultAllow() if self.allow else PermissionResultDeny(message="not now")


class RememberFirstWord(Asked):
    """Allows every call, and adds the rule `Bash(<first word>:*)` for the rest of the session."""

    def __init__(self) -> None:
        super().__init__(allow=True)

    async def __call__(
        self, tool_name: str, tool_input: dict[str, Any], context: ToolPermissionContext
    ) -> PermissionResultAllow | PermissionResultDeny:
        await super().__call__(tool_name, tool_input, context)
        rule = PermissionRuleValue("Bash", f"{str(tool_input.get('command')).split()[0]}:*")
        return PermissionResultAllow(updated_permissions=[PermissionUpdate("addRules", [rule], "allow")])


def agent_id_of(messages: list[Any]) -> str:
    return next(m.task_id for m in messages if isinstance(m, TaskStartedMessage))


async def test_a_settings_ask_rule_holds_for_the_subagent(project: Path) -> None:
    settings = {"permissions": {"allow": ["Bash"], "ask": ["Bash(echo secret:*)"], "deny": ["Bash(rm:*)"]}}
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text(json.dumps(settings))
    team = Team(delegates_once, {RUNNER: runs_then_answers("echo secret", "echo plain", "rm -f nothing")})
    asked = Asked(allow=False)

    messages = (
        await run_query("go", AgentOptions(model=team.model, cwd=project, agents=AGENTS, can_use_tool=asked))
    ).messages

    assert asked.questions == [("echo secret", agent_id_of(messages))]  # asked, as the parent's would be
    answer = result_of(messages).result or ""
    secret, plain, removal = answer.removeprefix("Runner: ").split(" | ")
    assert secret == "not now" and plain.strip() == "plain"  # the allow rule holds too
    assert "denied by the rule Bash(rm:*)" in removal


async def test_rules_added_at_run_time_hold_for_parent_and_subagent_alike(project: Path) -> None:
    def main(request: ModelRequest) -> Reply:
        steps = [bash("echo one"), delegate("runner", "Run it", id="toolu_agent1"), bash("printf parent")]
        return steps[turn(request)] if turn(request) < len(steps) else "done"

    team = Team(main, {RUNNER: runs_then_answers("echo two", "printf child")})
    asked = RememberFirstWord()

    messages = (
        await run_query("go", AgentOptions(model=team.model, cwd=project, agents=AGENTS, can_use_tool=asked))
    ).messages

    agent_id = agent_id_of(messages)
    # `echo` allowed by the parent's answer: the subagent's `echo` is not asked about; `printf`
    # allowed by the subagent's answer: the parent's `printf` is not either (as in Claude Code)
    assert asked.questions == [("echo one", None), ("printf child", agent_id)]
    assert result_of(messages).subtype == "success"


@pytest.mark.parametrize("rule", ["Task", "Task(runner)"])
async def test_a_task_rule_is_a_rule_of_the_agent_tool(project: Path, rule: str) -> None:
    team = Team(delegates_once, {RUNNER: runs_then_answers()})

    messages = (
        await run_query("go", AgentOptions(model=team.model, cwd=project, agents=AGENTS, disallowed_tools=[rule]))
    ).messages

    assert not any(isinstance(m, TaskStartedMessage) for m in messages)
    assert [denial["tool_name"] for denial in result_of(messages).permission_denials or []] == ["Agent"]
    assert len(team.requests_of(RUNNER)) == 0
