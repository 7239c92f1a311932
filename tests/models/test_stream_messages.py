"""What the provider streams besides text and tool calls: rate limits (`RateLimitEvent`), Anthropic
server tools (`ServerToolUseBlock` / `ServerToolResultBlock`, stored and sent back on resume),
`pause_turn`, and the per-model usage of the result (`ModelUsage`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.fakes import ErrorReply, FakeAnthropicServer, FakeOpenAIServer, Reply, ServerToolResult, ServerToolUse, Text

from tether import (
    AgentOptions,
    AssistantMessage,
    Message,
    RateLimitEvent,
    ResultMessage,
    ServerToolResultBlock,
    ServerToolUseBlock,
    SystemMessage,
    TextBlock,
)
from tether._vocabulary.store import SessionKey
from tether.sessions.keys import project_key_for_directory
from tether.sessions.stores.memory import MemoryStore
from tether.testing import run_query

pytestmark = pytest.mark.anyio

SEARCH_RESULTS = [
    {"type": "web_search_result", "url": "https://example.com/tether", "title": "tether", "encrypted_content": "e1"}
]


def claude(server: FakeAnthropicServer, cwd: Path, **extra: Any) -> AgentOptions:
    env = {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "test-key"}
    return AgentOptions(model="claude-sonnet-4-5", env=env, cwd=cwd, **extra)


async def stored_entries(store: MemoryStore, project: Path, messages: list[Message]) -> list[dict[str, Any]]:
    init = messages[0]
    assert isinstance(init, SystemMessage)
    key = SessionKey(project_key=project_key_for_directory(str(project.resolve())), session_id=init.data["session_id"])
    return list(await store.load(key) or [])


async def test_a_rate_limited_call_emits_one_rate_limit_event_then_retries(project: Path) -> None:
    limited = ErrorReply(
        429,
        headers={
            "retry-after": "0",
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": "2030-01-01T00:00:00Z",
        },
    )
    store = MemoryStore()
    with FakeAnthropicServer([limited, limited, Reply("Hello")]) as server:
        messages = (await run_query("Hi", claude(server, project, session_store=store))).messages

    events = [m for m in messages if isinstance(m, RateLimitEvent)]
    assert len(events) == 1  # one state change, however often the call is retried
    info = events[0].rate_limit_info
    assert info.status == "rejected" and info.resets_at == 1_893_456_000
    assert info.raw["headers"]["anthropic-ratelimit-requests-remaining"] == "0"
    assert events[0].session_id == messages[0].data["session_id"]  # type: ignore[union-attr]
    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "Hello"
    assert len(server.requests) == 3
    entries = await stored_entries(store, project, messages)
    assert all("rate_limit" not in str(entry.get("type")) for entry in entries)  # a notice, not history


async def test_an_openai_compatible_rate_limit_is_reported_the_same_way(project: Path) -> None:
    limited = ErrorReply(429, headers={"retry-after": "0", "x-ratelimit-remaining-requests": "0"})
    with FakeOpenAIServer([limited, Reply("Hello")]) as server:
        env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "test-key"}
        messages = (await run_query("Hi", AgentOptions(model="openai:gpt-4o", env=env, cwd=project))).messages

    events = [m for m in messages if isinstance(m, RateLimitEvent)]
    assert len(events) == 1 and events[0].rate_limit_info.status == "rejected"
    assert events[0].rate_limit_info.raw["headers"]["x-ratelimit-remaining-requests"] == "0"
    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "Hello"


async def test_server_tool_blocks_reach_the_caller_the_store_and_the_api_again_on_resume(project: Path) -> None:
    searched = Reply(
        [
            ServerToolUse("web_search", {"query": "tether sessions"}, id="srvtoolu_01"),
            ServerToolResult("srvtoolu_01", SEARCH_RESULTS),
            Text("tether keeps sessions in a store."),
        ],
        server_tool_use={"web_search_requests": 1},
    )
    store = MemoryStore()
    with FakeAnthropicServer([searched, Reply("You asked about tether.")]) as server:
        first = (await run_query("Search the web for tether", claude(server, project, session_store=store))).messages
        session_id = first[0].data["session_id"]  # type: ignore[union-attr]
        await run_query("What did I ask?", claude(server, project, session_store=store, resume=session_id))

    assistant = next(m for m in first if isinstance(m, AssistantMessage))
    use, result, text = assistant.content
    assert use == ServerToolUseBlock(id="srvtoolu_01", name="web_search", input={"query": "tether sessions"})
    assert isinstance(result, ServerToolResultBlock)
    # `content` is typed a dict (as in the SDK), but web search results come as the API's list.
    assert result.tool_use_id == "srvtoolu_01" and result.content == SEARCH_RESULTS  # type: ignore[comparison-overlap]
    assert text == TextBlock("tether keeps sessions in a store.")
    first_result = first[-1]
    assert isinstance(first_result, ResultMessage) and first_result.model_usage is not None
    assert first_result.model_usage["claude-sonnet-4-5"]["webSearchRequests"] == 1

    sent_back = server.requests[1]["messages"][1]
    assert sent_back["role"] == "assistant"
    assert [block["type"] for block in sent_back["content"]] == ["server_tool_use", "web_search_tool_result", "text"]
    assert sent_back["content"][0]["input"] == {"query": "tether sessions"}
    assert sent_back["content"][1]["content"] == SEARCH_RESULTS


async def test_a_paused_turn_is_sent_back_so_the_model_goes_on(project: Path) -> None:
    search = ServerToolUse("web_search", {"query": "long research"}, id="srvtoolu_02")
    paused = Reply([search], stop_reason="pause_turn")
    with FakeAnthropicServer([paused, Reply("Done researching.")]) as server:
        messages = (await run_query("Hi", claude(server, project))).messages

    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "Done researching."
    assert messages[-1].num_turns == 2
    assert [m["role"] for m in server.requests[1]["messages"]] == ["user", "assistant"]


async def test_model_usage_has_the_sdk_shape(project: Path) -> None:
    with FakeAnthropicServer([Reply("Hello", input_tokens=30, output_tokens=5, cache_read_input_tokens=4)]) as server:
        messages = (await run_query("Hi", claude(server, project, betas=["context-1m-2025-08-07"]))).messages

    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.model_usage is not None
    usage = result.model_usage["claude-sonnet-4-5"]
    assert usage["inputTokens"] == 30 and usage["outputTokens"] == 5 and usage["cacheReadInputTokens"] == 4
    assert usage["cacheCreationInputTokens"] == 0 and usage["webSearchRequests"] == 0
    assert usage["contextWindow"] == 1_000_000  # the 1M-context beta of Sonnet 4.5
    assert usage["maxOutputTokens"] == 64_000
    assert isinstance(usage["costUSD"], float) and usage["costUSD"] > 0
