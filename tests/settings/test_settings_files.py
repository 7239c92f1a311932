"""settings.json of each source: permission rules and mode, env, model, which sources are read, errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from tests.settings.helpers import init_data, result_of, tool_result_texts, write, write_json

from tether import AgentOptions, PermissionResultAllow
from tether.agent.settings import ClaudeSettings
from tether.errors import ConfigurationError, UnsupportedOptionError
from tether.testing import MemoryStore, ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio


def echo_call(word: str = "hello") -> Any:
    return tool_use_reply("Bash", {"command": f"echo {word}"})


async def test_project_allow_rules_let_a_command_run_and_empty_sources_read_nothing(project: Path) -> None:
    write_json(project / ".claude" / "settings.json", {"permissions": {"allow": ["Bash(echo:*)"]}})

    allowed = (
        await run_query(
            "go", AgentOptions(model=ScriptedModel([echo_call(), "done"]), cwd=project, session_store=MemoryStore())
        )
    ).messages
    isolated = (
        await run_query(
            "go",
            AgentOptions(
                model=ScriptedModel([echo_call(), "done"]), cwd=project, session_store=MemoryStore(), setting_sources=[]
            ),
        )
    ).messages

    assert tool_result_texts(allowed) == [("hello", False)]
    [(refusal, is_error)] = tool_result_texts(isolated)
    assert is_error and "not granted" in refusal


async def test_a_user_deny_rule_beats_the_options_allow_rule(project: Path, claude_home: Path) -> None:
    write(project / "secret" / "key.txt", "hunter2")
    write_json(claude_home / "settings.json", {"permissions": {"deny": ["Read(./secret/**)"]}})
    model = ScriptedModel([tool_use_reply("Read", {"file_path": str(project / "secret" / "key.txt")}), "ok"])

    messages = (
        await run_query(
            "read it", AgentOptions(model=model, cwd=project, session_store=MemoryStore(), allowed_tools=["Read"])
        )
    ).messages

    [(text, is_error)] = tool_result_texts(messages)
    assert is_error and "Read(./secret/**)" in text and "hunter2" not in text
    assert [denial["tool_name"] for denial in result_of(messages).permission_denials or []] == ["Read"]


async def test_ask_rules_send_calls_to_can_use_tool_even_when_an_allow_rule_matches(project: Path) -> None:
    write_json(
        project / ".claude" / "settings.json",
        {"permissions": {"allow": ["Bash"], "ask": ["Bash(rm:*)"]}},
    )
    asked: list[str] = []

    async def can_use_tool(name: str, tool_input: dict[str, Any], context: Any) -> PermissionResultAllow:
        asked.append(tool_input["command"])
        return PermissionResultAllow()

    calls = [tool_use_reply("Bash", {"command": "echo safe"}), tool_use_reply("Bash", {"command": "rm -f gone"})]
    messages = (
        await run_query(
            "go",
            AgentOptions(
                model=ScriptedModel([*calls, "done"]),
                cwd=project,
                session_store=MemoryStore(),
                can_use_tool=can_use_tool,
            ),
        )
    ).messages
    unanswered = (
        await run_query(
            "go", AgentOptions(model=ScriptedModel([calls[1], "done"]), cwd=project, session_store=MemoryStore())
        )
    ).messages

    assert asked == ["rm -f gone"]  # `echo` is allowed by the rule; `rm` asked despite it
    assert [is_error for _, is_error in tool_result_texts(messages)] == [False, False]
    [(text, is_error)] = tool_result_texts(unanswered)
    assert is_error and "Bash(rm:*)" in text  # nobody to ask: denied, saying which rule asked


async def test_default_mode_applies_when_the_options_set_none(project: Path) -> None:
    write_json(project / ".claude" / "settings.local.json", {"permissions": {"defaultMode": "acceptEdits"}})
    write_call = tool_use_reply("Write", {"file_path": str(project / "notes.md"), "content": "hi"})

    from_settings = (
        await run_query(
            "w", AgentOptions(model=ScriptedModel([write_call, "ok"]), cwd=project, session_store=MemoryStore())
        )
    ).messages
    explicit = (
        await run_query(
            "w",
            AgentOptions(
                model=ScriptedModel([write_call, "ok"]),
                cwd=project,
                session_store=MemoryStore(),
                permission_mode="plan",
            ),
        )
    ).messages

    assert init_data(from_settings)["permissionMode"] == "acceptEdits"
    assert tool_result_texts(from_settings)[0][1] is False and (project / "notes.md").read_text() == "hi"
    assert init_data(explicit)["permissionMode"] == "plan"


async def test_env_reaches_commands_under_the_options_env_and_not_the_host(project: Path) -> None:
    write_json(
        project / ".claude" / "settings.json",
        {"env": {"FROM_SETTINGS": "settings", "BOTH": "settings"}, "permissions": {"allow": ["Bash"]}},
    )
    call = tool_use_reply("Bash", {"command": 'echo "$FROM_SETTINGS $BOTH"'})

    messages = (
        await run_query(
            "env",
            AgentOptions(
                model=ScriptedModel([call, "ok"]), cwd=project, session_store=MemoryStore(), env={"BOTH": "options"}
            ),
        )
    ).messages

    assert tool_result_texts(messages) == [("settings options", False)]
    assert "FROM_SETTINGS" not in os.environ


async def test_sources_combine_in_precedence_order_and_the_settings_option_comes_last(
    project: Path, claude_home: Path
) -> None:
    write_json(claude_home / "settings.json", {"model": "user-model", "env": {"A": "user", "B": "user"}})
    write_json(project / ".claude" / "settings.json", {"model": "project-model", "env": {"A": "project"}})
    write_json(project / ".claude" / "settings.local.json", {"model": "local-model"})
    write_json(project / "flags.json", {"env": {"B": "flag"}})

    def applied(**options: Any) -> AgentOptions:
        given = AgentOptions(cwd=project, **options)
        return ClaudeSettings.load(given, project).apply(given)

    assert applied().model == "local-model"
    assert applied().env == {"A": "project", "B": "user"}
    assert applied(setting_sources=["user"]).model == "user-model"
    assert applied(setting_sources=["user", "project"]).model == "project-model"
    assert applied(settings="flags.json").env == {"A": "project", "B": "flag"}
    assert applied(settings='{"model": "inline-model"}').model == "inline-model"
    assert applied(model="explicit").model == "explicit"
    assert applied(setting_sources=[]).model is None


async def test_unknown_keys_are_ignored(project: Path) -> None:
    write_json(project / ".claude" / "settings.json", {"statusLine": {"type": "command"}, "cleanupPeriodDays": 3})

    messages = (
        await run_query("hi", AgentOptions(model=ScriptedModel(["hello"]), cwd=project, session_store=MemoryStore()))
    ).messages

    assert result_of(messages).result == "hello"


async def test_a_malformed_settings_file_names_the_file_and_line(project: Path) -> None:
    settings = write(project / ".claude" / "settings.json", '{\n  "permissions": {\n    "allow": ["Bash",]\n  }\n}')

    with pytest.raises(ConfigurationError, match=rf"{settings}:3: invalid JSON"):
        await run_query("hi", AgentOptions(model=ScriptedModel(["x"]), cwd=project, session_store=MemoryStore()))
    with pytest.raises(ConfigurationError, match=r"settings \(inline JSON\):2: invalid JSON"):
        await run_query(
            "hi",
            AgentOptions(
                model=ScriptedModel(["x"]),
                cwd=project,
                session_store=MemoryStore(),
                setting_sources=[],
                settings='{"model":\n oops}',
            ),
        )


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"permissions": {"defaultMode": "yolo"}}, "permissions.defaultMode: unknown permission mode 'yolo'"),
        ({"permissions": {"allow": "Bash"}}, "permissions.allow must be a list of strings"),
        ({"permissions": {"deny": ["Bash(unclosed"]}}, "permissions.deny: invalid permission rule"),
        ({"env": {"A": ["not", "text"]}}, "'env' must be an object"),
        ({"hooks": {"PreToolUse": [{"hooks": [{"type": "command"}]}]}}, "needs a 'command' string"),
    ],
)
async def test_a_bad_value_names_the_file_and_the_key(project: Path, content: Any, problem: str) -> None:
    settings = write_json(project / ".claude" / "settings.json", content)

    with pytest.raises(ConfigurationError) as caught:
        await run_query("hi", AgentOptions(model=ScriptedModel(["x"]), cwd=project, session_store=MemoryStore()))

    assert str(settings) in str(caught.value) and problem in str(caught.value)


async def test_bad_option_values_are_refused_at_start(project: Path) -> None:
    for options in ({"setting_sources": ["project", "team"]}, {"skills": "every"}, {"settings": "missing.json"}):
        with pytest.raises(ConfigurationError):
            await run_query(
                "hi", AgentOptions(model=ScriptedModel(["x"]), cwd=project, session_store=MemoryStore(), **options)
            )
    with pytest.raises(ConfigurationError, match="only local plugins"):
        await run_query(
            "hi",
            AgentOptions(
                model=ScriptedModel(["x"]),
                cwd=project,
                session_store=MemoryStore(),
                plugins=[{"type": "marketplace", "path": "x"}],
            ),
        )
    assert not isinstance(ConfigurationError("x"), UnsupportedOptionError)
