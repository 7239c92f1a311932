"""`fallback_model`: an overloaded primary hands the turn to the fallback, per turn, in a real run;
what the fallback cannot honour fails at run start; a fallback that fails too names both models.
Through tether's Messages client and the real `openai` client, against the fake servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.fakes import ErrorReply, FakeAnthropicServer, FakeOpenAIServer, Reply, ToolUse
from tests.fakes.script import Scripted
from tests.models.conftest import collect, collect_all, user

from tether import AgentOptions, AssistantMessage, ResultMessage
from tether.errors import ModelError, UnsupportedOptionError
from tether.models.anthropic import AnthropicModel
from tether.models.base import ModelRequest
from tether.models.fallback import FallbackModel
from tether.testing import run_query

pytestmark = pytest.mark.anyio


def claude(server: FakeAnthropicServer, name: str = "claude-opus-4-6", **kwargs: Any) -> AnthropicModel:
    return AnthropicModel(name, api_key="test-key", base_url=server.url, retry_delay=0.001, **kwargs)


def openai_env(server: FakeOpenAIServer) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}


async def test_every_turn_of_a_run_tries_the_primary_then_the_fallback_serves_it(project: Path) -> None:
    (project / "notes.txt").write_text("the meeting is at noon\n")
    read = ToolUse("Read", {"file_path": str(project / "notes.txt")})
    with (
        FakeAnthropicServer([ErrorReply(529)] * 2) as primary_server,
        FakeOpenAIServer([Reply([read]), Reply("The meeting is at noon.")]) as fallback_server,
    ):
        options = AgentOptions(
            model=claude(primary_server, max_retries=0),
            fallback_model="openai:gpt-4o",
            env=openai_env(fallback_server),
            cwd=project,
            allowed_tools=["Read"],
        )
        messages = (await run_query("When is the meeting?", options)).messages

    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.subtype == "success", result
    assert result.result == "The meeting is at noon."
    assert len(primary_server.requests) == 2  # each of the two turns asked the primary first
    assert [m.model for m in messages if isinstance(m, AssistantMessage)] == ["gpt-4o", "gpt-4o"]
    assert set(result.model_usage or {}) == {"gpt-4o"}  # usage is the model's that served the turns


async def test_a_setting_the_fallback_cannot_honour_fails_at_run_start(project: Path) -> None:
    with FakeAnthropicServer([Reply("Hello")]) as primary_server, FakeOpenAIServer([Reply("Hello")]) as fallback_server:
        options = AgentOptions(
            model=claude(primary_server),
            fallback_model="openai:gpt-4o",
            env=openai_env(fallback_server),
            cwd=project,
            thinking={"type": "enabled", "budget_tokens": 2048},
        )
        with pytest.raises(UnsupportedOptionError, match="OpenAI-compatible") as raised:
            await run_query("Hi", options)
    assert raised.value.option == "thinking"
    assert primary_server.requests == [] and fallback_server.requests == []


async def test_a_fallback_that_fails_too_names_both_models() -> None:
    with FakeAnthropicServer([ErrorReply(529), ErrorReply(503, "Service Unavailable")]) as server:
        model = FallbackModel(
            claude(server, "claude-opus-4-6", max_retries=0), claude(server, "claude-haiku-4-5", max_retries=0)
        )
        with pytest.raises(ModelError) as caught:
            await collect(model, ModelRequest([user("Hi")]))
    message = str(caught.value)
    assert caught.value.status_code == 503
    assert "the fallback model 'claude-haiku-4-5' was serving the turn because 'claude-opus-4-6' failed" in message
    assert "HTTP 529" in message and "HTTP 503" in message


async def test_a_rate_limit_notice_from_the_primary_does_not_stop_the_fallback() -> None:
    rate_limited = ErrorReply(429, headers={"retry-after": "0"})
    replies: list[Scripted] = [rate_limited, ErrorReply(529), Reply("Served by the fallback.")]
    with FakeAnthropicServer(replies) as server:
        model = FallbackModel(claude(server, "claude-opus-4-6", max_retries=1), claude(server, "claude-haiku-4-5"))
        _, limits, response = await collect_all(model, ModelRequest([user("Hi")]))
    assert len(limits) == 1
    assert response.model == "claude-haiku-4-5" and response.content == [
        {"type": "text", "text": "Served by the fallback."}
    ]
