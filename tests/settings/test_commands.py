"""Slash commands from `.claude/commands/*.md`: listed in `init`, expanded as Claude Code expands them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.fakes import FakeAnthropicServer, Reply
from tests.settings.helpers import init_data, prompt_text, result_of, run_in_one_client, tool_result_texts, write

from tether import AgentOptions, get_session_messages_from_store
from tether.errors import ConfigurationError
from tether.testing import MemoryStore, ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

REVIEW = """---
description: Review one file
argument-hint: <file> [focus]
---
Review $1 with a focus on $2.
All arguments: $ARGUMENTS
"""


async def test_a_command_prompt_is_expanded_stored_and_listed(project: Path, claude_home: Path) -> None:
    write(project / ".claude" / "commands" / "review.md", REVIEW)
    write(claude_home / "commands" / "tools" / "explain.md", "Explain the code simply.")
    model, store = ScriptedModel(["reviewed"]), MemoryStore()

    messages = (
        await run_query(
            '/review src/app.py "error handling"', AgentOptions(model=model, cwd=project, session_store=store)
        )
    ).messages

    expanded = 'Review src/app.py with a focus on error handling.\nAll arguments: src/app.py "error handling"'
    assert prompt_text(model.last_request.messages) == expanded
    stored = await get_session_messages_from_store(store, result_of(messages).session_id, directory=str(project))
    assert stored[0].message["content"] == expanded
    assert {"compact", "review", "explain"} <= set(init_data(messages)["slash_commands"])


async def test_arguments_are_appended_when_the_body_does_not_use_them(project: Path) -> None:
    write(project / ".claude" / "commands" / "fix.md", "Fix the failing test.")
    model = ScriptedModel(["ok", "ok"])

    await run_query("/fix test_login", AgentOptions(model=model, cwd=project, session_store=MemoryStore()))
    with_arguments = prompt_text(model.requests[0].messages)
    await run_query("/fix", AgentOptions(model=model, cwd=project, session_store=MemoryStore()))

    assert with_arguments == "Fix the failing test.\n\nARGUMENTS: test_login"
    assert prompt_text(model.requests[1].messages) == "Fix the failing test."


async def test_other_prompts_are_left_alone(project: Path) -> None:
    write(project / ".claude" / "commands" / "fix.md", "Fix it.")
    prompts = ["/unknown thing", "/usr/bin/env python", "fix it", "  /fix later"]

    for prompt in prompts[:3]:
        model = ScriptedModel(["ok"])
        await run_query(prompt, AgentOptions(model=model, cwd=project, session_store=MemoryStore()))
        assert prompt_text(model.last_request.messages) == prompt
    verbatim = ScriptedModel(["ok"])
    await run_query(
        "/fix", AgentOptions(model=verbatim, cwd=project, session_store=MemoryStore(), verbatim_prompts=True)
    )
    assert prompt_text(verbatim.last_request.messages) == "/fix"
    isolated = ScriptedModel(["ok"])
    await run_query("/fix", AgentOptions(model=isolated, cwd=project, session_store=MemoryStore(), setting_sources=[]))
    assert prompt_text(isolated.last_request.messages) == "/fix"


async def test_allowed_tools_of_a_command_hold_while_its_prompt_runs(project: Path) -> None:
    write(project / ".claude" / "commands" / "hello.md", "---\nallowed-tools: Bash(echo:*)\n---\nSay hello.")
    call = tool_use_reply("Bash", {"command": "echo hello"})
    model = ScriptedModel([call, "done", call, "done"])

    in_command, after = await run_in_one_client(
        ["/hello", "again"], model=model, cwd=project, session_store=MemoryStore()
    )

    assert tool_result_texts(in_command) == [("hello", False)]
    [(text, is_error)] = tool_result_texts(after)
    assert is_error and "not granted" in text


async def test_a_malformed_front_matter_names_the_file_and_line(project: Path) -> None:
    broken = write(project / ".claude" / "commands" / "bad.md", "---\ndescription: fine\nmodel: [unclosed\n---\nBody")

    with pytest.raises(ConfigurationError, match=rf"{broken}:\d+: invalid YAML front matter"):
        await run_query("hi", AgentOptions(model=ScriptedModel(["x"]), cwd=project, session_store=MemoryStore()))
    unclosed = write(project / ".claude" / "commands" / "bad.md", "---\ndescription: never closed\nBody")
    with pytest.raises(ConfigurationError, match=rf"{unclosed}:1: the front matter"):
        await run_query("hi", AgentOptions(model=ScriptedModel(["x"]), cwd=project, session_store=MemoryStore()))


async def test_files_a_command_mentions_are_attached_as_claude_code_attaches_them(project: Path) -> None:
    write(project / "src" / "app.py", "print('hi')\n")
    write(project / "docs" / "style guide.md", "Short names.\n")
    write(project / ".env", "SECRET=1\n")
    body = 'Review @src/app.py against @"docs/style guide.md". Skip @.env, @missing.py and mail@example.com.'
    write(project / ".claude" / "commands" / "check.md", body)
    model = ScriptedModel(["checked"])

    await run_query(
        "/check", AgentOptions(model=model, cwd=project, session_store=MemoryStore(), disallowed_tools=["Read(./.env)"])
    )

    blocks = model.last_request.messages[0]["content"]
    assert blocks[0] == {"type": "text", "text": body}  # the body as written
    attached = [block["text"] for block in blocks[1:]]
    app, guide = project / "src" / "app.py", project / "docs" / "style guide.md"
    assert attached[0] == f'Called the Read tool with the following input: {{"file_path": "{app}"}}'
    assert attached[1].startswith("Result of calling the Read tool: ")
    result = json.loads(attached[1].removeprefix("Result of calling the Read tool: "))
    assert result["file"]["filePath"] == str(app) and result["file"]["content"] == "print('hi')\n"
    assert result["file"]["numLines"] == 1
    assert str(guide) in attached[2] and "Short names." in attached[3]
    assert len(attached) == 4  # not the denied .env, not a missing file, not an e-mail address


async def test_a_command_model_runs_its_prompt_and_the_next_prompt_is_back_on_the_session_model(
    project: Path,
) -> None:
    write(project / ".claude" / "commands" / "quick.md", "---\nmodel: haiku\n---\nAnswer briefly: $ARGUMENTS")
    with FakeAnthropicServer([Reply("Paris."), Reply("Longer answer.")]) as server:
        env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test"}
        answers = await run_in_one_client(
            ["/quick capital of France?", "and why?"],
            model="claude-sonnet-5-5",
            env=env,
            cwd=project,
            session_store=MemoryStore(),
        )
    # The alias names the current Haiku; the next prompt runs on the session's model again.
    assert [body["model"] for body in server.requests] == ["claude-haiku-5-5", "claude-sonnet-5-5"]
    assert [result_of(a).result for a in answers] == ["Paris.", "Longer answer."]
    assert set(result_of(answers[1]).model_usage or {}) == {"claude-haiku-5-5", "claude-sonnet-5-5"}


async def test_a_command_naming_a_model_no_provider_runs_fails_naming_the_file(project: Path) -> None:
    path = write(project / ".claude" / "commands" / "odd.md", "---\nmodel: mystery-model\n---\nGo.")
    with pytest.raises(ConfigurationError, match=f"{path}: model 'mystery-model'"):
        await run_query("/odd", AgentOptions(model=ScriptedModel(["x"]), cwd=project, session_store=MemoryStore()))
