"""The client runs as the SDK's: one long-lived message stream fed by a background task."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.client.support import Stall, StallingAnthropicServer, echo, history, options_for

from tether import (
    AgentClient,
    AgentOptions,
    ClaudeSDKClient,
    CLIConnectionError,
    ConfigurationError,
    MemoryStore,
    ResultMessage,
    SessionConflictError,
    SystemMessage,
    UnsupportedOptionError,
    project_key_for_directory,
    query,
)
from tether._vocabulary.store import SessionStore

pytestmark = pytest.mark.anyio


def user(text: str) -> dict[str, Any]:
    return {"type": "user", "message": {"role": "user", "content": text}, "parent_tool_use_id": None}


def results(messages: list[Any]) -> list[str | None]:
    return [m.result for m in messages if isinstance(m, ResultMessage)]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    if request.param == "trio":
        pytest.importorskip("trio")
    return str(request.param)


async def test_receive_messages_also_answers_prompts_sent_while_reading(project: Path) -> None:
    """The SDK's `concurrent_responses` pattern: one reader for the whole conversation."""
    with StallingAnthropicServer([echo] * 3) as server:
        async with AgentClient(options_for(server, project)) as client:
            answers: list[str | None] = []
            three = anyio.Event()

            async def read() -> None:
                async for message in client.receive_messages():
                    if isinstance(message, ResultMessage):
                        answers.append(message.result)
                        if len(answers) == 3:
                            three.set()
                assert len(answers) == 3  # the stream ends when the client disconnects

            async with anyio.create_task_group() as group:
                group.start_soon(read)
                for question in ("one", "two", "three"):
                    await client.query(question)
                    await anyio.wait_all_tasks_blocked()  # the reader waits, it does not spin
                await three.wait()
                await client.disconnect()
    assert answers == ["you said: one", "you said: two", "you said: three"]


async def test_receive_response_waits_for_a_prompt_sent_later(project: Path) -> None:
    with StallingAnthropicServer([echo]) as server:
        async with AgentClient(options_for(server, project)) as client:
            got: list[Any] = []

            async def read() -> None:
                got.extend([m async for m in client.receive_response()])

            async with anyio.create_task_group() as group:
                group.start_soon(read)
                # Nothing was asked: the reader sleeps (were it to poll, this would never return).
                await anyio.wait_all_tasks_blocked()
                assert got == []
                await client.query("late")
    assert isinstance(got[0], SystemMessage) and results(got) == ["you said: late"]


async def test_prompts_sent_at_once_are_answered_in_order_on_one_session(store: SessionStore, project: Path) -> None:
    with StallingAnthropicServer([echo] * 3) as server:
        async with AgentClient(options_for(server, project, session_store=store)) as client:
            for question in ("a", "b", "c"):
                await client.query(question)
            responses = []
            for _ in range(3):
                responses.append([m async for m in client.receive_response()])
    assert [results(r) for r in responses] == [["you said: a"], ["you said: b"], ["you said: c"]]
    assert history(server.requests[2]) == [
        ("user", ["a"]),
        ("assistant", ["you said: a"]),
        ("user", ["b"]),
        ("assistant", ["you said: b"]),
        ("user", ["c"]),
    ]


async def test_errors_reach_the_reader_and_the_client_goes_on(store: SessionStore, project: Path) -> None:
    with StallingAnthropicServer([echo] * 4) as server:
        async with AgentClient(options_for(server, project, session_store=store)) as first:
            await first.query("base")
            [m async for m in first.receive_response()]
            options = options_for(server, project, session_store=store, resume=first.session_id)
            async with AgentClient(options) as second:
                await first.query("first writer")
                [m async for m in first.receive_response()]
                await second.query("second writer")  # the session moved on since it was read
                with pytest.raises(SessionConflictError):
                    [m async for m in second.receive_response()]

                async def bad_prompts() -> AsyncIterator[dict[str, Any]]:
                    yield {"type": "user", "message": {"role": "assistant", "content": "not a user"}}

                with pytest.raises(ConfigurationError):
                    await first.query(bad_prompts())
            await first.query("still here")
            assert results([m async for m in first.receive_response()]) == ["you said: still here"]


async def test_a_failing_prompt_stream_reaches_the_reader(project: Path) -> None:
    async def prompts() -> AsyncIterator[Any]:
        yield user("fine")
        yield 42

    with StallingAnthropicServer([echo]) as server:
        seen: list[Any] = []
        with pytest.raises(ConfigurationError, match="streamed prompt"):
            async for message in query(prompt=prompts(), options=options_for(server, project)):
                seen.append(message)
    assert results(seen) == ["you said: fine"]


async def test_query_reads_streamed_prompts_while_answering(project: Path) -> None:
    """The input is read concurrently: a prompt may wait for the answer to the one before."""
    answered = anyio.Event()

    async def conversation() -> AsyncIterator[dict[str, Any]]:
        yield user("first")
        await answered.wait()  # would deadlock if the input were read only after the run
        yield user("second")

    with StallingAnthropicServer([echo] * 2) as server:
        seen: list[Any] = []
        async for message in query(prompt=conversation(), options=options_for(server, project)):
            seen.append(message)
            if isinstance(message, ResultMessage):
                answered.set()
    assert results(seen) == ["you said: first", "you said: second"]
    assert len({m.data["session_id"] for m in seen if isinstance(m, SystemMessage)}) == 1


async def test_connect_with_a_prompt_stream_ends_with_it(project: Path) -> None:
    async def prompts() -> AsyncIterator[dict[str, Any]]:
        for text in ("x", "y"):
            yield user(text)

    with StallingAnthropicServer([echo] * 2) as server:
        client = AgentClient(options_for(server, project))
        await client.connect(prompts())
        messages = [m async for m in client.receive_messages()]  # ends after the last answer
        with pytest.raises(CLIConnectionError):
            await client.query("too late")
        with pytest.raises(CLIConnectionError, match="ended"):  # not an empty stream, again and again
            [m async for m in client.receive_response()]
        await client.disconnect()
    assert results(messages) == ["you said: x", "you said: y"]


async def test_query_with_a_prompt_stream_and_a_string_prompt_on_connect(project: Path) -> None:
    async def prompts() -> AsyncIterator[dict[str, Any]]:
        yield user("streamed 1")
        yield user("streamed 2")

    with StallingAnthropicServer([echo] * 3) as server:
        client = AgentClient(options_for(server, project))
        await client.connect("hello")
        await client.query(prompts())
        answers = []
        for _ in range(3):
            answers.append(results([m async for m in client.receive_response()]))
        await client.disconnect()
    assert answers == [["you said: hello"], ["you said: streamed 1"], ["you said: streamed 2"]]


async def test_disconnect_ends_a_waiting_reader_and_closes_cleanly(project: Path) -> None:
    with StallingAnthropicServer([]) as server:
        client = AgentClient(options_for(server, project))
        await client.connect()
        ended = anyio.Event()

        async def read() -> None:
            async for _ in client.receive_messages():
                pass
            ended.set()

        async with anyio.create_task_group() as group:
            group.start_soon(read)
            await anyio.wait_all_tasks_blocked()
            await client.disconnect()
        assert ended.is_set()
        await client.disconnect()  # twice is fine


async def test_a_client_may_be_closed_from_another_task(project: Path) -> None:
    """As in IPython, where each cell runs in a task of its own."""
    with StallingAnthropicServer([echo]) as server:
        client = AgentClient(options_for(server, project))
        async with anyio.create_task_group() as group:
            group.start_soon(client.connect)
        await client.query("across tasks")
        assert results([m async for m in client.receive_response()]) == ["you said: across tasks"]
        async with anyio.create_task_group() as group:
            group.start_soon(client.disconnect)
        with pytest.raises(CLIConnectionError):
            await client.query("closed")


async def test_a_streaming_prompt_is_cut_when_the_client_leaves(project: Path) -> None:
    stall = Stall("Part of it")
    with StallingAnthropicServer([stall]) as server:
        async with AgentClient(options_for(server, project)) as client:
            await client.query("long")
            await anyio.to_thread.run_sync(stall.stalled.wait)
        assert not stall.release.is_set()  # left without waiting for the reply to end


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.query("x"),
        lambda c: c.interrupt(),
        lambda c: c.set_model("claude-sonnet-4-5"),
        lambda c: c.set_permission_mode("default"),
        lambda c: c.get_server_info(),
        lambda c: c.get_mcp_status(),
        lambda c: c.get_context_usage(),
        lambda c: c.reconnect_mcp_server("x"),
        lambda c: c.toggle_mcp_server("x", False),
        lambda c: c.stop_task("t"),
        lambda c: c.rewind_files("u"),
    ],
)
async def test_a_client_that_is_not_connected_raises_cli_connection_error(call: Any) -> None:
    client = ClaudeSDKClient()
    with pytest.raises(CLIConnectionError):
        await call(client)
    with pytest.raises(CLIConnectionError):
        [m async for m in client.receive_messages()]
    with pytest.raises(CLIConnectionError):
        [m async for m in client.receive_response()]
    with pytest.raises(CLIConnectionError):
        client.session_id  # noqa: B018


async def test_connect_raises_what_keeps_the_session_from_opening(project: Path) -> None:
    client = AgentClient(AgentOptions(model="nonsense-model", cwd=project))
    with pytest.raises(ConfigurationError):
        await client.connect()
    with pytest.raises(CLIConnectionError):
        await client.query("x")


async def test_a_transport_is_refused_by_name(project: Path) -> None:
    with pytest.raises(UnsupportedOptionError, match="transport") as raised:
        AgentClient(transport=object())  # type: ignore[arg-type]
    assert raised.value.option == "transport"
    with pytest.raises(UnsupportedOptionError, match="transport"):
        async for _ in query(prompt="x", transport=object()):  # type: ignore[arg-type]
            pass
    with StallingAnthropicServer(["accepted"]) as server:
        messages = [m async for m in query(prompt="x", options=options_for(server, project), transport=None)]
    assert results(messages) == ["accepted"]


async def test_the_client_uses_the_session_store_it_is_given(project: Path) -> None:
    store = MemoryStore()
    with StallingAnthropicServer([echo]) as server:
        async with AgentClient(options_for(server, project, session_store=store)) as client:
            await client.query("kept")
            [m async for m in client.receive_response()]
            session_id = client.session_id
    assert [s["session_id"] for s in await store.list_sessions(project_key_for_directory(project))] == [session_id]
