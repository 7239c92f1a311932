"""The embedded model with the built-in tools, through `query()`: its calls name real tools with real
arguments, its final answer is text (never a tool call written out), and a long prompt reports
its progress (real generations with SmolLM2-135M; needs the `local` extra)."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import jsonschema
import pytest
from tests.models.conftest import collect, user

from tether import AgentOptions, AssistantMessage, ResultMessage, ToolUseBlock, query
from tether.models.base import ModelRequest, ToolSpec

pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'tether[local]')")
pytestmark = [pytest.mark.anyio, pytest.mark.local_model]

from tether.models.local import LocalModel  # noqa: E402
from tether.models.local_prompt import build_prompt_messages  # noqa: E402
from tether.models.local_schema import TEXT_PATTERN  # noqa: E402
from tether.tools.registry import builtin_tools  # noqa: E402

BUILTIN = {tool.name: ToolSpec(tool.name, tool.description, tool.input_schema) for tool in builtin_tools(None)}
TYPE_NAMES = {"string", "number", "integer", "boolean", "object", "array", "any"}


def _assert_real_call(call: ToolUseBlock) -> None:
    assert call.name in BUILTIN
    jsonschema.validate(call.input, BUILTIN[call.name].input_schema)
    assert not TYPE_NAMES & {value for value in call.input.values() if isinstance(value, str)}, call.input


def _assert_not_tool_json(text: str) -> None:
    assert text.strip()
    assert '{"' not in text and not text.lstrip().startswith("{"), text


@pytest.mark.parametrize(
    ("prompt", "tool", "argument", "value"),
    [
        ("Read the file notes.txt and tell me what it says.", "Read", "file_path", "notes.txt"),
        ("Search the files for the word banana.", "Grep", "pattern", "banana"),
    ],
)
async def test_a_run_with_tools_calls_a_real_tool_and_answers_in_text(
    tmp_path: Path, prompt: str, tool: str, argument: str, value: str
) -> None:
    (tmp_path / "notes.txt").write_text("The launch code is PURPLE-42.\n")
    (tmp_path / "fruit.py").write_text("def banana():\n    return 'yellow'\n")
    options = AgentOptions(
        model="local:smollm2", cwd=str(tmp_path), permission_mode="bypassPermissions", session_store="memory://"
    )
    calls: list[ToolUseBlock] = []
    result: ResultMessage | None = None
    async for message in query(prompt=prompt, options=options):
        if isinstance(message, AssistantMessage):
            calls += [block for block in message.content if isinstance(block, ToolUseBlock)]
        elif isinstance(message, ResultMessage):
            result = message

    assert calls, "the model called no tool"
    for call in calls:
        _assert_real_call(call)
    assert calls[0].name == tool and value in str(calls[0].input[argument]).lower()
    assert result is not None and not result.is_error
    _assert_not_tool_json(result.result or "")


async def test_after_a_tool_round_the_answer_is_text_even_when_the_history_is_tool_json() -> None:
    read = BUILTIN["Read"]
    history = [
        user("Read notes.txt"),
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {"file_path": "a"}}],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": '{"tool": "Read"}'}]},
    ]
    _, response = await collect(LocalModel(max_tokens=60), ModelRequest(history, tools=[read]))
    assert [block["type"] for block in response.content] == ["text"]
    _assert_not_tool_json(response.content[0]["text"])


def test_the_prompt_shows_argument_names_and_a_real_example_never_type_names() -> None:
    request = ModelRequest([user("Read the file notes.txt")], tools=list(BUILTIN.values()))
    chat = build_prompt_messages(request, allow_tools=True, tools=[BUILTIN["Read"]])
    assert "file_path" in chat[0]["content"] and '"string"' not in chat[0]["content"]
    example = json.loads(chat[2]["content"])  # an example exchange: a request, then its call with real values
    assert chat[1]["role"] == "user" and example["tool"] == "Read" and example["input"]["file_path"].endswith(".md")


@pytest.mark.parametrize(
    ("text", "is_text"),
    [
        ("The file says hello.", True),
        ("Code: if (x) { return 1; }", True),
        ('{"tool":"Read","input":{"file_path":"a"}}', False),
        ('Here is the call: {"tool": "Read"}', False),
        (" leading space", False),
    ],
)
def test_a_text_answer_holds_no_json_object(text: str, is_text: bool) -> None:
    assert (re.fullmatch(TEXT_PATTERN, text, re.DOTALL) is not None) is is_text


async def test_a_long_prompt_reports_its_progress(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tether.models.local")
    prompt = "Summarise this: " + "The quick brown fox jumps over the lazy dog. " * 150
    _, response = await collect(LocalModel(max_tokens=4), ModelRequest([user(prompt)]))

    steps = [record.progress for record in caplog.records if hasattr(record, "progress")]
    total = response.usage["input_tokens"]
    assert len(steps) >= 2 and all(step_total == total for _, step_total in steps)
    done = [step_done for step_done, _ in steps]
    assert done == sorted(done) and done[-1] == total
    assert "reading the prompt:" in caplog.records[-1].getMessage()
