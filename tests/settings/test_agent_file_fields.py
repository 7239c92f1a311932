"""Every front-matter field of an agent file (`.claude/agents/*.md`) reaches its `AgentDefinition`,
in camelCase or kebab-case; a field of the wrong kind fails naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.settings.helpers import write

from tether import AgentDefinition, AgentOptions
from tether.agent.settings import ClaudeSettings
from tether.errors import ConfigurationError

DEPLOYER = """---
name: deployer
description: Deploys the service.
tools: [Read, "Bash(make deploy:*)"]
disallowed-tools: Write, Edit
skills: release-notes
model: opus
memory: project
mcp-servers: github, pagerduty
initial-prompt: Check the pipeline first.
maxTurns: 12
background: true
effort: high
permission-mode: acceptEdits
---
You deploy the service safely.
"""


def agents_of(project: Path) -> dict[str, AgentDefinition]:
    given = AgentOptions(cwd=project)
    agents = ClaudeSettings.load(given, project).apply(given).agents
    assert agents is not None
    return agents


def test_every_field_of_an_agent_file_is_read(project: Path) -> None:
    write(project / ".claude" / "agents" / "deploy.md", DEPLOYER)

    assert agents_of(project)["deployer"] == AgentDefinition(
        description="Deploys the service.",
        prompt="You deploy the service safely.",
        tools=["Read", "Bash(make deploy:*)"],
        disallowedTools=["Write", "Edit"],
        skills=["release-notes"],
        model="opus",
        memory="project",
        mcpServers=["github", "pagerduty"],
        initialPrompt="Check the pipeline first.",
        maxTurns=12,
        background=True,
        effort="high",
        permissionMode="acceptEdits",
    )


def test_mcp_servers_may_be_a_yaml_list_of_names_and_configs(project: Path) -> None:
    text = (
        "---\ndescription: Files issues.\nmcpServers:\n  - github\n"
        "  - {tracker: {command: tracker-mcp}}\n---\nFile issues."
    )
    write(project / ".claude" / "agents" / "filer.md", text)

    assert agents_of(project)["filer"].mcpServers == ["github", {"tracker": {"command": "tracker-mcp"}}]


@pytest.mark.parametrize(
    ("front_matter", "problem"),
    [
        ("name: 42\ndescription: ok", "the agent's 'name' must be text"),
        ("description: ok\nmodel: 4", "'model' must be text, not 4"),
        ("description: ok\nbackground: sometimes", "'background' must be true or false"),
        ("description: ok\nmax-turns: 0", "'maxTurns' must be a whole number of at least 1, not 0"),
        ("description: ok\ntools: {Read: yes}", "a tool list must be a string or a list of strings"),
    ],
)
def test_a_field_of_the_wrong_kind_names_the_file_and_the_field(project: Path, front_matter: str, problem: str) -> None:
    path = write(project / ".claude" / "agents" / "odd.md", f"---\n{front_matter}\n---\nBody.")

    with pytest.raises(ConfigurationError) as caught:
        agents_of(project)

    assert str(path) in str(caught.value) and problem in str(caught.value)
