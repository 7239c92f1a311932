"""AnthropicModel through its Messages client (real HTTP) against FakeAnthropicServer on 127.0.0.1."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from tests.fakes import Disconnect, ErrorReply, FakeAnthropicServer, Reply, StreamErrorReply, Text, Thinking, ToolUse
from tests.models.conftest import collect, user

from tether.errors import ConfigurationError, ModelError
from tether.models import resolve_model
from tether.models.anthropic import AnthropicModel
from tether.models.base import ModelRequest, RawStreamEvent, ToolSpec
from tether.models.fallback import FallbackModel
from tether.models.pricing import cost_usd

pytestmark = pytest.mark.anyio

WEATHER = ToolSpec(
    "get_weather",
    "Current weather of a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def claude(server: FakeAnthropicServer, name: str = "claude-sonnet-4-6", **kwargs: Any) -> AnthropicModel:
    return AnthropicModel(name, api_key="test-key", base_url=server.url, retry_delay=0.001, **kwargs)


async def test_streamed_text_re_yields_every_event_and_builds_the_response() -> None:
    with FakeAnthropicServer([Reply("Hello from the fake Claude!")]) as server:
        events, response = await collect(claude(server), ModelRequest([user("Hi")], system="Be brief."))

    kinds = [event["type"] for event in events]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.count("content_block_delta") > 1  # the text came in several deltas; keep-alive pings are dropped
    assert (
        "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta") == response.content[0]["text"]
    )
    assert response.content == [{"type": "text", "text": "Hello from the fake Claude!"}]
    assert response.stop_reason == "end_turn"
    assert response.model == "claude-sonnet-4-6"
    assert response.id == events[0]["message"]["id"]

    body = server.requests[0]
    assert body["stream"] is True and body["model"] == "claude-sonnet-4-6" and body["max_tokens"] == 8192
    assert body["system"] == [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}]
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}}]}
    ]
    headers = server.headers[0]
    assert "test-key" in (headers.get("x-api-key", "") + headers.get("authorization", ""))


async def test_tool_use_round_trip_sends_the_full_history_back() -> None:
    first = Reply(
        [Thinking("The user wants weather.", "sig-1"), Text("Let me look."), ToolUse("get_weather", {"city": "Paris"})]
    )
    with FakeAnthropicServer([first, Reply("It is sunny in Paris.")]) as server:
        model = claude(server)
        history = [user("Weather in Paris?")]
        _, response = await collect(model, ModelRequest(history, tools=[WEATHER]))

        assert response.stop_reason == "tool_use"
        thinking, text, call = response.content
        assert thinking == {"type": "thinking", "thinking": "The user wants weather.", "signature": "sig-1"}
        assert text == {"type": "text", "text": "Let me look."}
        assert call["type"] == "tool_use" and call["name"] == "get_weather"
        assert call["input"] == {"city": "Paris"}  # assembled from several input_json_delta pieces

        history = [
            *history,
            {"role": "assistant", "content": response.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "sunny, 21 C"}]},
        ]
        sent = copy.deepcopy(history)
        _, final = await collect(model, ModelRequest(history, tools=[WEATHER]))

    assert final.content == [{"type": "text", "text": "It is sunny in Paris."}]
    assert history == sent, "the request's history must not be modified"
    body = server.requests[1]
    assert body["messages"][:2] == history[:2]  # the whole history, thinking signature included
    last = body["messages"][2]["content"][0]
    assert last == {**history[2]["content"][0], "cache_control": {"type": "ephemeral"}}
    assert body["tools"] == [{**WEATHER.to_dict(), "cache_control": {"type": "ephemeral"}}]


async def test_usage_and_cost_from_the_price_table() -> None:
    reply = Reply(
        "ok", input_tokens=1000, output_tokens=200, cache_creation_input_tokens=3000, cache_read_input_tokens=5000
    )
    with FakeAnthropicServer([reply, Reply("ok"), Reply("ok", model="claude-haiku-4-5-20251001")]) as server:
        _, response = await collect(claude(server), ModelRequest([user("Hi")]))
        _, unknown = await collect(claude(server, "claude-from-the-future-9"), ModelRequest([user("Hi")]))
        _, dated = await collect(claude(server), ModelRequest([user("Hi")]))

    assert response.usage == {
        "input_tokens": 1000,
        "output_tokens": 200,
        "cache_creation_input_tokens": 3000,
        "cache_read_input_tokens": 5000,
    }
    # claude-sonnet-4-6: $3 input, $15 output, $3.75 5-minute cache writes, $0.30 cache reads per million
    expected = (1000 * 3 + 200 * 15 + 3000 * 3.75 + 5000 * 0.30) / 1_000_000
    assert response.cost_usd == pytest.approx(expected)
    assert unknown.cost_usd is None  # unknown price: reported as unknown, never 0
    assert dated.model == "claude-haiku-4-5-20251001"
    assert dated.cost_usd == pytest.approx(cost_usd("claude-haiku-4-5", dated.usage))


@pytest.mark.parametrize(
    "failure",
    [
        ErrorReply(429),
        ErrorReply(529),
        ErrorReply(503),
        StreamErrorReply("overloaded_error"),
        Disconnect(),
        Reply("x", cut_after=1),
    ],
    ids=["429", "529", "503", "overloaded-in-stream", "dropped-connection", "cut-before-content"],
)
async def test_transient_failures_are_retried(failure: Any) -> None:
    with FakeAnthropicServer([failure, Reply("Recovered.")]) as server:
        events, response = await collect(claude(server), ModelRequest([user("Hi")]))

    assert response.content == [{"type": "text", "text": "Recovered."}]
    assert len(server.requests) == 2
    assert server.requests[0] == server.requests[1]
    assert sum(1 for e in events if e["type"] == "message_start") == 1  # the failed attempt left nothing behind


async def test_repeated_500_raises_model_error_with_the_status() -> None:
    with FakeAnthropicServer([ErrorReply(500, "boom")] * 3) as server:
        with pytest.raises(ModelError) as caught:
            await collect(claude(server, max_retries=2), ModelRequest([user("Hi")]))

    assert caught.value.status_code == 500
    assert caught.value.provider == "anthropic"
    assert "HTTP 500" in str(caught.value) and "boom" in str(caught.value) and "2 retries" in str(caught.value)
    assert caught.value.body["error"]["type"] == "api_error"
    assert len(server.requests) == 3


async def test_errors_that_retrying_cannot_fix_are_not_retried() -> None:
    with FakeAnthropicServer([ErrorReply(400, "messages: roles must alternate")]) as server:
        with pytest.raises(ModelError) as caught:
            await collect(claude(server), ModelRequest([user("Hi")]))
    assert caught.value.status_code == 400 and "roles must alternate" in str(caught.value)
    assert len(server.requests) == 1


async def test_a_stream_cut_off_mid_message_is_an_error_and_no_response() -> None:
    items: list[object] = []
    with FakeAnthropicServer([Reply("This answer never finishes, sadly.", cut_after=6)]) as server:
        with pytest.raises(ModelError) as caught:
            async for item in claude(server).stream(ModelRequest([user("Hi")])):
                items.append(item)

    assert all(isinstance(item, RawStreamEvent) for item in items)  # partial events, never a response
    assert caught.value.status_code is None
    assert "dropped mid-response" in str(caught.value) or "cut off" in str(caught.value)
    assert len(server.requests) == 1  # content had been streamed: not retried


async def test_401_says_the_key_is_wrong() -> None:
    with FakeAnthropicServer([ErrorReply(401, "invalid x-api-key")]) as server:
        with pytest.raises(ModelError) as caught:
            await collect(claude(server), ModelRequest([user("Hi")]))

    assert caught.value.status_code == 401
    assert "API key is wrong" in str(caught.value) and "ANTHROPIC_API_KEY" in str(caught.value)
    assert len(server.requests) == 1


async def test_environment_configures_key_token_and_base_url() -> None:
    with FakeAnthropicServer(["one", "two"]) as server:
        by_key = resolve_model(
            "claude-haiku-4-5", env={"ANTHROPIC_API_KEY": "sk-env", "ANTHROPIC_BASE_URL": server.url}
        )
        by_token = resolve_model(
            "anthropic:claude-haiku-4-5", env={"ANTHROPIC_AUTH_TOKEN": "tok", "ANTHROPIC_BASE_URL": server.url}
        )
        _, first = await collect(by_key, ModelRequest([user("Hi")]))
        _, second = await collect(by_token, ModelRequest([user("Hi")]))

    assert [first.content[0]["text"], second.content[0]["text"]] == ["one", "two"]
    assert "sk-env" in server.headers[0].get("x-api-key", "") + server.headers[0].get("authorization", "")
    assert server.headers[1]["authorization"] == "Bearer tok"
    assert server.requests[0]["model"] == server.requests[1]["model"] == "claude-haiku-4-5"


async def test_each_call_sends_the_api_version_the_key_and_the_default_headers() -> None:
    with FakeAnthropicServer(["one"]) as server:
        model = claude(server, default_headers={"X-Team": "search"})
        await collect(model, ModelRequest([user("Hi")]))
    headers = server.headers[0]
    assert headers["x-api-key"] == "test-key" and "authorization" not in headers
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["x-team"] == "search"
    assert headers["content-type"] == "application/json"
    assert server.requests[0]["stream"] is True


async def test_an_overload_reported_in_the_stream_keeps_its_status_and_the_apis_words() -> None:
    with FakeAnthropicServer([StreamErrorReply("overloaded_error", "Overloaded right now")] * 2) as server:
        with pytest.raises(ModelError) as caught:
            await collect(claude(server, max_retries=1), ModelRequest([user("Hi")]))
    assert caught.value.status_code == 529
    assert "overloaded (HTTP 529: overloaded_error Overloaded right now) after 1 retry" in str(caught.value)
    error = {"type": "overloaded_error", "message": "Overloaded right now"}
    assert caught.value.body == {"type": "error", "error": error}
    assert len(server.requests) == 2


async def test_without_any_credential_the_call_names_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    with FakeAnthropicServer(["never sent"]) as server:
        model = AnthropicModel("claude-sonnet-4-6", base_url=server.url)
        with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
            await collect(model, ModelRequest([user("Hi")]))
    assert server.requests == []


async def test_a_credential_from_the_environment_is_used_when_none_is_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "gateway-token")
    with FakeAnthropicServer(["hello"]) as server:
        await collect(AnthropicModel("claude-sonnet-4-6", base_url=server.url), ModelRequest([user("Hi")]))
    assert server.headers[0]["authorization"] == "Bearer gateway-token" and "x-api-key" not in server.headers[0]


async def test_fallback_model_serves_the_turn_on_repeated_overload() -> None:
    overloaded = [ErrorReply(529, "Overloaded")] * 3
    with FakeAnthropicServer([*overloaded, Reply("Served by the fallback.")]) as server:
        model = FallbackModel(claude(server, "claude-opus-4-6", max_retries=2), claude(server, "claude-haiku-4-5"))
        events, response = await collect(model, ModelRequest([user("Hi")]))

    assert response.content == [{"type": "text", "text": "Served by the fallback."}]
    assert response.model == "claude-haiku-4-5"
    assert [body["model"] for body in server.requests] == ["claude-opus-4-6"] * 3 + ["claude-haiku-4-5"]
    assert events[0]["message"]["model"] == "claude-haiku-4-5"


async def test_fallback_is_not_used_for_other_errors() -> None:
    with FakeAnthropicServer([ErrorReply(401)]) as server:
        model = FallbackModel(claude(server, "claude-opus-4-6"), claude(server, "claude-haiku-4-5"))
        with pytest.raises(ModelError) as caught:
            await collect(model, ModelRequest([user("Hi")]))
    assert caught.value.status_code == 401
    assert len(server.requests) == 1


async def test_fallback_through_resolve_model() -> None:
    with FakeAnthropicServer([ErrorReply(529)] * 5 + ["fallback answer"]) as server:
        env = {"ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": server.url}
        model = resolve_model("claude-opus-4-6", fallback_model="claude-sonnet-4-6", env=env)
        assert isinstance(model, FallbackModel) and model.model_name == "claude-opus-4-6"
        assert isinstance(model.primary, AnthropicModel)
        model.primary.retry_policy = type(model.primary.retry_policy)(max_retries=4, initial_delay=0.001)
        _, response = await collect(model, ModelRequest([user("Hi")]))
    assert response.model == "claude-sonnet-4-6" and response.content[0]["text"] == "fallback answer"
