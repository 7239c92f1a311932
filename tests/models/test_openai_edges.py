"""OpenAIModel on what real OpenAI-compatible servers send besides the common case: several choices,
errors inside the stream, tool calls that break the protocol, and history the chat-completions
shape carries differently (images returned by tools, documents, plain-string assistant turns).
Through the real `openai` client against the fake servers on 127.0.0.1."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from tests.fakes import FakeOpenAIServer, Reply, StreamErrorReply, Text, ToolUse
from tests.fakes.faults import Events, FaultyOpenAIServer, openai_chunks
from tests.models.conftest import collect, user

from tether.errors import ModelError
from tether.models.base import ModelRequest
from tether.models.openai import OpenAIModel, from_openai_messages

pytestmark = pytest.mark.anyio

DONE = "data: [DONE]\n\n"
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def gpt(server: FakeOpenAIServer, **kwargs: Any) -> OpenAIModel:
    return OpenAIModel("gpt-fake", api_key="sk-test", base_url=server.url, retry_delay=0.001, **kwargs)


def error_chunk(message: str, **fields: Any) -> dict[str, Any]:
    """An `error` object inside a 200 stream, as vLLM and OpenAI send one."""
    return {"error": {"message": message, **fields}}


async def test_only_the_first_choice_is_kept_when_a_server_streams_several() -> None:
    chunks = openai_chunks("first choice")
    for chunk in openai_chunks("second choice"):
        for choice in chunk["choices"]:
            other = copy.deepcopy(chunk)
            other["choices"] = [{**choice, "index": 1}]
            chunks.insert(-1, other)
    with FaultyOpenAIServer([Events([*chunks, DONE])]) as server:
        _, response = await collect(gpt(server), ModelRequest([user("Hi")]))
    assert response.content == [{"type": "text", "text": "first choice"}]


async def test_an_error_inside_the_stream_that_stays_ends_the_call_naming_it() -> None:
    with FakeOpenAIServer([StreamErrorReply(message="Engine overloaded")] * 2) as server:
        with pytest.raises(ModelError) as caught:
            await collect(gpt(server, max_retries=1), ModelRequest([user("Hi")]))
    assert len(server.requests) == 2  # an overload is retried
    assert caught.value.status_code == 529
    assert "reported an error mid-stream: Engine overloaded" in str(caught.value)


async def test_a_client_error_inside_the_stream_is_not_retried() -> None:
    opening = openai_chunks("never finished")[:1]
    error = error_chunk("prompt is too long for this model", type="invalid_request_error", code=400)
    with FaultyOpenAIServer([Events([*opening, f"data: {json.dumps(error)}\n\n"])]) as server:
        with pytest.raises(ModelError) as caught:
            await collect(gpt(server, max_retries=3), ModelRequest([user("Hi")]))
    assert len(server.requests) == 1
    assert caught.value.status_code == 400
    assert "prompt is too long for this model" in str(caught.value)


def with_tool_call_index(index: Any) -> list[dict[str, Any] | str]:
    chunks = openai_chunks(Reply([ToolUse("Read", {"file_path": "a.txt"})]))
    for chunk in chunks:
        for choice in chunk["choices"]:
            for call in choice["delta"].get("tool_calls") or []:
                call["index"] = index
    return [*chunks, DONE]


async def test_a_tool_call_index_that_is_not_a_number_is_named() -> None:
    with FaultyOpenAIServer([Events(with_tool_call_index("first"))]) as server:
        with pytest.raises(ModelError) as caught:
            await collect(gpt(server, max_retries=0), ModelRequest([user("Hi")]))
    assert "a tool call has index 'first', not a whole number" in str(caught.value)


async def test_interleaved_arguments_of_two_tool_calls_are_refused() -> None:
    chunks = openai_chunks(Reply([ToolUse("Read", {"file_path": "a.txt"}), ToolUse("Read", {"file_path": "b.txt"})]))
    first_call = [
        c for c in chunks if any((ch["delta"].get("tool_calls") or [{}])[0].get("index") == 0 for ch in c["choices"])
    ]
    late_piece = first_call[-1]
    chunks.remove(late_piece)
    chunks.insert(-2, late_piece)  # a piece of call 0's arguments after call 1 started
    with FaultyOpenAIServer([Events([*chunks, DONE])]) as server:
        with pytest.raises(ModelError) as caught:
            await collect(gpt(server, max_retries=0), ModelRequest([user("Hi")]))
    assert "interleaved the arguments of several tool calls" in str(caught.value)


async def test_images_a_tool_returned_reach_the_model_in_a_user_message() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}
    history = [
        user("Screenshot the page."),
        {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "Screenshot", "input": {}}]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": [{"type": "text", "text": "done"}, image]}
            ],
        },
    ]
    with FakeOpenAIServer([Reply("A white pixel.")]) as server:
        await collect(gpt(server), ModelRequest(history))
    sent = server.requests[0]["messages"]
    assert sent[-2] == {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "done"}]}
    assert sent[-1] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "(images returned by tool call call_1)"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PIXEL}"}},
        ],
    }


async def test_a_plain_string_assistant_turn_and_a_document_are_sent_as_text() -> None:
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Q3 report"}}
    history: list[dict[str, Any]] = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi, how can I help?"},
        {"role": "user", "content": [document, {"type": "text", "text": "Summarise it."}]},
    ]
    with FakeOpenAIServer([Reply("Revenue rose.")]) as server:
        await collect(gpt(server), ModelRequest(history))
    sent = server.requests[0]["messages"]
    assert sent[1] == {"role": "assistant", "content": "Hi, how can I help?"}
    assert sent[2]["content"][0] == {"type": "text", "text": json.dumps(document)}


def test_history_from_a_reasoning_server_keeps_reasoning_and_tool_arguments() -> None:
    _, history = from_openai_messages(
        [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "The user wants the weather.",
                "tool_calls": [
                    {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
                    {"id": "b", "type": "function", "function": {"name": "get_time", "arguments": ""}},
                ],
            },
        ]
    )
    assert history[1]["content"] == [
        {"type": "thinking", "thinking": "The user wants the weather.", "signature": ""},
        {"type": "tool_use", "id": "a", "name": "get_weather", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "b", "name": "get_time", "input": {}},
    ]


async def test_the_reply_text_survives_a_reply_of_several_text_parts() -> None:
    with FakeOpenAIServer([Reply([Text("one "), Text("two")])]) as server:
        _, response = await collect(gpt(server), ModelRequest([user("Count.")]))
    assert "".join(block["text"] for block in response.content if block["type"] == "text") == "one two"
