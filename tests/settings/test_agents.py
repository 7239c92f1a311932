"""Subagents defined in `.claude/agents/*.md`, merged into the run's `agents` (explicit ones win)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.settings.helpers import write

from tether import AgentDefinition, AgentOptions
from tether.agent.settings import ClaudeSettings
from tether.errors import ConfigurationError

REVIEWER = """---
name: reviewer
description: Reviews a diff for bugs. Use after every change.
tools: Read, Grep, Bash(git diff:*)
model: haiku
max-turns: 5
---
You are a careful code reviewer.
"""


def applied(project: Path, **options: object) -> AgentOptions:
    given = AgentOptions(cwd=project, **options)  # type: ignore[arg-type]
    return ClaudeSettings.load(given, project).apply(given)


def test_agent_files_become_agent_definitions(project: Path, claude_home: Path) -> None:
    write(project / ".claude" / "agents" / "reviewer.md", REVIEWER)
    write(claude_home / "agents" / "researcher.md", "---\ndescription: Finds things out\n---\nSearch well.")

    agents = applied(project).agents

    assert agents == {
        "researcher": AgentDefinition(description="Finds things out", prompt="Search well."),
        "reviewer": AgentDefinition(
            description="Reviews a diff for bugs. Use after every change.",
            prompt="You are a careful code reviewer.",
            tools=["Read", "Grep", "Bash(git diff:*)"],
            model="haiku",
            maxTurns=5,
        ),
    }
    assert applied(project, setting_sources=["user"]).agents == {"researcher": agents["researcher"]}
    assert applied(project, setting_sources=[]).agents is None


def test_explicit_agents_win_over_files(project: Path) -> None:
    write(project / ".claude" / "agents" / "reviewer.md", REVIEWER)
    mine = AgentDefinition(description="My reviewer", prompt="Be brief.")

    agents = applied(project, agents={"reviewer": mine}).agents

    assert agents == {"reviewer": mine}


def test_a_project_agent_replaces_a_user_agent_of_the_same_name(project: Path, claude_home: Path) -> None:
    write(claude_home / "agents" / "reviewer.md", "---\ndescription: user's\n---\nUser prompt.")
    write(project / ".claude" / "agents" / "review.md", "---\nname: reviewer\ndescription: project's\n---\nProject.")

    agents = applied(project).agents

    assert agents is not None and agents["reviewer"].description == "project's"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\nname: x\n---\nNo description.", ":1: the agent 'x' needs a 'description'"),
        ("---\ndescription: ok\nmaxTurns: many\n---\nBody", ":1: 'maxTurns' must be a whole number"),
        ("---\ndescription: [a, b\n---\nBody", ":3: invalid YAML front matter"),
    ],
)
def test_a_malformed_agent_file_names_the_file_and_line(project: Path, text: str, problem: str) -> None:
    path = write(project / ".claude" / "agents" / "broken.md", text)

    with pytest.raises(ConfigurationError) as caught:
        applied(project)

    assert f"{path}{problem}" in str(caught.value)
