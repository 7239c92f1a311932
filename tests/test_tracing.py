"""OpenTelemetry spans of runs against the fake Anthropic server, read with the SDK's in-memory exporter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from tests.fakes import ErrorReply, FakeAnthropicServer, Reply, Text, ToolUse

from tether import AgentDefinition, AgentOptions, AssistantMessage, ResultMessage
from tether.agent.tracing import CAPTURE_CONTENT_ENV
from tether.testing import run_query

pytestmark = pytest.mark.anyio

MODEL = "claude-sonnet-4-5"


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def options(server: FakeAnthropicServer, provider: TracerProvider, project: Path, **more: Any) -> AgentOptions:
    environment = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test"}
    return AgentOptions(model=MODEL, env=environment, cwd=project, tracer_provider=provider, **more)


def by_name(finished: tuple[ReadableSpan, ...], prefix: str) -> list[ReadableSpan]:
    return [span for span in finished if span.name.startswith(prefix)]


def attrs(span: ReadableSpan) -> Mapping[str, Any]:
    return span.attributes or {}


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_a_tool_round_is_one_trace_of_nested_spans_with_the_genai_attributes(
    spans: tuple[TracerProvider, InMemorySpanExporter], project: Path
) -> None:
    provider, exporter = spans
    (project / "notes.txt").write_text("hello")
    replies = [
        Reply([ToolUse("Glob", {"pattern": "*.txt"}, id="toolu_glob")], input_tokens=100, cache_read_input_tokens=50),
        Reply("One file.", output_tokens=9, model="claude-sonnet-4-5-20250929"),
    ]
    with FakeAnthropicServer(replies) as server:
        run = (await run_query("Which files?", options(server, provider, project, allowed_tools=["Glob"]))).messages
    result = run[-1]
    assert isinstance(result, ResultMessage) and not result.is_error
    finished = exporter.get_finished_spans()
    assert [span.name for span in finished] == [
        "chat claude-sonnet-4-5",
        "execute_tool Glob",
        "chat claude-sonnet-4-5",
        "invoke_agent tether",
    ]
    agent, (first, second), (tool,) = (
        by_name(finished, "invoke_agent")[0],
        by_name(finished, "chat"),
        by_name(finished, "execute_tool"),
    )
    assert {span.context.trace_id for span in finished} == {agent.context.trace_id}
    assert agent.parent is None
    assert {parent_of(span) for span in (first, second, tool)} == {agent.context.span_id}
    assert {attrs(span)["gen_ai.conversation.id"] for span in finished} == {result.session_id}
    assert {attrs(span)["gen_ai.provider.name"] for span in finished} == {"anthropic"}
    assert attrs(agent)["gen_ai.operation.name"] == "invoke_agent"
    assert attrs(agent)["gen_ai.request.model"] == MODEL
    assert attrs(agent)["tether.result.uuid"] == result.uuid
    assert attrs(first)["gen_ai.operation.name"] == "chat"
    assert attrs(first)["gen_ai.usage.input_tokens"] == 150  # cached tokens included
    assert attrs(first)["gen_ai.usage.cache_read.input_tokens"] == 50
    assert attrs(second)["gen_ai.usage.output_tokens"] == 9
    assert attrs(second)["gen_ai.response.model"] == "claude-sonnet-4-5-20250929"
    assert attrs(first)["gen_ai.response.finish_reasons"] == ("tool_use",)
    replies_stored = [m.uuid for m in run if isinstance(m, AssistantMessage)]
    assert [attrs(first)["tether.entry.uuid"], attrs(second)["tether.entry.uuid"]] == replies_stored
    assert attrs(tool)["gen_ai.operation.name"] == "execute_tool"
    assert (attrs(tool)["gen_ai.tool.name"], attrs(tool)["gen_ai.tool.call.id"]) == ("Glob", "toolu_glob")
    assert attrs(tool)["tether.entry.uuid"] == replies_stored[0]  # the reply that made the call
    assert all(span.status.status_code is StatusCode.UNSET for span in finished)
    content = {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments"}
    assert not any(content & set(span.attributes or {}) for span in finished)  # no content without the opt-in


async def test_content_only_with_the_standard_opt_in(
    spans: tuple[TracerProvider, InMemorySpanExporter], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, exporter = spans
    monkeypatch.setenv(CAPTURE_CONTENT_ENV, "true")
    replies = [Reply([ToolUse("Glob", {"pattern": "*.md"}, id="toolu_1")]), Reply("None.")]
    with FakeAnthropicServer(replies) as server:
        await run_query("Any markdown?", options(server, provider, project, allowed_tools=["Glob"]))
    first = by_name(exporter.get_finished_spans(), "chat")[0]
    tool = by_name(exporter.get_finished_spans(), "execute_tool")[0]
    assert "Any markdown?" in str(attrs(first)["gen_ai.input.messages"])
    assert json.loads(str(attrs(first)["gen_ai.output.messages"]))[0]["content"][0]["name"] == "Glob"
    assert json.loads(str(attrs(tool)["gen_ai.tool.call.arguments"])) == {"pattern": "*.md"}
    assert "gen_ai.tool.call.result" in (tool.attributes or {})


async def test_a_subagent_nests_under_its_agent_call_in_the_same_trace(
    spans: tuple[TracerProvider, InMemorySpanExporter], project: Path
) -> None:
    provider, exporter = spans
    (project / "app.py").write_text("print('hi')\n")
    agents = {"reviewer": AgentDefinition(description="Reviews code", prompt="You review code.", tools=["Read"])}
    call = {"description": "review", "prompt": "Review app.py", "subagent_type": "reviewer"}
    replies = [
        Reply([ToolUse("Agent", call, id="toolu_agent")]),  # the parent delegates
        Reply([ToolUse("Read", {"file_path": str(project / "app.py")}, id="toolu_read")]),  # the subagent reads
        Reply("Looks fine."),  # the subagent answers
        Reply("The reviewer says it looks fine."),  # the parent answers
    ]
    with FakeAnthropicServer(replies) as server:
        run = (await run_query("Review it", options(server, provider, project, agents=agents))).messages
    result = run[-1]
    assert isinstance(result, ResultMessage) and not result.is_error, result
    finished = exporter.get_finished_spans()
    assert len({span.context.trace_id for span in finished}) == 1
    assert {attrs(span)["gen_ai.conversation.id"] for span in finished} == {result.session_id}
    main = next(s for s in finished if s.name == "invoke_agent tether")
    sub = next(s for s in finished if s.name == "invoke_agent reviewer")
    agent_call = next(s for s in finished if s.name == "execute_tool Agent")
    read = next(s for s in finished if s.name == "execute_tool Read")
    assert parent_of(agent_call) == main.context.span_id
    assert parent_of(sub) == agent_call.context.span_id
    assert parent_of(read) == sub.context.span_id
    assert [parent_of(s) for s in finished if s.name.startswith("chat")].count(sub.context.span_id) == 2
    assert [parent_of(s) for s in finished if s.name.startswith("chat")].count(main.context.span_id) == 2


async def test_failed_tool_and_model_calls_mark_their_spans_as_errors(
    spans: tuple[TracerProvider, InMemorySpanExporter], project: Path
) -> None:
    provider, exporter = spans
    missing = str(project / "missing.txt")
    replies: list[Reply | ErrorReply] = [
        Reply([Text("Reading."), ToolUse("Read", {"file_path": missing}, id="toolu_r")]),
        ErrorReply(400),
    ]
    with FakeAnthropicServer(replies) as server:
        run = (await run_query("Read it", options(server, provider, project, allowed_tools=["Read"]))).messages
    assert isinstance(run[-1], ResultMessage) and run[-1].is_error
    finished = exporter.get_finished_spans()
    tool = by_name(finished, "execute_tool")[0]
    assert tool.status.status_code is StatusCode.ERROR and attrs(tool)["error.type"] == "tool_error"
    failed_chat = by_name(finished, "chat")[-1]
    assert failed_chat.status.status_code is StatusCode.ERROR
    assert attrs(failed_chat)["error.type"] == "ModelError"
    agent = by_name(finished, "invoke_agent")[0]
    assert agent.status.status_code is StatusCode.ERROR
    assert attrs(agent)["error.type"] == "error_during_execution"


async def test_the_callers_current_span_is_the_runs_parent(
    spans: tuple[TracerProvider, InMemorySpanExporter], project: Path
) -> None:
    provider, exporter = spans
    with FakeAnthropicServer([Reply("Hi.")]) as server:
        with provider.get_tracer("app").start_as_current_span("request") as outer:
            await run_query("Hello", options(server, provider, project))
    agent = by_name(exporter.get_finished_spans(), "invoke_agent")[0]
    assert parent_of(agent) == outer.get_span_context().span_id
    assert agent.context.trace_id == outer.get_span_context().trace_id


def test_a_plain_run_does_not_import_opentelemetry(tmp_path: Path) -> None:
    script = (
        "import sys, anyio\n"
        "from tether import AgentOptions, MemoryStore\n"
        "from tether.testing import ScriptedModel, run_query\n"
        "anyio.run(run_query, 'hi', AgentOptions(model=ScriptedModel(['ok']), session_store=MemoryStore()))\n"
        "print(sorted(name for name in sys.modules if name.startswith('opentelemetry')))\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": src},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
