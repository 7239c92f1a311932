"""What reaches the Anthropic API for request shapes the common tests do not send (a plain-string
last message, a caller's `user_id`), and the run settings that fail at start, naming themselves,
before any request. Through tether's Messages client against FakeAnthropicServer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.fakes import FakeAnthropicServer, Reply
from tests.models.conftest import collect

from tether import AgentOptions, query
from tether.errors import ConfigurationError
from tether.models.anthropic import AnthropicModel
from tether.models.base import ModelRequest

pytestmark = pytest.mark.anyio


def claude(server: FakeAnthropicServer) -> AnthropicModel:
    return AnthropicModel("claude-sonnet-4-5", api_key="test-key", base_url=server.url, retry_delay=0.001)


async def test_a_plain_string_last_message_gets_the_cache_breakpoint() -> None:
    with FakeAnthropicServer([Reply("Hello.")]) as server:
        await collect(claude(server), ModelRequest([{"role": "user", "content": "Hi there"}]))
    (sent,) = server.requests[0]["messages"]
    assert sent["content"] == [{"type": "text", "text": "Hi there", "cache_control": {"type": "ephemeral"}}]


async def test_a_callers_user_id_is_sent_as_metadata() -> None:
    request = ModelRequest([{"role": "user", "content": "Hi"}], metadata={"user_id": "user-42"})
    with FakeAnthropicServer([Reply("Hello.")]) as server:
        await collect(claude(server), request)
    assert server.requests[0]["metadata"] == {"user_id": "user-42"}


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"betas": "context-1m-2025-08-07"}, "betas must be a list of beta names"),
        ({"env": {"MAX_THINKING_TOKENS": "lots"}}, "the environment variable MAX_THINKING_TOKENS must be a number"),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2048, "display": "verbose"}},
            "thinking display must be 'summarized' or 'omitted', not 'verbose'",
        ),
    ],
)
async def test_a_malformed_run_setting_fails_before_any_request(
    project: Path, settings: dict[str, Any], problem: str
) -> None:
    with FakeAnthropicServer([Reply("Hello.")]) as server:
        env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test-key", **settings.pop("env", {})}
        options = AgentOptions(model="claude-sonnet-4-5", env=env, cwd=project, **settings)
        with pytest.raises(ConfigurationError) as caught:
            async for _ in query(prompt="Hi", options=options):
                pass
    assert problem in str(caught.value)
    assert server.requests == []
