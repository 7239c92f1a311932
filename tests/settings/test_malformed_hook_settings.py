"""Hooks in settings files and plugin manifests: each malformed form fails at run start naming the
file and the problem; hooks a manifest declares inline or in another file run; a hook that prints
broken JSON is read as text."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.settings.helpers import write, write_json

from tether import AgentOptions
from tether.errors import ConfigurationError
from tether.testing import MemoryStore, ScriptedModel, run_query

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(sys.platform == "win32", reason="the hook commands are POSIX shell"),
]

ECHO = {"type": "command", "command": "echo 'from the hook'"}


async def run_in(project: Path, **options: Any) -> ScriptedModel:
    model = ScriptedModel(["ok"])
    await run_query("status?", AgentOptions(model=model, cwd=project, session_store=MemoryStore(), **options))
    return model


@pytest.mark.parametrize(
    ("hooks", "problem"),
    [
        (["echo hi"], "'hooks' must be an object of events"),
        ({"PreToolUse": {"hooks": [ECHO]}}, "hooks.PreToolUse must be a list of matchers"),
        ({"PreToolUse": [ECHO]}, "each entry must be an object with a 'hooks' list"),
        ({"PreToolUse": [{"matcher": ["Bash"], "hooks": [ECHO]}]}, "'matcher' must be a string, not ['Bash']"),
        ({"PreToolUse": [{"hooks": ["echo hi"]}]}, "each hook must be an object, not 'echo hi'"),
        ({"PreToolUse": [{"hooks": [{**ECHO, "timeout": -5}]}]}, "'timeout' must be a positive number of seconds"),
    ],
)
async def test_a_malformed_hooks_setting_names_the_file_and_the_problem(
    project: Path, hooks: Any, problem: str
) -> None:
    settings = write_json(project / ".claude" / "settings.json", {"hooks": hooks})

    with pytest.raises(ConfigurationError) as caught:
        await run_in(project)

    assert str(settings) in str(caught.value) and problem in str(caught.value)


def plugin_with(tmp_path: Path, manifest: dict[str, Any]) -> dict[str, str]:
    root = tmp_path / "plugin"
    write_json(root / ".claude-plugin" / "plugin.json", manifest)
    return {"type": "local", "path": str(root)}


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        ({"name": ["tools"]}, "'name' must be text"),
        ({"name": "tools", "version": 2}, "'name' must be text (and 'version', when given)"),
        ({"name": "tools", "commands": {"dir": "extra"}}, "'commands' must be a path or a list of paths"),
        ({"name": "tools", "hooks": [7]}, "'hooks' must be a path, an object or a list of them"),
        ({"name": "tools", "hooks": [{"hooks": ["echo hi"]}]}, "'hooks' must be an object of events, not list"),
    ],
)
async def test_a_malformed_plugin_manifest_names_it(
    project: Path, tmp_path: Path, manifest: dict[str, Any], problem: str
) -> None:
    plugin = plugin_with(tmp_path, manifest)

    with pytest.raises(ConfigurationError) as caught:
        await run_in(project, plugins=[plugin])

    assert "plugin.json" in str(caught.value) and problem in str(caught.value)


async def test_hooks_a_manifest_declares_inline_and_in_another_file_both_run(project: Path, tmp_path: Path) -> None:
    prompt_hook = {"hooks": [{"type": "command", "command": "echo 'inline hook ran'"}]}
    write_json(
        tmp_path / "plugin" / "more-hooks.json",
        {"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command", "command": "echo 'file hook ran'"}]}]}},
    )
    manifest = {"name": "tools", "hooks": [{"hooks": {"UserPromptSubmit": [prompt_hook]}}, "more-hooks.json"]}
    plugin = plugin_with(tmp_path, manifest)

    model = await run_in(project, plugins=[plugin])

    sent = json.dumps(model.last_request.messages)
    assert "inline hook ran" in sent and "file hook ran" in sent


async def test_a_hook_that_prints_broken_json_is_read_as_text(project: Path) -> None:
    hook = {"type": "command", "command": "echo '{the build is red'"}
    write(project / ".claude" / "settings.json", json.dumps({"hooks": {"UserPromptSubmit": [{"hooks": [hook]}]}}))

    model = await run_in(project)

    assert "{the build is red" in json.dumps(model.last_request.messages)
