"""Skills (`.claude/skills/<name>/SKILL.md`): the Skill tool, the `skills` option, skills as commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.settings.helpers import init_data, prompt_text, run_in_one_client, tool_result_texts, write

from tether import AgentOptions
from tether.errors import ConfigurationError
from tether.testing import MemoryStore, ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

PDF_SKILL = """---
name: pdf
description: Fill in PDF forms. Use when the user mentions a PDF form.
---
# Filling forms
Run `python fill.py $ARGUMENTS` from this directory.
"""


@pytest.fixture
def skills(project: Path, claude_home: Path) -> Path:
    write(project / ".claude" / "skills" / "pdf-forms" / "SKILL.md", PDF_SKILL)
    write(
        claude_home / "skills" / "changelog" / "SKILL.md",
        "---\ndescription: Write changelog entries\n---\nKeep a Changelog.",
    )
    return project


async def test_skills_all_offers_the_skill_tool_and_allows_loading_any_skill(skills: Path) -> None:
    model = ScriptedModel([tool_use_reply("Skill", {"skill": "pdf", "args": "form.pdf"}), "filled"])

    messages = (
        await run_query(
            "fill form.pdf", AgentOptions(model=model, cwd=skills, session_store=MemoryStore(), skills="all")
        )
    ).messages

    data = init_data(messages)
    assert sorted(data["skills"]) == ["changelog", "pdf"] and "Skill" in data["tools"]
    [offered] = [tool for tool in model.requests[0].tools if tool.name == "Skill"]
    assert "pdf: Fill in PDF forms." in offered.description
    [(text, is_error)] = tool_result_texts(messages)
    assert not is_error
    assert "Run `python fill.py form.pdf` from this directory." in text
    assert str(skills / ".claude" / "skills" / "pdf-forms") in text


async def test_a_list_of_skills_hides_the_others_and_allows_only_those(skills: Path) -> None:
    calls = [tool_use_reply("Skill", {"skill": "changelog"}), tool_use_reply("Skill", {"skill": "pdf"})]
    model = ScriptedModel([*calls, "done"])

    messages = (
        await run_query("go", AgentOptions(model=model, cwd=skills, session_store=MemoryStore(), skills=["changelog"]))
    ).messages

    assert init_data(messages)["skills"] == ["changelog"]
    first, second = tool_result_texts(messages)
    assert not first[1] and "Keep a Changelog." in first[0]
    assert second[1] and "python fill.py" not in second[0]  # neither allowed nor offered


async def test_without_the_skills_option_a_skill_call_needs_permission(skills: Path) -> None:
    model = ScriptedModel([tool_use_reply("Skill", {"skill": "pdf"}), "ok"])

    messages = (await run_query("go", AgentOptions(model=model, cwd=skills, session_store=MemoryStore()))).messages
    allowed = (
        await run_query(
            "go",
            AgentOptions(
                model=ScriptedModel([tool_use_reply("Skill", {"skill": "pdf"}), "ok"]),
                cwd=skills,
                session_store=MemoryStore(),
                allowed_tools=["Skill(pdf)"],
            ),
        )
    ).messages

    [(text, is_error)] = tool_result_texts(messages)
    assert is_error and "not granted" in text
    assert tool_result_texts(allowed)[0][1] is False


async def test_no_skills_means_no_skill_tool(skills: Path) -> None:
    model = ScriptedModel(["ok"])

    messages = (
        await run_query("go", AgentOptions(model=model, cwd=skills, session_store=MemoryStore(), skills=[]))
    ).messages

    assert init_data(messages)["skills"] == []
    assert "Skill" not in [tool.name for tool in model.last_request.tools]


async def test_a_skill_runs_as_a_slash_command(skills: Path) -> None:
    model = ScriptedModel(["ok"])

    messages = (
        await run_query("/pdf invoice.pdf", AgentOptions(model=model, cwd=skills, session_store=MemoryStore()))
    ).messages

    assert "pdf" in init_data(messages)["slash_commands"]
    assert (
        prompt_text(model.last_request.messages)
        == "# Filling forms\nRun `python fill.py invoice.pdf` from this directory."
    )


@pytest.mark.parametrize("skills", ["pdf", ["pdf*"], ["/pdf"], ["two words"]])
async def test_malformed_skills_values_are_refused(project: Path, skills: Any) -> None:
    with pytest.raises(ConfigurationError, match="skill"):
        await run_query(
            "go", AgentOptions(model=ScriptedModel(["x"]), cwd=project, session_store=MemoryStore(), skills=skills)
        )


async def test_an_unknown_skill_is_an_error_result_naming_the_skills(skills: Path) -> None:
    model = ScriptedModel([tool_use_reply("Skill", {"skill": "deploy"}), "ok"])

    messages = (
        await run_query("go", AgentOptions(model=model, cwd=skills, session_store=MemoryStore(), skills="all"))
    ).messages

    [(text, is_error)] = tool_result_texts(messages)
    assert is_error and "Unknown skill: deploy" in text and "pdf" in text


async def test_a_loaded_skills_allowed_tools_hold_until_the_next_prompt(project: Path) -> None:
    write(
        project / ".claude" / "skills" / "greet" / "SKILL.md", "---\nallowed-tools: Bash(echo:*)\n---\nEcho a greeting."
    )
    echo = tool_use_reply("Bash", {"command": "echo hi"})
    model = ScriptedModel([echo, tool_use_reply("Skill", {"skill": "greet"}), echo, "done", echo, "done"])

    first, later = await run_in_one_client(
        ["greet", "again"], model=model, cwd=project, session_store=MemoryStore(), skills="all"
    )

    before, loaded, after = tool_result_texts(first)
    assert before[1] and not loaded[1] and after == ("hi", False)
    assert tool_result_texts(later)[0][1]  # the next prompt: not allowed any more
