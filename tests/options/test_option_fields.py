"""Every `ClaudeAgentOptions` field: accepted by keyword with the SDK's default, then honoured,
not applicable, or refused at run start with `UnsupportedOptionError` naming it."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import claude_agent_sdk
import pytest

from tether import (
    AgentOptions,
    AssistantMessage,
    ClaudeAgentOptions,
    ResultMessage,
    SystemMessage,
    UserMessage,
    query,
)
from tether._vocabulary.store import SessionKey
from tether.errors import ConfigurationError, UnsupportedOptionError
from tether.options import NOT_APPLICABLE_OPTIONS, UNSUPPORTED_OPTIONS
from tether.sessions.keys import project_key_for_directory
from tether.testing import MemoryStore, ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio

SDK_FIELDS = {f.name: f for f in dataclasses.fields(claude_agent_sdk.ClaudeAgentOptions)}


async def _noop_permission(name: str, tool_input: dict[str, Any], context: Any) -> Any:
    return claude_agent_sdk.PermissionResultAllow()


# A value other than the SDK's default for every field, valid in shape.
SAMPLES: dict[str, Any] = {
    "tools": ["Read"],
    "allowed_tools": ["Read"],
    "system_prompt": "Be brief.",
    "mcp_servers": {"echo": {"type": "stdio", "command": "true"}},
    "strict_mcp_config": True,
    "permission_mode": "dontAsk",
    "continue_conversation": True,
    "resume": "8d6f2a1e-0000-4000-8000-000000000001",
    "session_id": "8d6f2a1e-0000-4000-8000-000000000002",
    "max_turns": 3,
    "max_budget_usd": 1.5,
    "disallowed_tools": ["Bash"],
    "model": "claude-sonnet-4-5",
    "fallback_model": "claude-haiku-4-5",
    "betas": ["context-1m-2025-08-07"],
    "permission_prompt_tool_name": "mcp__approver__ask",
    "cwd": "/tmp",
    "cli_path": "/usr/local/bin/claude",
    "settings": '{"permissions": {"allow": ["Read"]}}',
    "add_dirs": ["/tmp"],
    "env": {"MY_FLAG": "1"},
    "extra_args": {"replay-user-messages": None},
    "max_buffer_size": 4096,
    "debug_stderr": io.StringIO(),
    "stderr": print,
    "can_use_tool": _noop_permission,
    "hooks": {"PreToolUse": []},
    "user": "nobody",
    "include_partial_messages": True,
    "include_hook_events": True,
    "forward_subagent_text": True,
    "verbatim_prompts": True,
    "fork_session": True,
    "resume_session_at": "8d6f2a1e-0000-4000-8000-000000000003",
    "resume_drops_turn": "8d6f2a1e-0000-4000-8000-000000000004",
    "agents": {"reviewer": {"description": "Reviews code", "prompt": "Review the diff."}},
    "setting_sources": ["project"],
    "skills": "all",
    "sandbox": {"enabled": True},
    "plugins": [{"type": "local", "path": "/tmp/plugin"}],
    "max_thinking_tokens": 2048,
    "thinking": {"type": "adaptive"},
    "effort": "low",
    "output_format": {"type": "json_schema", "schema": {"type": "object"}},
    "enable_file_checkpointing": True,
    "session_store": MemoryStore(),
    "session_store_flush": "eager",
    "load_timeout_ms": 5_000,
    "task_budget": {"total": 20_000},
    "client_app": "my-app/1.0.0",
}


def sdk_default(name: str) -> Any:
    spec = SDK_FIELDS[name]
    return spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default


def test_every_sdk_field_has_a_sample() -> None:
    assert set(SAMPLES) == set(SDK_FIELDS)
    for name, value in SAMPLES.items():
        assert value != sdk_default(name), name


def test_every_sdk_field_is_accepted_by_keyword_with_the_sdks_default() -> None:
    sdk_options = claude_agent_sdk.ClaudeAgentOptions()
    values = {name: getattr(sdk_options, name) for name in SDK_FIELDS}

    options = ClaudeAgentOptions(**values)

    for name, value in values.items():
        assert getattr(options, name) == value, name
    defaults = AgentOptions()
    for name in SDK_FIELDS:
        assert getattr(defaults, name) == sdk_default(name), name
    assert defaults.debug_stderr is claude_agent_sdk.ClaudeAgentOptions().debug_stderr
    assert (defaults.session_store_flush, defaults.load_timeout_ms) == ("batched", 60_000)


def test_every_sdk_field_takes_a_non_default_value() -> None:
    options = AgentOptions(**SAMPLES)

    for name, value in SAMPLES.items():
        assert getattr(options, name) is value, name


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        AgentOptions(["Read"])  # type: ignore[call-arg]


def test_tethers_own_fields_stay() -> None:
    options = AgentOptions(persist_session=False, max_tokens=512, session_store="memory://")
    assert (options.persist_session, options.max_tokens, options.session_store) == (False, 512, "memory://")


def test_every_field_is_classified_once() -> None:
    assert not set(NOT_APPLICABLE_OPTIONS) & set(UNSUPPORTED_OPTIONS)
    assert set(NOT_APPLICABLE_OPTIONS) | set(UNSUPPORTED_OPTIONS) <= set(SDK_FIELDS)


async def test_a_run_with_every_option_at_the_sdks_default_goes_through(project: Path) -> None:
    sdk_options = claude_agent_sdk.ClaudeAgentOptions()
    values = {name: getattr(sdk_options, name) for name in SDK_FIELDS}
    values.update(model=ScriptedModel(["fine"]), cwd=project, session_store=MemoryStore())

    messages = (await run_query("hello", AgentOptions(**values))).messages

    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "fine"


@pytest.mark.parametrize("name", sorted(UNSUPPORTED_OPTIONS))
async def test_an_unsupported_option_fails_the_run_at_start_naming_it(name: str, project: Path) -> None:
    model = ScriptedModel(["never sent"])
    store = MemoryStore()
    options = AgentOptions(model=model, cwd=project, session_store=store, **{name: SAMPLES[name]})

    with pytest.raises(UnsupportedOptionError) as caught:
        await run_query("hello", options)

    assert caught.value.option == name
    assert repr(name) in str(caught.value)
    assert model.requests == []
    assert await store.list_sessions(project_key_for_directory(str(project))) == []


@pytest.mark.parametrize("name", sorted(NOT_APPLICABLE_OPTIONS))
async def test_an_option_about_the_cli_subprocess_is_accepted_and_changes_nothing(name: str, project: Path) -> None:
    model = ScriptedModel(["fine"])
    options = AgentOptions(model=model, cwd=project, session_store=MemoryStore(), **{name: SAMPLES[name]})

    messages = (await run_query("hello", options)).messages

    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "fine"


async def test_the_stderr_callback_is_never_called(project: Path) -> None:
    lines: list[str] = []
    options = AgentOptions(model=ScriptedModel(["fine"]), cwd=project, session_store=MemoryStore(), stderr=lines.append)

    await run_query("hello", options)

    assert lines == []


async def test_setting_sources_empty_or_none_means_no_settings_and_is_accepted(project: Path) -> None:
    sources: list[str] | None
    for sources in (None, []):
        options = AgentOptions(
            model=ScriptedModel(["fine"]), cwd=project, session_store=MemoryStore(), setting_sources=sources
        )
        messages = (await run_query("hello", options)).messages
        assert isinstance(messages[-1], ResultMessage) and not messages[-1].is_error


async def test_diagnostic_cli_flags_are_accepted_and_other_flags_refused(project: Path) -> None:
    accepted = {"debug-file": str(project / "debug.log"), "verbose": None}
    options = AgentOptions(model=ScriptedModel(["fine"]), cwd=project, session_store=MemoryStore(), extra_args=accepted)
    messages = (await run_query("hello", options)).messages
    assert isinstance(messages[-1], ResultMessage) and not messages[-1].is_error
    assert not (project / "debug.log").exists()

    refused = AgentOptions(
        model=ScriptedModel(["x"]), cwd=project, session_store=MemoryStore(), extra_args={"max-thinking": "9"}
    )
    with pytest.raises(UnsupportedOptionError, match="--max-thinking") as caught:
        await run_query("hello", refused)
    assert caught.value.option == "extra_args"


@pytest.mark.parametrize("mode", ["batched", "eager"])
async def test_each_session_store_flush_mode_has_every_message_stored_before_it_is_yielded(
    mode: Any, project: Path
) -> None:
    store = MemoryStore()
    model = ScriptedModel([tool_use_reply("Glob", {"pattern": "*"}), "stored"])
    options = AgentOptions(model=model, cwd=project, session_store=store, session_store_flush=mode)
    key: SessionKey | None = None
    checked = 0

    async for message in query(prompt="hello", options=options):
        if isinstance(message, SystemMessage):
            key = SessionKey(project_key=project_key_for_directory(str(project)), session_id=message.data["session_id"])
        elif isinstance(message, (AssistantMessage, UserMessage)):
            assert key is not None
            entries = await store.load(key)
            assert entries is not None and message.uuid in {entry.get("uuid") for entry in entries}
            checked += 1

    assert checked == 3  # the tool call, its result, the answer


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("session_store_flush", "sometimes", "session_store_flush must be one of batched, eager"),
        ("load_timeout_ms", -1, "load_timeout_ms must be"),
        ("load_timeout_ms", 2.5, "load_timeout_ms must be"),
        ("task_budget", {"tokens": 5}, "task_budget must be"),
        ("task_budget", {"total": 0}, "task_budget must be"),
        ("permission_mode", "yolo", "unknown permission mode 'yolo'"),
    ],
)
async def test_a_malformed_value_is_a_configuration_error_at_start(
    field: str, value: Any, problem: str, project: Path
) -> None:
    model = ScriptedModel(["never sent"])
    options = AgentOptions(model=model, cwd=project, session_store=MemoryStore(), **{field: value})

    with pytest.raises(ConfigurationError, match=problem) as caught:
        await run_query("hello", options)

    assert not isinstance(caught.value, UnsupportedOptionError)
    assert model.requests == []


@pytest.mark.parametrize("verbatim", [False, True])
async def test_prompts_reach_the_model_as_written_whatever_verbatim_prompts_says(verbatim: bool, project: Path) -> None:
    (project / "secret.txt").write_text("do not read me")
    prompt = "Summarise @secret.txt and run /compact"
    model = ScriptedModel(["ok"])
    options = AgentOptions(model=model, cwd=project, session_store=MemoryStore(), verbatim_prompts=verbatim)

    await run_query(prompt, options)

    sent = json.dumps(model.requests[0].messages)
    assert prompt in sent and "do not read me" not in sent


@pytest.mark.parametrize("strict", [False, True])
async def test_only_the_mcp_servers_option_is_used_whatever_strict_mcp_config_says(strict: bool, project: Path) -> None:
    config = {"mcpServers": {"stray": {"type": "stdio", "command": "does-not-exist"}}}
    (project / ".mcp.json").write_text(json.dumps(config))
    options = AgentOptions(
        model=ScriptedModel(["ok"]), cwd=project, session_store=MemoryStore(), strict_mcp_config=strict
    )

    messages = (await run_query("hello", options)).messages

    init = messages[0]
    assert isinstance(init, SystemMessage)
    assert init.data["mcp_servers"] == []
    assert not any(name.startswith("mcp__") for name in init.data["tools"])
