"""Whole agent runs on the real provider clients: `query()` with `model="claude-..."` / `"openai:..."`
against the fake servers, sessions in SQLite, resumed and checked on the wire."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.fakes import ErrorReply, FakeAnthropicServer, FakeOpenAIServer, Reply, ToolUse

from tether import AgentOptions, AssistantMessage, Message, ResultMessage, SystemMessage
from tether.models.pricing import cost_usd
from tether.sessions.entries import active_chain
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import run_query

pytestmark = pytest.mark.anyio

CLAUDE = "claude-sonnet-4-5"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    (directory / "notes.txt").write_text("the launch is on Friday\n")
    return directory


def claude_options(server: FakeAnthropicServer, project: Path, **extra: Any) -> AgentOptions:
    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test-key"}
    return AgentOptions(model=CLAUDE, env=env, cwd=project, allowed_tools=["Read"], **extra)


def session_id_of(messages: list[Message]) -> str:
    first = messages[0]
    assert isinstance(first, SystemMessage) and first.subtype == "init"
    return str(first.data["session_id"])


def result_of(messages: list[Message]) -> ResultMessage:
    last = messages[-1]
    assert isinstance(last, ResultMessage)
    return last


def read_call(project: Path) -> Reply:
    return Reply([ToolUse("Read", {"file_path": str(project / "notes.txt")})], input_tokens=100, output_tokens=20)


async def test_claude_tool_run_then_resume_sends_the_whole_history_and_adds_up_the_cost(project: Path) -> None:
    replies = [
        read_call(project),
        Reply("The launch is on Friday.", input_tokens=150, output_tokens=10),
        Reply("You asked about the launch date.", input_tokens=200, output_tokens=12),
    ]
    with FakeAnthropicServer(replies) as server:
        first = (await run_query("When is the launch? Check notes.txt", claude_options(server, project))).messages
        session_id = session_id_of(first)
        assert result_of(first).result == "The launch is on Friday."
        resumed = (await run_query("What did I ask?", claude_options(server, project, resume=session_id))).messages

    assert session_id_of(resumed) == session_id
    sent = server.requests[2]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user", "assistant", "user"]
    assert sent[0]["content"][0]["text"] == "When is the launch? Check notes.txt"
    call = sent[1]["content"][0]
    assert call["type"] == "tool_use" and call["name"] == "Read"
    tool_result = sent[2]["content"][0]
    assert tool_result["type"] == "tool_result" and tool_result["tool_use_id"] == call["id"]
    assert "the launch is on Friday" in str(tool_result["content"])
    assert sent[3]["content"][0]["text"] == "The launch is on Friday."
    assert sent[4]["content"][0]["text"] == "What did I ask?"

    usages = [(100, 20), (150, 10), (200, 12)]
    costs = [cost_usd(CLAUDE, {"input_tokens": i, "output_tokens": o}) for i, o in usages]
    assert all(cost is not None for cost in costs)
    assert result_of(first).total_cost_usd == pytest.approx(sum(c for c in costs[:2] if c is not None))
    assert result_of(resumed).total_cost_usd == pytest.approx(sum(c for c in costs if c is not None))
    usage = result_of(resumed).usage
    assert usage is not None and usage["input_tokens"] == 450 and usage["output_tokens"] == 42


async def test_a_run_reuses_one_connection_for_all_its_model_calls(project: Path) -> None:
    with FakeAnthropicServer([read_call(project), Reply("Friday.")]) as server:
        messages = (await run_query("When is the launch?", claude_options(server, project))).messages
        assert result_of(messages).subtype == "success" and len(server.requests) == 2
        assert server.connections_opened == 1  # kept for the loop's next query (tests/models/test_shared_client.py)


async def test_repeated_500_ends_in_an_error_result_and_the_session_resumes(project: Path) -> None:
    with FakeAnthropicServer([ErrorReply(500, "boom")] * 3) as server:
        failed = (await run_query("Hello?", claude_options(server, project, max_turns=3))).messages
        result = result_of(failed)
        assert result.is_error and result.api_error_status == 500
        assert "500" in (result.result or "") + " ".join(result.errors or [])

        server.add(Reply("Back again."))
        resumed = (
            await run_query("Are you there?", claude_options(server, project, resume=session_id_of(failed)))
        ).messages

    assert result_of(resumed).result == "Back again." and not result_of(resumed).is_error
    assert server.requests[-1]["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Hello?"},
                {"type": "text", "text": "Are you there?", "cache_control": {"type": "ephemeral"}},
            ],
        }
    ]


async def test_a_stream_cut_off_mid_answer_stores_nothing_of_it(project: Path, tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'sessions.db'}"
    with FakeAnthropicServer([Reply("A long answer that never ends properly.", cut_after=6)]) as server:
        failed = (await run_query("Tell me a story", claude_options(server, project, session_store=store_url))).messages
        assert result_of(failed).is_error
        assert not [m for m in failed if isinstance(m, AssistantMessage)]
        server.add(Reply("Once upon a time."))
        resumed = (
            await run_query(
                "Try again", claude_options(server, project, session_store=store_url, resume=session_id_of(failed))
            )
        ).messages

    assert result_of(resumed).result == "Once upon a time."
    store = SQLiteStore(tmp_path / "sessions.db")
    try:
        found = await store.find(session_id_of(failed))
        assert found is not None
        entries = await store.load(found.key)
    finally:
        await store.close()
    assert entries is not None
    assert [e["type"] for e in active_chain(entries)] == ["user", "user", "assistant"]
    assert "never ends" not in str(entries)


async def test_openai_compatible_tool_run_then_resume_sends_the_whole_history(project: Path) -> None:
    replies = [read_call(project), Reply("Friday."), Reply("You asked about the launch.")]
    with FakeOpenAIServer(replies) as server:
        env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "test-key"}
        options = AgentOptions(model="openai:gpt-fake", env=env, cwd=project, allowed_tools=["Read"])
        first = (await run_query("When is the launch?", options)).messages
        assert result_of(first).result == "Friday."
        options.resume = session_id_of(first)
        resumed = (await run_query("What did I ask?", options)).messages
        assert server.connections_opened == 1  # the second run reuses the first's connection

    assert result_of(resumed).result == "You asked about the launch."
    sent = server.requests[2]["messages"]
    assert [m["role"] for m in sent if m["role"] != "system"] == ["user", "assistant", "tool", "assistant", "user"]
    call = next(m for m in sent if m["role"] == "assistant")["tool_calls"][0]
    tool_message = next(m for m in sent if m["role"] == "tool")
    assert call["function"]["name"] == "Read" and tool_message["tool_call_id"] == call["id"]
    assert "the launch is on Friday" in str(tool_message["content"])
    assert sent[-1]["content"] in ("What did I ask?", [{"type": "text", "text": "What did I ask?"}])
