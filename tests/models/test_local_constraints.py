"""The embedded model's constrained decoding keeps what a JSON schema promises, and its server keeps to
this process (real generations with SmolLM2-135M; needs the `local` extra).

llama.cpp's schema compiler (LLGuidance) drops a schema it cannot compile without a word and then
generates free text; a top-level `oneOf` is such a schema, and an object that does not forbid extra
keys gets some from a small model. These tests fail if a constrained reply does not parse, breaks
its schema, or has a key the schema does not declare.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
from tests.models.conftest import collect, user

from tether.errors import ConfigurationError, ModelError
from tether.models.base import ModelRequest, ToolSpec
from tether.models.settings import ModelSettings

pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'tether[local]')")
pytestmark = [pytest.mark.anyio, pytest.mark.local_model]

from tether.models import local  # noqa: E402
from tether.models.local import LocalModel  # noqa: E402

SENTIMENT = {"enum": ["positive", "negative", "neutral"]}
REVIEW_BRANCHES: list[dict[str, Any]] = [
    {
        "type": "object",
        "properties": {"sentiment": SENTIMENT, "summary": {"type": "string", "maxLength": 60}},
        "required": ["sentiment"],
    },
    {
        "type": "object",
        "properties": {"sentiment": SENTIMENT, "score": {"type": "integer", "minimum": 0, "maximum": 10}},
        "required": ["sentiment"],
    },
]
REVIEW = {"oneOf": REVIEW_BRANCHES}
"""Both traps at once: a top-level `oneOf` whose branches overlap (`{"sentiment": "positive"}` is
both), of objects that do not say `additionalProperties`. The local model reads `oneOf` as `anyOf`."""
TEMPTING = (
    "Review: 'I love this phone, the battery lasts for days!' Give the sentiment, a summary, the reasons, "
    "a score out of 10, the author and the date."
)
"""A prompt that asks for more keys than the schema has."""

WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
PIZZA = ToolSpec(
    "order_pizza",
    "Order a pizza.",
    {
        "$defs": {"size": {"enum": ["small", "medium", "large"]}},
        "type": "object",
        "properties": {"size": {"$ref": "#/$defs/size"}, "toppings": {"type": "array", "items": {"type": "string"}}},
        "required": ["size"],
    },
)


def assert_keeps_review(text: str) -> None:
    """`text` is JSON matching a branch of `REVIEW`, with no key that branch does not declare."""
    value = json.loads(text)
    matching = [branch for branch in REVIEW_BRANCHES if jsonschema.Draft202012Validator(branch).is_valid(value)]
    assert matching, f"{value} matches no branch of the schema"
    assert any(set(value) <= set(branch["properties"]) for branch in matching), f"{value} has extra keys"


async def test_structured_output_parses_and_has_no_extra_keys() -> None:
    model = LocalModel(temperature=0, max_tokens=120)
    request = ModelRequest([user(TEMPTING)], settings=ModelSettings(output_schema=REVIEW))
    model.check_settings(request.settings)
    _, response = await collect(model, request)

    assert response.stop_reason == "end_turn"
    assert [block["type"] for block in response.content] == ["text"]
    assert_keeps_review(response.content[0]["text"])


async def test_structured_output_beside_tools_parses_and_has_no_extra_keys() -> None:
    model = LocalModel(temperature=0, max_tokens=120, offer_tools="all")
    request = ModelRequest([user(TEMPTING)], tools=[WEATHER], settings=ModelSettings(output_schema=REVIEW))
    _, response = await collect(model, request)

    block = response.content[0]
    if block["type"] == "tool_use":  # the reply may call the tool instead; then the call keeps its schema
        jsonschema.validate(block["input"], WEATHER.input_schema)
        assert set(block["input"]) == {"city"}
    else:
        assert response.stop_reason == "end_turn"
        assert_keeps_review(block["text"])


async def test_a_tool_schema_with_definitions_constrains_the_call() -> None:
    model = LocalModel(temperature=0, tool_choice="any")
    request = ModelRequest([user("Order me a large pizza with olives.")], tools=[WEATHER, PIZZA])
    _, response = await collect(model, request)

    call = response.content[0]
    assert response.stop_reason == "tool_use" and call["type"] == "tool_use"
    spec = next(tool for tool in (WEATHER, PIZZA) if tool.name == call["name"])
    jsonschema.validate(call["input"], spec.input_schema)
    assert set(call["input"]) <= set(spec.input_schema["properties"])


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}, "does not resolve"),
        ({"type": "object", "properties": {"a": {"type": "strin"}}}, "not a valid JSON schema"),
        ({"$ref": "https://example.com/schema.json"}, "points outside the schema"),
    ],
)
def test_a_schema_that_cannot_constrain_decoding_is_refused_at_run_start(schema: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigurationError, match=f"output_format: .*{problem}"):
        LocalModel().check_settings(ModelSettings(output_schema=schema))


async def test_a_tool_whose_schema_cannot_constrain_decoding_is_named() -> None:
    broken = ToolSpec("lookup", "Look up a word.", {"type": "object", "properties": {"word": {"$ref": "#/nowhere"}}})
    request = ModelRequest([user("Look up the word cat.")], tools=[broken])
    with pytest.raises(ModelError, match="the input schema of tool 'lookup': \\$ref '#/nowhere' does not resolve"):
        await collect(LocalModel(tool_choice="any"), request)


async def test_the_model_server_listens_on_loopback_and_needs_this_process_key() -> None:
    model = LocalModel(max_tokens=4)
    await collect(model, ModelRequest([user("Say yes.")]))  # the server runs once the model has answered
    engine = local._engine(model.weights.path(), model.n_ctx, model.n_threads)
    address = urlsplit(engine.server.listening_address)
    assert address.hostname == "127.0.0.1"

    def status(headers: dict[str, str]) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", address.port or 80, timeout=30)
        try:
            connection.request("POST", "/tokenize", body=json.dumps({"content": "hi"}), headers=headers)
            return connection.getresponse().status
        finally:
            connection.close()

    assert status({}) == 401
    assert status({"Authorization": "Bearer guessed"}) == 401
    assert engine.count("hi") > 0  # the engine itself holds the key
