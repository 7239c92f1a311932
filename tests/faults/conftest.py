"""What the fault tests share: each provider with its faulty server, short timeouts, and the check that
a session resumes after a fault with nothing of the failed reply in it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.fakes import Reply
from tests.fakes.faults import FaultyAnthropicServer, FaultyOpenAIServer, anthropic_events, openai_chunks
from tests.fakes.server import FakeServer

from tether import AgentOptions, Message, ResultMessage, SystemMessage
from tether.models.anthropic import AnthropicModel
from tether.models.base import Model
from tether.models.openai import OpenAIModel
from tether.testing import run_query

IDLE = 0.5
"""The `stream_idle_timeout` of the tests (seconds): short, so a hang ends the test quickly."""


@dataclass(frozen=True)
class Provider:
    """A provider under test: its faulty server, its model on that server, its stream framing."""

    name: str
    server: Callable[[], FakeServer]
    model: Callable[..., Model]
    events: Callable[[Reply | str], list[dict[str, Any]]]
    done: list[str]
    """What the stream sends after the last event (`data: [DONE]` for OpenAI)."""
    event_name: bool
    """Whether an SSE event needs an `event:` line to be read (Anthropic's do)."""

    def raw(self, data: str) -> str:
        """An SSE event with this `data:` text, verbatim (to send data that is not JSON)."""
        return f"event: content_block_delta\ndata: {data}\n\n" if self.event_name else f"data: {data}\n\n"

    def __str__(self) -> str:
        return self.name


def claude(server: Any, **kwargs: Any) -> Model:
    return AnthropicModel("claude-sonnet-4-5", api_key="test-key", base_url=server.url, retry_delay=0.001, **kwargs)


def gpt(server: Any, **kwargs: Any) -> Model:
    return OpenAIModel("gpt-fake", api_key="sk-test", base_url=server.url, retry_delay=0.001, **kwargs)


ANTHROPIC = Provider("anthropic", FaultyAnthropicServer, claude, anthropic_events, [], event_name=True)
OPENAI = Provider("openai", FaultyOpenAIServer, gpt, openai_chunks, ["data: [DONE]\n\n"], event_name=False)


@pytest.fixture(params=[ANTHROPIC, OPENAI], ids=str)
def provider(request: pytest.FixtureRequest) -> Provider:
    """Each HTTP provider in turn, through its HTTP client."""
    return request.param  # type: ignore[no-any-return]


def options(model: Model, project: Path, **extra: Any) -> AgentOptions:
    """Options on `model` in `project`, with the tests' short idle timeout (unless given)."""
    extra.setdefault("stream_idle_timeout", IDLE)
    return AgentOptions(model=model, cwd=project, **extra)


def session_id_of(messages: list[Message]) -> str:
    first = messages[0]
    assert isinstance(first, SystemMessage) and first.subtype == "init"
    return str(first.data["session_id"])


def result_of(messages: list[Message]) -> ResultMessage:
    last = messages[-1]
    assert isinstance(last, ResultMessage)
    return last


def error_of(messages: list[Message]) -> str:
    """The error of a run that must have failed with an error `ResultMessage`."""
    result = result_of(messages)
    assert result.is_error and result.subtype == "error_during_execution"
    assert result.errors and len(result.errors) == 1
    return result.errors[0]


def history(body: dict[str, Any]) -> list[tuple[str, str]]:
    """A request's conversation as (role, text), either wire shape; system messages left out."""
    turns: list[tuple[str, str]] = []
    for message in body["messages"]:
        if message["role"] == "system":
            continue
        content = message.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
        text = " | ".join(str(part.get("text", part.get("type"))) for part in parts)
        turns.append((message["role"], text))
    return turns


async def resumes_cleanly(server: Any, model: Model, project: Path, failed: list[Message]) -> None:
    """The failed run's session resumes: the model gets the earlier prompt and nothing of the fault."""
    server.add(Reply("Back again."))
    resumed = (await run_query("Still there?", options(model, project, resume=session_id_of(failed)))).messages
    assert session_id_of(resumed) == session_id_of(failed)
    result = result_of(resumed)
    assert not result.is_error and result.result == "Back again."
    turns = history(server.requests[-1])
    assert [role for role, _ in turns] == ["user"]  # the failed reply left nothing behind
    assert "Hello?" in turns[0][1] and "Still there?" in turns[0][1]
