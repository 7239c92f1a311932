"""Structured output (`output_format`): the schema goes to the provider, the final answer is
validated against it, asked for again once when it does not match, then the run fails naming
the violation. Real provider clients against the fake servers; the local model for real."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
from tests.fakes import FakeAnthropicServer, FakeOpenAIServer, Reply, Text, ToolUse

from tether import AgentOptions, Message, ResultMessage, UserMessage
from tether.errors import ConfigurationError
from tether.messages import TextBlock
from tether.models.settings import structured_output
from tether.testing import run_query

pytestmark = pytest.mark.anyio

CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer", "minimum": 0}},
    "required": ["city", "population"],
}
OUTPUT = {"type": "json_schema", "schema": CITY}
PARIS = '{"city": "Paris", "population": 2100000}'


def claude(server: FakeAnthropicServer, cwd: Path, **extra: Any) -> AgentOptions:
    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test-key"}
    return AgentOptions(model="claude-sonnet-4-5", env=env, cwd=cwd, **{"output_format": OUTPUT, **extra})


def gpt(server: FakeOpenAIServer, cwd: Path, **extra: Any) -> AgentOptions:
    env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "test-key"}
    return AgentOptions(model="openai:gpt-4o", env=env, cwd=cwd, **{"output_format": OUTPUT, **extra})


def result_of(messages: list[Message]) -> ResultMessage:
    assert isinstance(messages[-1], ResultMessage)
    return messages[-1]


async def test_claude_gets_the_schema_and_the_result_carries_the_parsed_answer(project: Path) -> None:
    with FakeAnthropicServer([Reply(PARIS)]) as server:
        result = (await run_query("Largest city of France?", claude(server, project))).result

    assert result.subtype == "success" and not result.is_error
    assert result.structured_output == {"city": "Paris", "population": 2100000}
    assert result.result == PARIS
    output_format = server.requests[0]["output_config"]["format"]  # the API's structured outputs
    assert output_format["type"] == "json_schema"
    assert output_format["schema"]["required"] == ["city", "population"]
    assert output_format["schema"]["properties"]["city"] == {"type": "string"}
    assert output_format["schema"]["properties"]["population"]["type"] == "integer"


async def test_an_openai_compatible_server_gets_the_schema_as_response_format(project: Path) -> None:
    with FakeOpenAIServer([Reply(PARIS)]) as server:
        result = (await run_query("Largest city of France?", gpt(server, project))).result

    assert result.subtype == "success" and result.structured_output == {"city": "Paris", "population": 2100000}
    assert server.requests[0]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "structured_output", "schema": CITY},
    }


async def test_an_answer_breaking_the_schema_is_asked_for_again_once_saying_what_is_wrong(project: Path) -> None:
    # `minimum` is checked after decoding: the API's structured outputs do not enforce it
    bad = '{"city": "Paris", "population": -3}'
    with FakeAnthropicServer([Reply(bad), Reply(PARIS)]) as server:
        messages = (await run_query("Largest city of France?", claude(server, project))).messages

    result = result_of(messages)
    assert result.subtype == "success" and result.structured_output == {"city": "Paris", "population": 2100000}
    assert result.num_turns == 2
    retry = server.requests[1]["messages"]
    assert [m["role"] for m in retry] == ["user", "assistant", "user"]
    told = retry[2]["content"][0]["text"]
    assert "-3 is less than the minimum of 0" in told and "population" in told and '"minimum": 0' in told
    asked_again = [m for m in messages if isinstance(m, UserMessage)]
    assert len(asked_again) == 1 and isinstance(asked_again[0].content[0], TextBlock)
    assert asked_again[0].content[0].text == told


async def test_an_answer_that_is_not_json_is_asked_for_again_too(project: Path) -> None:
    prose = "The largest city of France is Paris, with about 2.1 million people."
    with FakeOpenAIServer([Reply(prose), Reply(PARIS)]) as server:
        result = (await run_query("Largest city of France?", gpt(server, project))).result

    assert result.structured_output == {"city": "Paris", "population": 2100000}
    assert "not valid JSON" in server.requests[1]["messages"][-1]["content"][0]["text"]


async def test_a_second_answer_breaking_the_schema_ends_the_run_with_an_error_naming_the_violation(
    project: Path,
) -> None:
    bad = '{"city": "Paris", "population": -3}'
    with FakeAnthropicServer([Reply(bad), Reply('{"city": "Paris"}')]) as server:
        result = (await run_query("Largest city of France?", claude(server, project))).result

    assert len(server.requests) == 2  # asked again once, not more
    assert result.is_error and result.subtype == "error_max_structured_output_retries"
    assert result.terminal_reason == "structured_output_retry_exhausted"
    assert result.structured_output is None
    assert result.errors is not None and len(result.errors) == 1
    assert "'population' is a required property" in result.errors[0] and "output_format" in result.errors[0]


async def test_only_the_final_answer_is_validated_not_the_turns_that_call_tools(project: Path) -> None:
    (project / "notes.txt").write_text("Paris has 2100000 inhabitants\n")
    look = Reply([Text("Let me read the notes."), ToolUse("Read", {"file_path": str(project / "notes.txt")})])
    with FakeAnthropicServer([look, Reply(PARIS)]) as server:
        result = (await run_query("Largest city?", claude(server, project, allowed_tools=["Read"]))).result

    assert result.subtype == "success" and result.structured_output == {"city": "Paris", "population": 2100000}
    assert all(request["output_config"]["format"]["type"] == "json_schema" for request in server.requests)
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    "output_format",
    [
        {"type": "json_schema", "schema": {"type": "no-such-type"}},
        {"type": "json_schema"},
        {"type": "text"},
    ],
)
async def test_a_malformed_output_format_fails_at_run_start(project: Path, output_format: dict[str, Any]) -> None:
    with FakeAnthropicServer([Reply(PARIS)]) as server:
        with pytest.raises(ConfigurationError, match="output_format"):
            await run_query("hi", claude(server, project, output_format=output_format))
    assert server.requests == []


def test_a_json_answer_in_one_code_fence_is_accepted() -> None:
    assert structured_output(f"```json\n{PARIS}\n```", CITY) == ({"city": "Paris", "population": 2100000}, None)
    value, violation = structured_output(f"Here you go: {PARIS}", CITY)
    assert value is None and violation is not None and "not valid JSON" in violation


@pytest.mark.local_model
async def test_the_local_model_answers_in_the_schema_by_constrained_decoding(project: Path) -> None:
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'tether[local]')")
    schema = {
        "type": "object",
        "properties": {
            "sentiment": {"enum": ["positive", "negative", "neutral"]},
            "summary": {"type": "string", "maxLength": 40},
        },
        "required": ["sentiment", "summary"],
    }
    options = AgentOptions(
        model="local:smollm2", cwd=project, tools=[], output_format={"type": "json_schema", "schema": schema}
    )
    result = (await run_query("I love this phone, the battery lasts for days!", options)).result

    assert result.subtype == "success", result.errors
    jsonschema.validate(result.structured_output, schema)
    assert result.num_turns == 1  # the grammar made the first answer valid
