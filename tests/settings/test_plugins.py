"""Local plugins: their commands, agents, skills and hooks, namespaced by the plugin's name."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tests.settings.helpers import init_data, prompt_text, result_of, tool_result_texts, write, write_json

from tether import AgentOptions
from tether.agent.settings import ClaudeSettings
from tether.errors import ConfigurationError
from tether.testing import MemoryStore, ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    root = tmp_path / "plugins" / "release-tools"
    write_json(root / ".claude-plugin" / "plugin.json", {"name": "release", "version": "2.1.0"})
    write(root / "commands" / "notes.md", "---\ndescription: Draft release notes\n---\nDraft notes for $ARGUMENTS.")
    write(root / "agents" / "checker.md", "---\ndescription: Checks a release\n---\nCheck everything.")
    write(root / "skills" / "semver" / "SKILL.md", "---\ndescription: Pick the next version\n---\nBump wisely.")
    write(root / "scripts" / "context.sh", '#!/bin/sh\necho "plugin root is $CLAUDE_PLUGIN_ROOT"\n').chmod(0o755)
    write_json(
        root / "hooks" / "hooks.json",
        {
            "hooks": {
                "UserPromptSubmit": [
                    {"hooks": [{"type": "command", "command": "${CLAUDE_PLUGIN_ROOT}/scripts/context.sh"}]}
                ]
            }
        },
    )
    return root


@pytest.mark.skipif(sys.platform == "win32", reason="the hook command is POSIX shell")
async def test_a_plugin_command_hook_and_listing(project: Path, plugin: Path) -> None:
    model = ScriptedModel(["drafted"])

    messages = (
        await run_query(
            "/release:notes v2.1",
            AgentOptions(
                model=model, cwd=project, session_store=MemoryStore(), plugins=[{"type": "local", "path": str(plugin)}]
            ),
        )
    ).messages

    data = init_data(messages)
    assert data["plugins"] == [{"name": "release", "path": str(plugin), "version": "2.1.0"}]
    assert {"release:notes", "release:semver"} <= set(data["slash_commands"])
    assert data["skills"] == ["release:semver"]
    sent = prompt_text(model.last_request.messages)
    assert sent.startswith("Draft notes for v2.1.") and f"plugin root is {plugin}" in sent


async def test_plugin_agents_and_skills_are_namespaced(project: Path, plugin: Path) -> None:
    options = AgentOptions(cwd=project, plugins=[{"type": "local", "path": str(plugin)}], skills="all")
    loaded = ClaudeSettings.load(options, project)

    applied = loaded.apply(options)
    assert applied.agents is not None and applied.agents["release:checker"].prompt == "Check everything."
    model = ScriptedModel([tool_use_reply("Skill", {"skill": "release:semver"}), "ok"])
    messages = (
        await run_query(
            "bump",
            AgentOptions(
                model=model,
                cwd=project,
                session_store=MemoryStore(),
                plugins=[{"type": "local", "path": str(plugin)}],
                skills=["release:semver"],
            ),
        )
    ).messages
    [(text, is_error)] = tool_result_texts(messages)
    assert not is_error and "Bump wisely." in text


async def test_a_plugin_without_a_manifest_takes_its_directory_name(project: Path, tmp_path: Path) -> None:
    root = tmp_path / "bare-plugin"
    write(root / "commands" / "hi.md", "Say hi.")

    messages = (
        await run_query(
            "hello",
            AgentOptions(
                model=ScriptedModel(["ok"]),
                cwd=project,
                session_store=MemoryStore(),
                plugins=[{"type": "local", "path": str(root)}],
            ),
        )
    ).messages

    assert init_data(messages)["plugins"] == [{"name": "bare-plugin", "path": str(root)}]
    assert "bare-plugin:hi" in init_data(messages)["slash_commands"]


async def test_a_missing_plugin_directory_is_listed_in_plugin_errors_and_the_run_goes_on(
    project: Path, tmp_path: Path, plugin: Path
) -> None:
    missing = tmp_path / "nowhere"
    plugins = [{"type": "local", "path": str(missing)}, {"type": "local", "path": str(plugin)}]

    messages = (
        await run_query(
            "hi",
            AgentOptions(model=ScriptedModel(["hello"]), cwd=project, session_store=MemoryStore(), plugins=plugins),
        )
    ).messages

    assert result_of(messages).result == "hello"
    init = init_data(messages)
    assert init["plugin_errors"] == [
        {
            "plugin": "inline[0]",
            "type": "path-not-found",
            "message": f"the plugin directory {missing} does not exist",
            "path": str(missing),
        }
    ]
    assert [entry["name"] for entry in init["plugins"]] == ["release"]  # the others load
    fine = (
        await run_query(
            "hi",
            AgentOptions(model=ScriptedModel(["ok"]), cwd=project, session_store=MemoryStore(), plugins=plugins[1:]),
        )
    ).messages
    assert "plugin_errors" not in init_data(fine)  # omitted when nothing failed, as the CLI does


async def test_a_malformed_plugin_entry_or_manifest_is_refused(project: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="each entry must be"):
        await run_query(
            "x",
            AgentOptions(model=ScriptedModel(["x"]), cwd=project, session_store=MemoryStore(), plugins=[{"path": "p"}]),
        )
    manifest = write(tmp_path / "broken" / ".claude-plugin" / "plugin.json", "{\n  name: 1\n}")
    with pytest.raises(ConfigurationError, match=rf"{manifest}:2: invalid JSON"):
        await run_query(
            "x",
            AgentOptions(
                model=ScriptedModel(["x"]),
                cwd=project,
                session_store=MemoryStore(),
                plugins=[{"type": "local", "path": str(tmp_path / "broken")}],
            ),
        )
