"""OpenAIModel through the real `openai` client against FakeOpenAIServer, and the history conversion."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.fakes import ErrorReply, FakeOpenAIServer, Reply, StreamErrorReply, Text, Thinking, ToolUse
from tests.models.conftest import collect, user

from tether.errors import ModelError
from tether.models import resolve_model
from tether.models.base import ModelRequest, RawStreamEvent, ToolSpec
from tether.models.openai import ChunkTranslator, OpenAIModel, from_openai_messages, to_openai_messages
from tether.models.pricing import ModelPrice

pytestmark = pytest.mark.anyio

WEATHER = ToolSpec(
    "get_weather",
    "Current weather of a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def gpt(server: FakeOpenAIServer, name: str = "gpt-fake", **kwargs: Any) -> OpenAIModel:
    return OpenAIModel(name, api_key="sk-test", base_url=server.url, retry_delay=0.001, **kwargs)


async def test_streamed_text_as_anthropic_shaped_events() -> None:
    with FakeOpenAIServer([Reply("Hello from a compatible server!", input_tokens=30, output_tokens=9)]) as server:
        events, response = await collect(gpt(server), ModelRequest([user("Hi")], system="Be brief.", max_tokens=100))

    kinds = [event["type"] for event in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert kinds.count("content_block_delta") > 1
    assert response.content == [{"type": "text", "text": "Hello from a compatible server!"}]
    assert response.stop_reason == "end_turn"
    assert response.model == "gpt-fake" and response.id is not None
    assert response.id == "chatcmpl-fake" + response.id[-4:]
    assert response.usage == {
        "input_tokens": 30,
        "output_tokens": 9,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    assert response.cost_usd is None  # no price known for an arbitrary server

    body = server.requests[0]
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}]},
    ]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 100 and "max_completion_tokens" not in body  # a server other than OpenAI's
    assert server.headers[0]["authorization"] == "Bearer sk-test"


async def test_tool_call_round_trip() -> None:
    first = Reply([Thinking("need the tool"), Text("Checking."), ToolUse("get_weather", {"city": "Paris"})])
    with FakeOpenAIServer([first, Reply("Sunny in Paris.")]) as server:
        model = gpt(server)
        history = [user("Weather in Paris?")]
        _, response = await collect(model, ModelRequest(history, tools=[WEATHER]))

        assert response.stop_reason == "tool_use"
        thinking, text, call = response.content
        assert thinking == {"type": "thinking", "thinking": "need the tool", "signature": ""}
        assert text == {"type": "text", "text": "Checking."}
        assert call["type"] == "tool_use" and call["name"] == "get_weather" and call["input"] == {"city": "Paris"}

        history += [
            {"role": "assistant", "content": response.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "21 C, sunny"}]},
        ]
        sent = copy.deepcopy(history)
        _, final = await collect(model, ModelRequest(history, tools=[WEATHER]))

    assert final.content == [{"type": "text", "text": "Sunny in Paris."}]
    assert history == sent
    body = server.requests[1]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": WEATHER.description, "parameters": WEATHER.input_schema},
        }
    ]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call["id"], "content": "21 C, sunny"},
    ]


async def test_cached_tokens_and_a_given_price() -> None:
    reply = Reply("ok", input_tokens=100, output_tokens=10, cache_read_input_tokens=900)
    price = ModelPrice(input=2.0, output=8.0, cache_read=0.5)
    with FakeOpenAIServer([reply]) as server:
        _, response = await collect(gpt(server, price=price), ModelRequest([user("Hi")]))
    assert response.usage["input_tokens"] == 100 and response.usage["cache_read_input_tokens"] == 900
    assert response.cost_usd == pytest.approx((100 * 2.0 + 10 * 8.0 + 900 * 0.5) / 1_000_000)


@pytest.mark.parametrize("failure", [ErrorReply(429), ErrorReply(503), StreamErrorReply("server_error")])
async def test_transient_failures_are_retried(failure: Any) -> None:
    with FakeOpenAIServer([failure, Reply("Recovered.")]) as server:
        _, response = await collect(gpt(server), ModelRequest([user("Hi")]))
    assert response.content == [{"type": "text", "text": "Recovered."}]
    assert len(server.requests) == 2


async def test_401_says_the_key_is_wrong() -> None:
    with FakeOpenAIServer([ErrorReply(401, "Incorrect API key provided")]) as server:
        with pytest.raises(ModelError) as caught:
            await collect(gpt(server), ModelRequest([user("Hi")]))
    assert caught.value.status_code == 401 and caught.value.provider == "openai"
    assert "API key is wrong" in str(caught.value) and "OPENAI_API_KEY" in str(caught.value)


async def test_repeated_500_and_cut_off_streams_raise_model_errors() -> None:
    with FakeOpenAIServer([ErrorReply(500)] * 2 + [Reply("never finished", cut_after=4)]) as server:
        with pytest.raises(ModelError) as failed:
            await collect(gpt(server, max_retries=1), ModelRequest([user("Hi")]))
        items: list[Any] = []
        with pytest.raises(ModelError) as cut:
            async for item in gpt(server).stream(ModelRequest([user("Hi")])):
                items.append(item)
    assert failed.value.status_code == 500 and "1 retry" in str(failed.value)
    assert cut.value.status_code is None
    assert items and all(isinstance(item, RawStreamEvent) for item in items)


async def test_resolve_model_reads_openai_environment() -> None:
    with FakeOpenAIServer(["from env"]) as server:
        model = resolve_model("openai:qwen2.5-7b", env={"OPENAI_BASE_URL": server.url})
        assert isinstance(model, OpenAIModel) and model.model_name == "qwen2.5-7b"
        _, response = await collect(model, ModelRequest([user("Hi")]))
    assert response.content[0]["text"] == "from env"
    assert server.requests[0]["model"] == "qwen2.5-7b"


def test_openai_itself_gets_max_completion_tokens() -> None:
    params = OpenAIModel("gpt-4o", api_key="k").request_params(ModelRequest([user("Hi")], max_tokens=50))
    assert params["max_completion_tokens"] == 50 and "max_tokens" not in params


# -- conversion -----------------------------------------------------------------------------------

IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
HISTORY: list[dict[str, Any]] = [
    {"role": "user", "content": "Plain string prompt"},
    {"role": "assistant", "content": [{"type": "text", "text": "A plain answer."}]},
    {"role": "user", "content": [{"type": "text", "text": "Look at this"}, IMAGE]},
    {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "I will run two tools."},
            {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/a.txt"}},
            {"type": "tool_use", "id": "toolu_2", "name": "Bash", "input": {"command": "ls", "timeout": 5}},
        ],
    },
    {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "file contents"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": "no such command", "is_error": True},
            {"type": "text", "text": "And now?"},
        ],
    },
    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_3", "name": "Glob", "input": {}}]},
    {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_3", "content": [{"type": "text", "text": "a.py"}]},
            {"type": "tool_result", "tool_use_id": "toolu_4"},
        ],
    },
    {"role": "assistant", "content": [{"type": "text", "text": "First part."}, {"type": "text", "text": "Second."}]},
    {"role": "user", "content": [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]},
    {"role": "assistant", "content": []},
]


def test_history_round_trips_through_openai_messages_without_loss() -> None:
    converted = to_openai_messages(HISTORY, system="You are terse.")
    system, back = from_openai_messages(converted)
    assert system == "You are terse."
    assert back == HISTORY
    # and the other way round, starting from chat-completions messages
    assert to_openai_messages(back, system) == converted


def test_openai_messages_round_trip_through_the_anthropic_shape() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hello"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "<tool_use_error>bad x</tool_use_error>"},
        {"role": "user", "content": [{"type": "text", "text": "try again"}]},
        {"role": "assistant", "content": "done"},
    ]
    system, history = from_openai_messages(messages)
    assert history[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "c1", "content": "bad x", "is_error": True},
            {"type": "text", "text": "try again"},
        ],
    }
    assert to_openai_messages(history, system) == messages


def test_what_chat_completions_cannot_carry_is_left_out() -> None:
    history = [
        user("q"),
        {
            "role": "assistant",
            "content": [{"type": "thinking", "thinking": "secret", "signature": "sig"}, {"type": "text", "text": "a"}],
        },
        {"role": "user", "content": [{"type": "text", "text": "more", "cache_control": {"type": "ephemeral"}}]},
    ]
    converted = to_openai_messages(history)
    assert converted[1] == {"role": "assistant", "content": "a"}
    assert converted[2] == {"role": "user", "content": [{"type": "text", "text": "more"}]}


def test_translator_rejects_a_stream_without_finish_reason() -> None:
    translator = ChunkTranslator("m")
    events = translator.feed({"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"content": "partial"}}]})
    assert [e["type"] for e in events] == ["message_start", "content_block_start", "content_block_delta"]
    with pytest.raises(Exception, match="finish_reason"):
        translator.finish()
