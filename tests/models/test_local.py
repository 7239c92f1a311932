"""The embedded model: real generations with llama.cpp (xllamacpp) and SmolLM2-135M (needs the `local` extra)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncGenerator
from typing import Any

import anyio
import jsonschema
import pytest
from tests.models.conftest import collect, user

from tether.models.base import ModelRequest, RawStreamEvent, ToolSpec

pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'tether[local]')")
pytestmark = [pytest.mark.anyio, pytest.mark.local_model]

from tether.models.local import LocalModel  # noqa: E402
from tether.models.local_prompt import build_prompt_messages, relevant_tools  # noqa: E402
from tether.models.local_schema import tool_schema  # noqa: E402
from tether.tools.registry import builtin_tools  # noqa: E402

BUILTIN = [ToolSpec(tool.name, tool.description, tool.input_schema) for tool in builtin_tools(None)]

WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
ADD = ToolSpec(
    "add",
    "Add two numbers.",
    {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]},
)


async def test_a_real_generation_streams_text() -> None:
    model = LocalModel(temperature=0, max_tokens=48)
    events, response = await collect(model, ModelRequest([user("Say hello in one short sentence.")]))

    assert response.model == "local:smollm2"
    assert len(response.content) == 1 and response.content[0]["type"] == "text"
    text = response.content[0]["text"]
    assert text.strip()
    deltas = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    assert len(deltas) > 1 and "".join(deltas) == text  # streamed token by token
    assert response.stop_reason in ("end_turn", "max_tokens")
    assert response.usage["input_tokens"] > 5 and 0 < response.usage["output_tokens"] <= 48
    assert response.cost_usd == 0.0


def _assert_valid_call(block: dict[str, Any], tools: list[ToolSpec]) -> ToolSpec:
    assert block["type"] == "tool_use" and block["id"].startswith("toolu_local_")
    spec = next(tool for tool in tools if tool.name == block["name"])
    jsonschema.validate(block["input"], spec.input_schema)
    return spec


async def test_constrained_decoding_always_gives_a_well_formed_tool_call() -> None:
    model = LocalModel(temperature=0, tool_choice="any")
    events, response = await collect(model, ModelRequest([user("I need to add 2 and 3.")], tools=[WEATHER, ADD]))

    assert response.stop_reason == "tool_use" and len(response.content) == 1
    _assert_valid_call(response.content[0], [WEATHER, ADD])
    pieces = [e["delta"].get("partial_json", "") for e in events if e["type"] == "content_block_delta"]
    assert json.loads("".join(pieces)) == response.content[0]["input"]  # StreamEvents carry the call too


async def test_the_model_picks_the_tool_a_question_needs_and_answers_after_its_result() -> None:
    model = LocalModel(temperature=0)
    history: list[dict[str, Any]] = [user("What's the weather in Paris?")]
    _, response = await collect(model, ModelRequest(history, tools=[WEATHER, ADD]))

    assert response.stop_reason == "tool_use"
    call = response.content[0]
    assert _assert_valid_call(call, [WEATHER, ADD]) is WEATHER and call["input"]["city"] == "Paris"

    history += [
        {"role": "assistant", "content": response.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "Sunny, 21 C"}]},
    ]
    _, answer = await collect(model, ModelRequest(history, tools=[WEATHER, ADD], max_tokens=40))
    assert [block["type"] for block in answer.content] == ["text"]  # after one tool round it answers
    assert answer.content[0]["text"].strip()


def test_prompt_and_schema_design() -> None:
    request = ModelRequest(
        [
            user("Weather?"),
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Oslo"}}],
            },
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "cold"}]},
        ],
        system="Be brief.",
        tools=[WEATHER],
    )
    chat = build_prompt_messages(request, allow_tools=True)
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "user"]
    assert chat[0]["content"].startswith("Be brief.") and "get_weather" in chat[0]["content"]
    assert json.loads(chat[2]["content"]) == {"tool": "get_weather", "input": {"city": "Oslo"}}
    assert chat[3]["content"] == "Result of get_weather: it returned:\ncold"
    schema = tool_schema([WEATHER])
    assert schema["anyOf"][0]["properties"] == {"answer": {"type": "string"}}
    assert schema["anyOf"][1]["properties"]["tool"] == {"const": "get_weather"}


async def test_a_history_longer_than_the_context_keeps_the_latest_turns() -> None:
    model = LocalModel(temperature=0, max_tokens=16, n_ctx=512)
    history: list[dict[str, Any]] = []
    for turn in range(12):
        history += [user(f"Message number {turn}: " + "filler words " * 20), {"role": "assistant", "content": "ok"}]
    history.append(user("Say yes."))
    _, response = await collect(model, ModelRequest(history))
    assert response.usage["input_tokens"] <= 512 - 16
    assert response.content[0]["type"] == "text"


async def test_leaving_a_stream_early_stops_its_generation() -> None:
    model = LocalModel(max_tokens=300)
    stream = model.stream(ModelRequest([user("Write a long story about the sea.")]))
    assert isinstance(stream, AsyncGenerator)
    async for item in stream:
        if isinstance(item, RawStreamEvent) and item.event["type"] == "content_block_delta":
            break
    await stream.aclose()
    assert not [t for t in threading.enumerate() if t.name == "tether-local-model"]
    _, response = await collect(model, ModelRequest([user("Say yes.")], max_tokens=8))  # the model is free again
    assert response.usage["output_tokens"] <= 8


async def test_cancelling_a_stream_stops_its_generation_before_the_cancel_returns() -> None:
    model = LocalModel(max_tokens=300)
    stream = model.stream(ModelRequest([user("Write a long story about the sea.")]))
    assert isinstance(stream, AsyncGenerator)
    deltas = 0
    with anyio.CancelScope() as scope:  # how an interrupt ends a model call
        async for item in stream:
            if isinstance(item, RawStreamEvent) and item.event["type"] == "content_block_delta":
                deltas += 1
                scope.cancel()
    assert scope.cancelled_caught and deltas == 1
    assert not [t for t in threading.enumerate() if t.name == "tether-local-model"]
    await stream.aclose()


def test_only_the_tools_a_prompt_is_about_are_offered() -> None:
    def offered(prompt: str, tools: list[ToolSpec]) -> list[str]:
        return [tool.name for tool in relevant_tools(ModelRequest([user(prompt)], tools=tools))]

    assert offered("Say hello in five words.", BUILTIN) == []
    assert offered("Help me build a web application", BUILTIN) == []
    assert offered("What's the weather in Paris?", [WEATHER, ADD]) == ["get_weather"]
    assert "Read" in offered("What is in the file README.md?", BUILTIN)
    assert "Grep" in offered("Search for TODO in the code", BUILTIN)
    assert offered("Execute ls", BUILTIN) == ["Bash"]
    after_a_call = [
        user("Weather in Oslo?"),
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "cold"}]},
    ]
    assert [t.name for t in relevant_tools(ModelRequest(after_a_call, tools=[WEATHER, ADD]))] == ["get_weather"]


async def test_small_talk_gets_an_answer_not_a_tool_call() -> None:
    model = LocalModel(temperature=0, max_tokens=120)
    _, response = await collect(model, ModelRequest([user("Say hello in five words.")], tools=BUILTIN))
    assert [block["type"] for block in response.content] == ["text"] and response.content[0]["text"].strip()
    everything = LocalModel(temperature=0, max_tokens=120, offer_tools="all")
    _, eager = await collect(everything, ModelRequest([user("Say hello in five words.")], tools=BUILTIN))
    assert eager.content[0]["type"] == "tool_use"  # what offering every tool to a 135M model does
