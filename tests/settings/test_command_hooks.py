"""Hooks given as shell commands in settings.json, run as Claude Code runs them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.settings.helpers import result_of, tool_result_texts, write, write_json

from tether import AgentOptions
from tether.testing import MemoryStore, ScriptedModel, run_query, tool_use_reply

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(sys.platform == "win32", reason="the hook commands are POSIX shell"),
]


def settings_with_hooks(project: Path, hooks: dict[str, Any], **more: Any) -> None:
    write_json(project / ".claude" / "settings.json", {"hooks": hooks, **more})


def command(text: str, matcher: str | None = None, timeout: float | None = None) -> list[dict[str, Any]]:
    hook: dict[str, Any] = {"type": "command", "command": text}
    if timeout is not None:
        hook["timeout"] = timeout
    entry: dict[str, Any] = {"hooks": [hook]}
    if matcher is not None:
        entry["matcher"] = matcher
    return [entry]


def script(project: Path, name: str, body: str) -> str:
    path = write(project / "hooks" / name, "#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


async def test_exit_2_denies_the_call_with_stderr_as_the_reason(project: Path) -> None:
    guard = script(project, "guard.sh", 'echo "no rm here" >&2\nexit 2\n')
    settings_with_hooks(project, {"PreToolUse": command(guard, matcher="Bash")}, permissions={"allow": ["Bash"]})
    call = tool_use_reply("Bash", {"command": "touch made"})

    messages = (
        await run_query("go", AgentOptions(model=ScriptedModel([call, "ok"]), cwd=project, session_store=MemoryStore()))
    ).messages

    [(text, is_error)] = tool_result_texts(messages)
    assert is_error and "no rm here" in text
    assert not (project / "made").exists()


async def test_the_command_reads_the_hook_input_on_stdin_in_the_project_directory(project: Path) -> None:
    capture = script(project, "capture.sh", 'cat > "$CLAUDE_PROJECT_DIR/input.json"\npwd > where.txt\n')
    settings_with_hooks(project, {"PreToolUse": command(capture)}, permissions={"allow": ["Bash"]})
    call = tool_use_reply("Bash", {"command": "echo hi"})

    messages = (
        await run_query("go", AgentOptions(model=ScriptedModel([call, "ok"]), cwd=project, session_store=MemoryStore()))
    ).messages

    seen = json.loads((project / "input.json").read_text())
    assert seen["hook_event_name"] == "PreToolUse" and seen["tool_name"] == "Bash"
    assert seen["tool_input"] == {"command": "echo hi"} and seen["session_id"] == result_of(messages).session_id
    assert Path((project / "where.txt").read_text().strip()).resolve() == project.resolve()
    assert tool_result_texts(messages) == [("hi", False)]


async def test_json_on_stdout_is_the_hook_output(project: Path) -> None:
    decision = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "JSON says no",
        }
    }
    deny = script(project, "deny.sh", f"echo '{json.dumps(decision)}'\n")
    settings_with_hooks(project, {"PreToolUse": command(deny)}, permissions={"allow": ["Bash"]})

    messages = (
        await run_query(
            "go",
            AgentOptions(
                model=ScriptedModel([tool_use_reply("Bash", {"command": "echo x"}), "ok"]),
                cwd=project,
                session_store=MemoryStore(),
            ),
        )
    ).messages

    [(text, is_error)] = tool_result_texts(messages)
    assert is_error and "JSON says no" in text


async def test_plain_stdout_of_a_prompt_hook_is_context_for_the_model(project: Path) -> None:
    settings_with_hooks(project, {"UserPromptSubmit": command("echo 'The build is red since Tuesday.'")})
    model = ScriptedModel(["noted"])

    await run_query("status?", AgentOptions(model=model, cwd=project, session_store=MemoryStore()))

    sent = json.dumps(model.last_request.messages)
    assert "status?" in sent and "The build is red since Tuesday." in sent


async def test_exit_2_on_a_prompt_blocks_it_and_nothing_reaches_the_model(project: Path) -> None:
    settings_with_hooks(project, {"UserPromptSubmit": command("echo 'prompts are frozen' >&2; exit 2")})
    model = ScriptedModel(["never"])

    messages = (await run_query("hello", AgentOptions(model=model, cwd=project, session_store=MemoryStore()))).messages

    result = result_of(messages)
    assert result.is_error and "prompts are frozen" in " ".join(result.errors or [])
    assert model.requests == []


async def test_another_exit_code_is_a_failure_that_does_not_block(project: Path) -> None:
    settings_with_hooks(project, {"PreToolUse": command("echo broken >&2; exit 1")}, permissions={"allow": ["Bash"]})

    messages = (
        await run_query(
            "go",
            AgentOptions(
                model=ScriptedModel([tool_use_reply("Bash", {"command": "echo ran"}), "ok"]),
                cwd=project,
                session_store=MemoryStore(),
            ),
        )
    ).messages

    assert tool_result_texts(messages) == [("ran", False)]


async def test_a_command_past_its_timeout_is_killed_and_does_not_block(project: Path) -> None:
    slow = script(project, "slow.sh", 'sleep 30\necho late > "$CLAUDE_PROJECT_DIR/late.txt"\n')
    settings_with_hooks(project, {"PreToolUse": command(slow, timeout=0.2)}, permissions={"allow": ["Bash"]})

    messages = (
        await run_query(
            "go",
            AgentOptions(
                model=ScriptedModel([tool_use_reply("Bash", {"command": "echo ran"}), "ok"]),
                cwd=project,
                session_store=MemoryStore(),
            ),
        )
    ).messages

    assert tool_result_texts(messages) == [("ran", False)]
    assert not (project / "late.txt").exists()


async def test_disable_all_hooks_turns_the_files_hooks_off(project: Path) -> None:
    settings_with_hooks(project, {"UserPromptSubmit": command("exit 2")}, disableAllHooks=True)

    messages = (
        await run_query("hello", AgentOptions(model=ScriptedModel(["hi"]), cwd=project, session_store=MemoryStore()))
    ).messages

    assert result_of(messages).result == "hi"


async def test_events_tether_does_not_fire_and_other_hook_types_are_skipped(project: Path) -> None:
    settings_with_hooks(
        project,
        {
            "SessionEnd": command("exit 2"),
            "UserPromptSubmit": [{"hooks": [{"type": "prompt", "prompt": "Is this ok?"}]}],
        },
    )

    messages = (
        await run_query("hello", AgentOptions(model=ScriptedModel(["hi"]), cwd=project, session_store=MemoryStore()))
    ).messages

    assert result_of(messages).result == "hi"


async def test_hook_commands_see_the_settings_env(project: Path) -> None:
    settings_with_hooks(
        project, {"UserPromptSubmit": command('echo "deploys go to $TARGET"')}, env={"TARGET": "staging"}
    )
    model = ScriptedModel(["ok"])

    await run_query("where?", AgentOptions(model=model, cwd=project, session_store=MemoryStore()))

    assert "deploys go to staging" in json.dumps(model.last_request.messages)
