"""CLAUDE.md memory files in the system prompt: where they are found, imports, sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.settings.helpers import write

from tether import AgentOptions
from tether.agent.prompts import DEFAULT_SYSTEM_PROMPT
from tether.testing import MemoryStore, ScriptedModel, run_query

pytestmark = pytest.mark.anyio


async def system_prompt(project: Path, **options: Any) -> str:
    model = ScriptedModel(["ok"])
    await run_query("hi", AgentOptions(model=model, cwd=project, session_store=MemoryStore(), **options))
    system = model.last_request.system
    assert isinstance(system, str)
    return system


async def test_every_memory_file_is_appended_in_order(project: Path, claude_home: Path) -> None:
    write(claude_home / "CLAUDE.md", "USER: answer in English.")
    write(project.parent / "CLAUDE.md", "PARENT: monorepo rules.")
    write(project / "CLAUDE.md", "PROJECT: run make test.")
    write(project / ".claude" / "CLAUDE.md", "DOTCLAUDE: no new dependencies.")
    write(project / "CLAUDE.local.md", "LOCAL: my sandbox is at port 8081.")

    prompt = await system_prompt(project)

    assert prompt.startswith(DEFAULT_SYSTEM_PROMPT)
    order = [prompt.index(marker) for marker in ("USER:", "PARENT:", "PROJECT:", "DOTCLAUDE:", "LOCAL:")]
    assert order == sorted(order)
    assert str(project / "CLAUDE.md") in prompt


async def test_sources_choose_the_files_and_none_means_all(project: Path, claude_home: Path) -> None:
    write(claude_home / "CLAUDE.md", "USER-MEMORY")
    write(project / "CLAUDE.md", "PROJECT-MEMORY")
    write(project / "CLAUDE.local.md", "LOCAL-MEMORY")

    user_only = await system_prompt(project, setting_sources=["user"])
    isolated = await system_prompt(project, setting_sources=[])
    everything = await system_prompt(project)

    assert "USER-MEMORY" in user_only and "PROJECT-MEMORY" not in user_only
    assert isolated == DEFAULT_SYSTEM_PROMPT
    assert all(marker in everything for marker in ("USER-MEMORY", "PROJECT-MEMORY", "LOCAL-MEMORY"))


async def test_imports_are_followed_outside_code(project: Path) -> None:
    write(project / "docs" / "style.md", "STYLE: four spaces. See @nested.md")
    write(project / "docs" / "nested.md", "NESTED: tabs never.")
    write(project / "docs" / "code.md", "CODE-ONLY")
    write(
        project / "CLAUDE.md",
        "Conventions: @docs/style.md\nNot an import: `@docs/code.md`\n```\n@docs/code.md\n```\nMail me@example.com",
    )

    prompt = await system_prompt(project)

    assert "STYLE: four spaces" in prompt and "NESTED: tabs never." in prompt
    assert "CODE-ONLY" not in prompt
    assert "me@example.com" in prompt


async def test_memory_follows_the_given_system_prompt(project: Path) -> None:
    write(project / "CLAUDE.md", "Prefer pytest.")

    prompt = await system_prompt(project, system_prompt="You are a pirate.")

    assert prompt.startswith("You are a pirate.") and prompt.endswith("Prefer pytest.")
