"""How a streamed Messages API reply becomes a response, event by event: citations, delta types the
API may add later, tool calls without arguments or cut off by `max_tokens`, and streams that break
the protocol (named, never half-kept). Through tether's Messages client against the
fault-injecting fake server; plus the error messages of statuses a user can fix."""

from __future__ import annotations

from typing import Any

import pytest
from tests.fakes import ErrorReply, FakeAnthropicServer, FakeOpenAIServer, Reply, Text, ToolUse
from tests.fakes.faults import Events, FaultyAnthropicServer, anthropic_events
from tests.models.conftest import collect, user

from tether.errors import ModelError
from tether.models.anthropic import AnthropicModel
from tether.models.base import ModelRequest, ModelResponse
from tether.models.openai import OpenAIModel

pytestmark = pytest.mark.anyio

READ_CALL = Reply([Text("Let me look."), ToolUse("Read", {"file_path": "notes.txt"})], chunk_size=100)


def claude(server: FakeAnthropicServer, **kwargs: Any) -> AnthropicModel:
    return AnthropicModel("claude-sonnet-4-5", api_key="test-key", base_url=server.url, retry_delay=0.001, **kwargs)


def position(events: list[dict[str, Any]], kind: str, index: int | None = None) -> int:
    """Where the first event of `kind` (for content block `index`, if given) is."""
    return next(i for i, e in enumerate(events) if e["type"] == kind and (index is None or e.get("index") == index))


async def play(events: list[dict[str, Any]], **model: Any) -> ModelResponse:
    with FaultyAnthropicServer([Events(events)]) as server:
        _, response = await collect(claude(server, **model), ModelRequest([user("Hi")]))
    return response


async def fails(events: list[dict[str, Any]]) -> str:
    """The message of the `ModelError` a call on this stream ends with (no retries)."""
    with pytest.raises(ModelError) as caught:
        await play(events, max_retries=0)
    return str(caught.value)


async def test_citations_streamed_for_a_text_block_are_kept_on_it() -> None:
    events = anthropic_events(Reply("The sky is blue.", chunk_size=100))
    citation = {"type": "char_location", "cited_text": "blue", "document_index": 0, "start_char_index": 0}
    delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "citations_delta", "citation": citation}}
    events.insert(position(events, "content_block_stop", 0), delta)

    response = await play(events)

    assert response.content == [{"type": "text", "text": "The sky is blue.", "citations": [citation]}]


async def test_a_delta_type_the_api_adds_later_is_skipped() -> None:
    events = anthropic_events(Reply("Hello.", chunk_size=100))
    future = {"type": "content_block_delta", "index": 0, "delta": {"type": "hologram_delta", "frames": 3}}
    events.insert(position(events, "content_block_stop", 0), future)

    response = await play(events)

    assert response.content == [{"type": "text", "text": "Hello."}]


async def test_a_tool_call_without_arguments_gets_an_empty_input() -> None:
    events = anthropic_events(Reply([ToolUse("Clock", {})]))
    events = [e for e in events if e.get("delta", {}).get("type") != "input_json_delta"]

    response = await play(events)

    (call,) = response.content
    assert (call["name"], call["input"]) == ("Clock", {})


def cut_in_the_arguments(stop_reason: str) -> list[dict[str, Any]]:
    """A reply whose tool call's JSON input stops halfway, then ends with `stop_reason`."""
    events = anthropic_events(READ_CALL)
    arguments = events[position(events, "content_block_delta", 1)]["delta"]
    arguments["partial_json"] = arguments["partial_json"][:10]
    events[position(events, "message_delta")]["delta"]["stop_reason"] = stop_reason
    return events


async def test_a_tool_call_cut_off_by_max_tokens_is_dropped_and_the_text_kept() -> None:
    response = await play(cut_in_the_arguments("max_tokens"))

    assert response.stop_reason == "max_tokens"
    assert response.content == [{"type": "text", "text": "Let me look."}]


async def test_a_tool_call_whose_input_is_not_json_fails_the_call() -> None:
    assert "the input of tool call 'Read' is not valid JSON" in await fails(cut_in_the_arguments("tool_use"))


async def test_a_block_the_stream_never_closed_is_still_complete() -> None:
    events = anthropic_events(READ_CALL)
    del events[position(events, "content_block_stop", 1)]

    response = await play(events)

    assert response.content[1]["input"] == {"file_path": "notes.txt"}


async def test_a_stream_without_message_stop_keeps_nothing() -> None:
    events = anthropic_events(READ_CALL)
    assert "ended before the message was complete" in await fails(events[:-1])


async def test_a_delta_for_a_block_never_started_is_named() -> None:
    events = anthropic_events(READ_CALL)
    events[position(events, "content_block_delta", 1)]["index"] = 7
    assert "a delta arrived for content block 7, which was never started" in await fails(events)


async def test_a_text_delta_that_is_not_text_is_named() -> None:
    events = anthropic_events(READ_CALL)
    events[position(events, "content_block_delta", 0)]["delta"]["text"] = 42
    assert "the text of a text_delta of block 0 is a number, not a string" in await fails(events)


async def test_a_content_block_that_is_not_an_object_is_named() -> None:
    events = anthropic_events(READ_CALL)
    events[position(events, "content_block_start", 0)]["content_block"] = "text"
    assert "the content_block of a content_block_start event is a string, not an object" in await fails(events)


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (403, "the credentials lack permission for 'claude-sonnet-4-5'"),
        (404, "is the model name 'claude-sonnet-4-5' right?"),
    ],
)
async def test_statuses_the_user_can_fix_say_what_to_check(status: int, said: str) -> None:
    with FakeAnthropicServer([ErrorReply(status)]) as server:
        with pytest.raises(ModelError) as caught:
            await collect(claude(server), ModelRequest([user("Hi")]))
    assert caught.value.status_code == status and said in str(caught.value)
    assert len(server.requests) == 1  # not retried


async def test_an_openai_404_names_the_model_too() -> None:
    with FakeOpenAIServer([ErrorReply(404)]) as server:
        model = OpenAIModel("gpt-nonexistent", api_key="sk-test", base_url=server.url, retry_delay=0.001)
        with pytest.raises(ModelError) as caught:
            await collect(model, ModelRequest([user("Hi")]))
    assert "is the model name 'gpt-nonexistent' right?" in str(caught.value)
