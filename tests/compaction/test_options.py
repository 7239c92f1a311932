"""The tether options of long sessions: `context_window` (the window compaction counts against) and
`compact_model` (the model that writes the summaries)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.compaction.support import ASKS_FOR_SUMMARY, boundaries

from tether import AgentClient, AgentOptions, ConfigurationError, MemoryStore, Message
from tether.models.base import ModelRequest
from tether.testing import FunctionModel

pytestmark = pytest.mark.anyio


def answering(request: ModelRequest) -> str:
    return "<summary>the numbers so far</summary>" if ASKS_FOR_SUMMARY in json.dumps(request.messages) else "Noted."


async def talk(options: AgentOptions, prompts: list[str]) -> list[Message]:
    messages: list[Message] = []
    async with AgentClient(options) as client:
        for prompt in prompts:
            await client.query(prompt)
            messages += [message async for message in client.receive_response()]
    return messages


def turns(count: int) -> list[str]:
    return [f"Turn {n}: the number is {n * 11}. " + "Words to fill the context window. " * 16 for n in range(count)]


async def test_context_window_makes_a_model_tether_does_not_know_compact(project: Path) -> None:
    unknown = FunctionModel(answering)  # no window in tether's table: never compacts on its own
    assert boundaries(await talk(AgentOptions(model=unknown, tools=[], cwd=project), turns(12))) == []

    small = FunctionModel(answering)
    options = AgentOptions(model=small, tools=[], cwd=project, session_store=MemoryStore(), context_window=1_500)
    messages = await talk(options, turns(12))
    assert [b.data["compact_metadata"]["trigger"] for b in boundaries(messages)][:1] == ["auto"]


async def test_compact_model_writes_the_summaries(project: Path) -> None:
    session_model, summariser = FunctionModel(answering), FunctionModel(answering)
    options = AgentOptions(
        model=session_model, compact_model=summariser, tools=[], cwd=project, session_store=MemoryStore()
    )
    messages = await talk(options, ["one", "two", "/compact"])
    assert len(boundaries(messages)) == 1
    assert summariser.requests and all(ASKS_FOR_SUMMARY in json.dumps(r.messages) for r in summariser.requests)
    assert not any(ASKS_FOR_SUMMARY in json.dumps(r.messages) for r in session_model.requests)


@pytest.mark.parametrize("window", [0, -10, 2.5, True])
async def test_a_bad_context_window_fails_at_start(project: Path, window: object) -> None:
    options = AgentOptions(model=FunctionModel(answering), cwd=project, session_store=MemoryStore())
    options.context_window = window  # type: ignore[assignment]
    with pytest.raises(ConfigurationError, match="context_window"):
        await talk(options, ["hi"])
