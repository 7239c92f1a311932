"""Every provider fault ends the run with an error `ResultMessage` that names it, never a raw
exception, and the session resumes afterwards with nothing of the failed reply in it. Through the
real HTTP clients (tether's Messages client, `openai`) against the fault-injecting fake servers."""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.fakes import ErrorReply, Reply, ToolUse
from tests.fakes.faults import Events, Hang, PingForever, Reset, Trickle
from tests.faults.conftest import (
    ANTHROPIC,
    OPENAI,
    Provider,
    error_of,
    options,
    result_of,
    resumes_cleanly,
)

from tether import AssistantMessage, RateLimitEvent, StreamEvent
from tether.testing import run_query

pytestmark = pytest.mark.anyio


def corrupted(events: list[dict[str, Any]], position: int, **changes: Any) -> list[dict[str, Any]]:
    """A copy of `events` with `changes` made to the event at `position`."""
    result = copy.deepcopy(events)
    result[position].update(changes)
    return result


# -- data the client cannot read ----------------------------------------------------------------


async def test_a_data_line_that_is_not_json_is_retried_then_named(provider: Provider, project: Path) -> None:
    start = provider.events("Hi")[0]
    malformed = Events([start, provider.raw("{not json")])
    with provider.server() as server:
        server.add(malformed, malformed)
        failed = (await run_query("Hello?", options(provider.model(server, max_retries=1), project))).messages
        error = error_of(failed)
        assert "malformed stream after 1 retry" in error and "not JSON" in error
        assert len(server.requests) == 2  # nothing had been yielded, so it was retried once
        await resumes_cleanly(server, provider.model(server), project, failed)


async def test_one_malformed_stream_is_retried_and_the_run_succeeds(provider: Provider, project: Path) -> None:
    start = provider.events("Hi")[0]
    with provider.server() as server:
        server.add(Events([start, provider.raw("[1, 2")]), Reply("Fine after all."))
        messages = (await run_query("Hello?", options(provider.model(server), project))).messages
    assert result_of(messages).result == "Fine after all." and len(server.requests) == 2


@pytest.mark.parametrize(("data", "kind"), [("[1, 2]", "an array"), ('"text"', "a string"), ("null", "null")])
async def test_a_data_line_that_is_json_but_not_an_object_is_named(
    provider: Provider, project: Path, data: str, kind: str
) -> None:
    events = provider.events("Hi")
    with provider.server() as server:
        server.add(Events([events[0], provider.raw(data), *events[1:], *provider.done]))
        failed = (await run_query("Hello?", options(provider.model(server, max_retries=0), project))).messages
        assert f"of the stream is {kind}, not an object" in error_of(failed)
        await resumes_cleanly(server, provider.model(server), project, failed)


async def test_an_event_field_of_the_wrong_type_is_named(project: Path) -> None:
    events = ANTHROPIC.events("Hi")
    block_start = next(i for i, e in enumerate(events) if e["type"] == "content_block_start")
    with ANTHROPIC.server() as server:
        server.add(Events(corrupted(events, block_start, index="zero")))
        failed = (await run_query("Hello?", options(ANTHROPIC.model(server, max_retries=0), project))).messages
        assert "content_block_start event has index 'zero', not a whole number" in error_of(failed)
        await resumes_cleanly(server, ANTHROPIC.model(server), project, failed)


async def test_a_chunk_field_of_the_wrong_type_is_named(project: Path) -> None:
    chunks = OPENAI.events("Hi")
    with OPENAI.server() as server:
        server.add(Events([*corrupted(chunks, 1, choices="zero"), *OPENAI.done]))
        failed = (await run_query("Hello?", options(OPENAI.model(server, max_retries=0), project))).messages
        assert "the choices of a chunk is a string, not a list" in error_of(failed)
        await resumes_cleanly(server, OPENAI.model(server), project, failed)


# -- tool calls the loop cannot run --------------------------------------------------------------


def with_input_json(provider: Provider, arguments: str) -> list[dict[str, Any] | str]:
    """The stream of a `Read` call whose input JSON is `arguments`."""
    events = provider.events(Reply([ToolUse("Read", {"file_path": "notes.txt"})], chunk_size=1000))
    for event in events:
        if event.get("type") == "content_block_delta":
            event["delta"]["partial_json"] = arguments
        for choice in event.get("choices") or []:
            for call in choice["delta"].get("tool_calls") or []:
                if call["function"]["arguments"]:
                    call["function"]["arguments"] = arguments
    return [*events, *provider.done]


@pytest.mark.parametrize(("arguments", "kind"), [('["a"]', "an array"), ('"x"', "a string"), ("7", "a number")])
async def test_a_tool_input_that_is_not_an_object_is_named_and_nothing_is_stored(
    provider: Provider, project: Path, arguments: str, kind: str
) -> None:
    with provider.server() as server:
        server.add(Events(with_input_json(provider, arguments)))
        failed = (await run_query("Hello?", options(provider.model(server), project))).messages
        assert f"the input of the 'Read' call is {kind}, not an object" in error_of(failed)
        assert not [m for m in failed if isinstance(m, AssistantMessage)]  # never shown, so never stored
        await resumes_cleanly(server, provider.model(server), project, failed)


async def test_a_claude_tool_call_without_an_id_is_named(project: Path) -> None:
    events = ANTHROPIC.events(Reply([ToolUse("Read", {"file_path": "notes.txt"})]))
    start = next(i for i, e in enumerate(events) if e["type"] == "content_block_start")
    block = {k: v for k, v in events[start]["content_block"].items() if k != "id"}
    with ANTHROPIC.server() as server:
        server.add(Events(corrupted(events, start, content_block=block)))
        failed = (await run_query("Hello?", options(ANTHROPIC.model(server), project))).messages
        assert "the tool_use block calling 'Read' has no id" in error_of(failed)
        await resumes_cleanly(server, ANTHROPIC.model(server), project, failed)


async def test_an_openai_tool_call_without_an_id_gets_one_and_runs(project: Path) -> None:
    """Several OpenAI-compatible servers send no call ids; tether names the call, and pairs the result."""
    (project / "notes.txt").write_text("launch on Friday\n")
    chunks = OPENAI.events(Reply([ToolUse("Read", {"file_path": str(project / "notes.txt")})]))
    for chunk in chunks:
        for choice in chunk["choices"]:
            for call in choice["delta"].get("tool_calls") or []:
                call.pop("id", None)
    with OPENAI.server() as server:
        server.add(Events([*chunks, *OPENAI.done]), Reply("Friday."))
        messages = (await run_query("Hello?", options(OPENAI.model(server), project, allowed_tools=["Read"]))).messages
    assert result_of(messages).result == "Friday."
    sent = server.requests[-1]["messages"]
    call_id = sent[-2]["tool_calls"][0]["id"]
    assert call_id.startswith("call_") and sent[-1] == {**sent[-1], "role": "tool", "tool_call_id": call_id}
    assert "launch on Friday" in json.dumps(sent[-1]["content"])


# -- HTTP errors ----------------------------------------------------------------------------------


async def test_429_529_500_in_a_row_are_retried_and_the_run_succeeds(provider: Provider, project: Path) -> None:
    with provider.server() as server:
        server.add(ErrorReply(429), ErrorReply(529), ErrorReply(500), Reply("Made it."))
        messages = (await run_query("Hello?", options(provider.model(server), project))).messages
    assert result_of(messages).result == "Made it." and len(server.requests) == 4
    assert len([m for m in messages if isinstance(m, RateLimitEvent)]) == 1


@pytest.mark.parametrize(("status", "words"), [(429, "rate-limited"), (529, "overloaded"), (500, "HTTP 500")])
async def test_a_status_that_stays_ends_the_run_with_it(
    provider: Provider, project: Path, status: int, words: str
) -> None:
    with provider.server() as server:
        server.add(*[ErrorReply(status)] * 3)
        failed = (await run_query("Hello?", options(provider.model(server, max_retries=2), project))).messages
        error = error_of(failed)
        assert words in error and "after 2 retries" in error
        assert result_of(failed).api_error_status == status
        await resumes_cleanly(server, provider.model(server), project, failed)


async def test_retries_stop_when_the_idle_window_is_over(provider: Provider, project: Path) -> None:
    """A Retry-After longer than the idle timeout is not waited for: the call fails now."""
    with provider.server() as server:
        server.add(ErrorReply(429, headers={"retry-after": "30"}))
        failed = (await run_query("Hello?", options(provider.model(server), project))).messages
        assert "rate-limited" in error_of(failed) and len(server.requests) == 1
        notice = next(m for m in failed if isinstance(m, RateLimitEvent))
        assert notice.rate_limit_info.raw["retry_after"] is None  # not retried
        await resumes_cleanly(server, provider.model(server), project, failed)


# -- hangs ----------------------------------------------------------------------------------------


async def test_a_server_that_never_answers_is_cut_by_the_idle_timeout(provider: Provider, project: Path) -> None:
    with provider.server() as server:
        server.add(Hang())
        failed = (await run_query("Hello?", options(provider.model(server), project))).messages
        assert f"sent no content for {0.5:g} s (stream_idle_timeout)" in error_of(failed)
        assert len(server.requests) == 1  # the idle window was spent: no retry
        await resumes_cleanly(server, provider.model(server), project, failed)


async def test_a_stream_that_hangs_mid_reply_is_cut_and_nothing_is_kept(provider: Provider, project: Path) -> None:
    events = provider.events("A reply that stops halfway through.")
    with provider.server() as server:
        server.add(Events(events[:6], then="hang"))
        failed = (
            await run_query("Hello?", options(provider.model(server), project, include_partial_messages=True))
        ).messages
        assert "(stream_idle_timeout)" in error_of(failed)
        assert [m for m in failed if isinstance(m, StreamEvent)]  # the caller saw the start...
        assert not [m for m in failed if isinstance(m, AssistantMessage)]  # ...and no message
        await resumes_cleanly(server, provider.model(server), project, failed)


async def test_keep_alives_forever_are_not_content(provider: Provider, project: Path) -> None:
    with provider.server() as server:
        server.add(PingForever())
        failed = (await run_query("Hello?", options(provider.model(server), project))).messages
        assert "sent no content for 0.5 s (stream_idle_timeout)" in error_of(failed)
        await resumes_cleanly(server, provider.model(server), project, failed)


async def test_content_that_never_ends_is_cut_by_the_request_timeout(provider: Provider, project: Path) -> None:
    with provider.server() as server:
        server.add(Trickle())
        limited = options(provider.model(server), project, request_timeout=0.5, stream_idle_timeout=30)
        failed = (await run_query("Hello?", limited)).messages
        assert "took longer than request_timeout (0.5 s)" in error_of(failed)
        await resumes_cleanly(server, provider.model(server), project, failed)


async def test_the_run_deadline_cuts_a_model_call(provider: Provider, project: Path) -> None:
    with provider.server() as server:
        server.add(Trickle())
        limited = options(provider.model(server), project, run_timeout=0.5, stream_idle_timeout=30)
        failed = (await run_query("Hello?", limited)).messages
        assert "the run took longer than run_timeout (0.5 s) while the model" in error_of(failed)
        await resumes_cleanly(server, provider.model(server), project, failed)


# -- broken connections ---------------------------------------------------------------------------


async def test_a_connection_reset_is_retried_then_named(provider: Provider, project: Path) -> None:
    with provider.server() as server:
        server.add(Reset(), Reset())
        failed = (await run_query("Hello?", options(provider.model(server, max_retries=1), project))).messages
        assert "could not reach" in error_of(failed) and "after 1 retry" in error_of(failed)
        assert len(server.requests) == 2
        await resumes_cleanly(server, provider.model(server), project, failed)


@pytest.mark.parametrize("then", ["drop", "reset"])
async def test_a_stream_cut_mid_reply_keeps_nothing(provider: Provider, project: Path, then: Any) -> None:
    events = provider.events("A reply that is cut off.")
    with provider.server() as server:
        server.add(Events(events[:6], then=then))
        failed = (await run_query("Hello?", options(provider.model(server), project))).messages
        error = error_of(failed)
        assert "dropped mid-response" in error or "cut off" in error
        assert "nothing was kept" in error
        assert len(server.requests) == 1  # content had been yielded: not retried
        await resumes_cleanly(server, provider.model(server), project, failed)


@dataclass
class _Unanswered:
    """A port whose listen queue is full, so a new connection never completes (SYNs are dropped)."""

    url: str


@contextmanager
def full_listen_queue(base_path: str) -> Iterator[_Unanswered]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):  # more than the queue holds
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield _Unanswered(f"http://127.0.0.1:{port}{base_path}")
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_a_connection_that_never_opens_is_cut_by_the_connect_timeout(provider: Provider, project: Path) -> None:
    base_path = "/v1" if provider is OPENAI else ""
    with full_listen_queue(base_path) as unanswered:
        model = provider.model(unanswered)
        failed = (
            await run_query("Hello?", options(model, project, connect_timeout=0.2, stream_idle_timeout=0.5))
        ).messages
    error = error_of(failed)
    assert "sent no content for 0.5 s (stream_idle_timeout) after" in error  # each attempt timed out connecting
    before = error.partition("(the attempt before failed: ")[2]
    assert "timed out" in before  # the client's own words for it vary by release
