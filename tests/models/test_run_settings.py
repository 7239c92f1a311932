"""Run settings on the wire: `thinking`, `max_thinking_tokens`, `effort`, `betas`, `task_budget`
and `client_app` reach the providers that have them, and fail at run start, naming the option
and the provider, on those that do not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.fakes import FakeAnthropicServer, FakeOpenAIServer, Reply, ToolUse

from tether import AgentOptions, ResultMessage, SystemMessage
from tether.errors import ConfigurationError, UnsupportedOptionError
from tether.sessions.keys import project_key_for_directory
from tether.sessions.stores.memory import MemoryStore
from tether.testing import run_query

pytestmark = pytest.mark.anyio


def claude(server: FakeAnthropicServer, cwd: Path, **extra: Any) -> AgentOptions:
    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test-key"}
    return AgentOptions(model="claude-sonnet-4-5", env=env, cwd=cwd, **extra)


def gpt(server: FakeOpenAIServer, cwd: Path, **extra: Any) -> AgentOptions:
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "test-key"}
    return AgentOptions(model="openai:gpt-4o", env=env, cwd=cwd, **extra)


async def test_claude_gets_thinking_effort_betas_task_budget_and_the_app_on_every_call(project: Path) -> None:
    (project / "notes.txt").write_text("hello\n")
    replies = [Reply([ToolUse("Read", {"file_path": str(project / "notes.txt")})]), Reply("It says hello.")]
    with FakeAnthropicServer(replies) as server:
        options = claude(
            server,
            project,
            allowed_tools=["Read"],
            thinking={"type": "adaptive", "display": "summarized"},
            effort="high",
            betas=["context-1m-2025-08-07"],
            task_budget={"total": 50_000},
            client_app="my-app/1.0.0",
        )
        messages = (await run_query("Hi", options)).messages

    assert isinstance(messages[-1], ResultMessage) and messages[-1].subtype == "success"
    assert isinstance(messages[0], SystemMessage) and messages[0].data["betas"] == ["context-1m-2025-08-07"]
    assert len(server.requests) == 2
    for body, headers in zip(server.requests, server.headers, strict=True):
        assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
        assert body["output_config"] == {"effort": "high", "task_budget": {"type": "tokens", "total": 50_000}}
        assert headers["anthropic-beta"].split(",") == ["context-1m-2025-08-07", "task-budgets-2026-03-13"]
        assert headers["user-agent"].startswith("tether/")
        assert headers["user-agent"].endswith(" my-app/1.0.0")


@pytest.mark.parametrize(
    ("settings", "thinking", "max_tokens"),
    [
        ({"max_thinking_tokens": 4096}, {"type": "enabled", "budget_tokens": 4096}, 8192 + 4096),
        ({"max_thinking_tokens": 0}, {"type": "disabled"}, 8192),
        ({"max_thinking_tokens": 4096, "thinking": {"type": "disabled"}}, {"type": "disabled"}, 8192),  # thinking wins
        ({"thinking": {"type": "enabled", "budget_tokens": 2048}}, {"type": "enabled", "budget_tokens": 2048}, 10240),
        ({"thinking": {"type": "enabled", "budget_tokens": 2048}, "max_tokens": 4000}, None, 4000),
    ],
)
async def test_the_older_max_thinking_tokens_maps_to_thinking_and_the_budget_fits_in_max_tokens(
    project: Path, settings: dict[str, Any], thinking: dict[str, Any] | None, max_tokens: int
) -> None:
    with FakeAnthropicServer([Reply("Hello")]) as server:
        await run_query("Hi", claude(server, project, **settings))
    assert server.requests[0]["thinking"] == (thinking or settings["thinking"])
    assert server.requests[0]["max_tokens"] == max_tokens  # thinking counts toward max_tokens
    assert "anthropic-beta" not in server.headers[0] and "output_config" not in server.requests[0]


async def test_an_openai_compatible_server_gets_effort_as_reasoning_effort_and_the_app(project: Path) -> None:
    with FakeOpenAIServer([Reply("Hello")]) as server:
        await run_query(
            "Hi", gpt(server, project, effort="low", client_app="my-app/2.0", thinking={"type": "disabled"})
        )
    body = server.requests[0]
    assert body["reasoning_effort"] == "low"
    assert "thinking" not in body  # disabled is what chat completions do anyway
    assert server.headers[0]["user-agent"].startswith("AsyncOpenAI/Python ")
    assert server.headers[0]["user-agent"].endswith(" my-app/2.0")


@pytest.mark.parametrize(
    ("settings", "option"),
    [
        ({"thinking": {"type": "adaptive"}}, "thinking"),
        ({"max_thinking_tokens": 2048}, "max_thinking_tokens"),
        ({"betas": ["context-1m-2025-08-07"]}, "betas"),
        ({"task_budget": {"total": 1000}}, "task_budget"),
    ],
)
async def test_what_chat_completions_cannot_do_fails_at_run_start_before_anything_is_stored(
    project: Path, settings: dict[str, Any], option: str
) -> None:
    store = MemoryStore()
    with FakeOpenAIServer([Reply("Hello")]) as server:
        with pytest.raises(UnsupportedOptionError, match="OpenAI-compatible") as raised:
            await run_query("Hi", gpt(server, project, session_store=store, **settings))
    assert raised.value.option == option
    assert server.requests == []
    assert await store.list_sessions(project_key_for_directory(str(project.resolve()))) == []


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"effort": "extreme"}, "effort"),
        ({"thinking": {"type": "enabled"}}, "budget_tokens"),
        ({"thinking": {"type": "sometimes"}}, "thinking"),
        ({"max_thinking_tokens": -1}, "max_thinking_tokens"),
        ({"task_budget": {"total": 0}}, "task_budget"),
        ({"client_app": "my app\r\nX-Evil: 1"}, "client_app"),
    ],
)
async def test_malformed_settings_fail_at_run_start(project: Path, settings: dict[str, Any], named: str) -> None:
    with FakeAnthropicServer([Reply("Hello")]) as server:
        with pytest.raises(ConfigurationError, match=named):
            await run_query("Hi", claude(server, project, **settings))
    assert server.requests == []


async def test_an_empty_client_app_sends_no_label(project: Path) -> None:
    with FakeAnthropicServer([Reply("Hello")]) as server:
        await run_query("Hi", claude(server, project, client_app=""))
    assert " " not in server.headers[0]["user-agent"]  # "tether/<version>" only


@pytest.mark.local_model
@pytest.mark.parametrize(
    ("settings", "option"),
    [({"effort": "high"}, "effort"), ({"thinking": {"type": "adaptive"}}, "thinking"), ({"betas": ["x"]}, "betas")],
)
async def test_the_local_model_rejects_what_it_cannot_do(project: Path, settings: dict[str, Any], option: str) -> None:
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'tether[local]')")
    with pytest.raises(UnsupportedOptionError, match="local model") as raised:
        await run_query("Hi", AgentOptions(model="local:smollm2", cwd=project, **settings))
    assert raised.value.option == option


async def test_claude_codes_environment_variables_stand_in_for_unset_options(project: Path) -> None:
    claude_code_env = {"MAX_THINKING_TOKENS": "8000", "CLAUDE_AGENT_SDK_CLIENT_APP": "env-app/1"}
    with FakeAnthropicServer([Reply("Hello"), Reply("Hello")]) as server:
        from_env = claude(server, project)
        from_env.env.update(claude_code_env)
        await run_query("Hi", from_env)
        from_option = claude(server, project, client_app="option-app/2")
        from_option.env.update(claude_code_env)
        await run_query("Hi", from_option)
    assert server.requests[0]["thinking"] == {"type": "enabled", "budget_tokens": 8000}
    assert server.headers[0]["user-agent"].endswith(" env-app/1")
    assert server.headers[1]["user-agent"].endswith(" option-app/2")  # the option wins


async def test_max_thinking_tokens_from_the_environment_is_named_when_a_provider_cannot_think(project: Path) -> None:
    with FakeOpenAIServer([Reply("Hello")]) as server:
        options = gpt(server, project)
        options.env["MAX_THINKING_TOKENS"] = "8000"
        with pytest.raises(UnsupportedOptionError, match="MAX_THINKING_TOKENS"):
            await run_query("Hi", options)
    assert server.requests == []
