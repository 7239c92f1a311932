"""`system_prompt` in its four forms reaches the model; bad shapes and unreadable files are typed
errors when the run starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tether import AgentOptions, ResultMessage
from tether.agent.prompts import CODING_AGENT_PROMPT, DEFAULT_SYSTEM_PROMPT
from tether.errors import ConfigurationError
from tether.sessions.keys import project_key_for_directory
from tether.testing import MemoryStore, ScriptedModel, run_query

pytestmark = pytest.mark.anyio


async def system_sent(system_prompt: Any, project: Path) -> str | None:
    model = ScriptedModel(["ok"])
    options = AgentOptions(model=model, cwd=project, session_store=MemoryStore(), system_prompt=system_prompt)
    messages = (await run_query("hello", options)).messages
    assert isinstance(messages[-1], ResultMessage) and not messages[-1].is_error
    return model.requests[0].system


async def test_a_string_is_sent_as_given(project: Path) -> None:
    assert await system_sent("You are a pirate.", project) == "You are a pirate."


async def test_the_custom_form_is_sent_as_given_with_or_without_snapshot(project: Path) -> None:
    assert await system_sent({"type": "custom", "prompt": "You are terse."}, project) == "You are terse."
    custom = {"type": "custom", "prompt": "You are terse.", "snapshot": False}
    assert await system_sent(custom, project) == "You are terse."


async def test_the_preset_is_tethers_coding_agent_prompt(project: Path) -> None:
    assert await system_sent({"type": "preset", "preset": "claude_code"}, project) == CODING_AGENT_PROMPT


async def test_the_preset_with_append_adds_the_text_after_the_preset(project: Path) -> None:
    preset = {"type": "preset", "preset": "claude_code", "append": "Always answer in French.", "snapshot": True}
    sent = await system_sent(preset, project)
    assert sent == f"{CODING_AGENT_PROMPT}\n\nAlways answer in French."


async def test_exclude_dynamic_sections_is_accepted_and_changes_nothing(project: Path) -> None:
    preset = {"type": "preset", "preset": "claude_code", "exclude_dynamic_sections": True}
    assert await system_sent(preset, project) == CODING_AGENT_PROMPT


async def test_the_file_form_sends_the_files_text(project: Path, tmp_path: Path) -> None:
    prompt_file = tmp_path / "prompt.md"
    prompt_file.write_text("You review pull requests.\nBe kind: ü.\n", encoding="utf-8")

    assert await system_sent({"type": "file", "path": str(prompt_file)}, project) == prompt_file.read_text("utf-8")


async def test_no_system_prompt_sends_tethers_default(project: Path) -> None:
    assert await system_sent(None, project) == DEFAULT_SYSTEM_PROMPT


@pytest.mark.parametrize("name", ["missing.md", "a-directory"])
async def test_a_prompt_file_that_cannot_be_read_fails_the_run_at_start_naming_it(name: str, project: Path) -> None:
    (project / "a-directory").mkdir()
    path = project / name
    model = ScriptedModel(["never sent"])
    store = MemoryStore()
    options = AgentOptions(
        model=model, cwd=project, session_store=store, system_prompt={"type": "file", "path": str(path)}
    )

    with pytest.raises(ConfigurationError, match="cannot be read") as caught:
        await run_query("hello", options)

    assert str(path) in str(caught.value)
    assert model.requests == []
    assert await store.list_sessions(project_key_for_directory(str(project))) == []


@pytest.mark.parametrize(
    ("system_prompt", "problem"),
    [
        (42, "must be a string, a dict"),
        ({"prompt": "no type"}, "'type' None"),
        ({"type": "bogus"}, "'type' 'bogus'"),
        ({"type": "custom"}, "needs 'prompt'"),
        ({"type": "file"}, "needs 'path'"),
        ({"type": "preset"}, "needs 'preset'"),
        ({"type": "preset", "preset": "claude_desktop"}, "only system_prompt preset is 'claude_code'"),
        ({"type": "custom", "prompt": "x", "apend": "y"}, "unknown key\\(s\\) 'apend'"),
        ({"type": "file", "path": "p.md", "snapshot": True}, "unknown key\\(s\\) 'snapshot'"),
        ({"type": "custom", "prompt": 3}, "'prompt' must be a string"),
        ({"type": "preset", "preset": "claude_code", "append": ["x"]}, "'append' must be a string"),
        ({"type": "preset", "preset": "claude_code", "snapshot": "yes"}, "'snapshot' must be True or False"),
        ({"type": "file", "path": 7}, "'path' must be a path"),
    ],
)
async def test_a_bad_shape_is_a_configuration_error_naming_the_problem(
    system_prompt: Any, problem: str, project: Path
) -> None:
    model = ScriptedModel(["never sent"])
    options = AgentOptions(model=model, cwd=project, session_store=MemoryStore(), system_prompt=system_prompt)

    with pytest.raises(ConfigurationError, match=problem):
        await run_query("hello", options)

    assert model.requests == []
