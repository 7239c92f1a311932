"""`interrupt()` cuts a streaming reply or a running tool at once; the session goes on validly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.client.support import Stall, StallingAnthropicServer, echo, history, options_for
from tests.fakes import Reply, ToolUse

from tether import (
    AgentClient,
    AssistantMessage,
    MemoryStore,
    ResultMessage,
    StreamEvent,
    TextBlock,
    create_sdk_mcp_server,
    project_key_for_directory,
    query,
    tool,
)
from tether._vocabulary.store import SessionStore
from tether.sessions.session import INTERRUPTED_TOOL_RESULT
from tether.testing import run_query

pytestmark = pytest.mark.anyio

CUT = "[Request interrupted by user]"
CUT_TOOL = "[Request interrupted by user for tool use]"


def streamed_text(message: Any) -> str:
    if isinstance(message, StreamEvent) and message.event.get("type") == "content_block_delta":
        return str(message.event["delta"].get("text", ""))
    return ""


async def test_interrupt_cuts_a_streaming_reply_and_stores_it_marked(store: SessionStore, project: Path) -> None:
    stall = Stall("Counting: 1, 2, 3, 4")
    with StallingAnthropicServer([stall, "Why did the cat sit on the laptop?"]) as server:
        options = options_for(server, project, session_store=store, include_partial_messages=True)
        async with AgentClient(options) as client:
            session_id = client.session_id
            await client.query("Count from 1 to 100 slowly")
            seen: list[Any] = []
            received = ""
            async for message in client.receive_response():
                seen.append(message)
                received += streamed_text(message)
                if received == stall.text:  # the reply is mid-stream: the server holds the rest back
                    await client.interrupt()
            assert not stall.release.is_set()  # so the reply was cut, not run to its end
            await client.query("Never mind, tell me a joke")
            joke = [m async for m in client.receive_response()]

    result = seen[-1]
    assert isinstance(result, ResultMessage) and result.is_error
    assert (result.subtype, result.terminal_reason, result.errors) == (
        "error_during_execution",
        "aborted_streaming",
        [CUT],
    )
    partial = [m for m in seen if isinstance(m, AssistantMessage)]
    assert len(partial) == 1 and partial[0].stop_reason is None
    assert partial[0].content == [TextBlock(stall.text)]

    assert isinstance(joke[-1], ResultMessage) and joke[-1].subtype == "success"
    assert joke[-1].result == "Why did the cat sit on the laptop?"
    # The model saw a valid history: the partial reply, then the cut, then the new prompt.
    assert history(server.requests[-1]) == [
        ("user", ["Count from 1 to 100 slowly"]),
        ("assistant", [stall.text]),
        ("user", [CUT, "Never mind, tell me a joke"]),
    ]
    # And the store holds it so: a later process resumes with the same history.
    key = {"project_key": project_key_for_directory(project), "session_id": session_id}
    entries = await store.load(key)  # type: ignore[arg-type]
    assert entries is not None
    said = [(e["type"], e["message"]["content"]) for e in entries if e.get("type") in ("user", "assistant")]
    assert said[1:3] == [
        ("assistant", [{"type": "text", "text": stall.text}]),
        ("user", [{"type": "text", "text": CUT}]),
    ]
    with StallingAnthropicServer(["resumed"]) as later:
        async for _ in query(
            prompt="again", options=options_for(later, project, session_store=store, resume=session_id)
        ):
            pass
        assert [role for role, _ in history(later.requests[0])] == ["user", "assistant", "user", "assistant", "user"]


def waiting_tool(started: anyio.Event, cancelled: anyio.Event) -> Any:
    @tool("wait", "Waits for something that never comes", {})
    async def wait(args: dict[str, Any]) -> dict[str, Any]:
        started.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise
        return {"content": []}  # pragma: no cover

    return wait


@pytest.mark.parametrize("persist", [True, False], ids=["stored", "not-persisted"])
async def test_interrupt_cuts_a_running_tool(persist: bool, project: Path) -> None:
    started, cancelled = anyio.Event(), anyio.Event()
    server_config = create_sdk_mcp_server("slow", tools=[waiting_tool(started, cancelled)])
    replies = [Reply([ToolUse("mcp__slow__wait", {}, id="toolu_wait")]), "All right, stopped."]
    store = MemoryStore()
    with StallingAnthropicServer(replies) as server:
        options = options_for(
            server,
            project,
            session_store=store,
            persist_session=persist,
            mcp_servers={"slow": server_config},
            allowed_tools=["mcp__slow__wait"],
        )
        async with AgentClient(options) as client:
            await client.query("Wait for it")
            seen: list[Any] = []

            async def read() -> None:
                seen.extend([m async for m in client.receive_response()])

            async with anyio.create_task_group() as group:
                group.start_soon(read)
                await started.wait()
                await client.interrupt()
            await client.query("Stop waiting")
            after = [m async for m in client.receive_response()]

    assert cancelled.is_set()  # the tool itself was cut, not left to finish
    result = seen[-1]
    assert isinstance(result, ResultMessage)
    assert (result.terminal_reason, result.errors) == ("aborted_tools", [CUT_TOOL])
    assert isinstance(after[-1], ResultMessage) and after[-1].result == "All right, stopped."
    closed = server.requests[-1]["messages"][2]["content"]
    assert closed[0] == {
        "type": "tool_result",
        "tool_use_id": "toolu_wait",
        "content": INTERRUPTED_TOOL_RESULT,
        "is_error": True,
    }
    assert history(server.requests[-1]) == [
        ("user", ["Wait for it"]),
        ("assistant", ["tool_use:mcp__slow__wait"]),
        ("user", ["tool_result", CUT_TOOL, "Stop waiting"]),
    ]


async def test_interrupt_before_a_queued_prompt_starts_cuts_that_prompt(project: Path) -> None:
    with StallingAnthropicServer([echo] * 2) as server:
        async with AgentClient(options_for(server, project, session_store=MemoryStore())) as client:
            await client.query("first")
            await client.interrupt()  # the prompt is queued, not running yet: it is cut as it starts
            first = [m async for m in client.receive_response()]
            await client.query("second")
            second = [m async for m in client.receive_response()]
    assert isinstance(first[-1], ResultMessage) and first[-1].terminal_reason == "aborted_streaming"
    assert isinstance(second[-1], ResultMessage) and second[-1].result == "you said: second"


async def test_interrupt_with_nothing_running_does_nothing(project: Path) -> None:
    with StallingAnthropicServer(["fine"]) as server:
        async with AgentClient(options_for(server, project)) as client:
            await client.interrupt()
            await client.query("hello")
            answer = [m async for m in client.receive_response()]
    assert isinstance(answer[-1], ResultMessage) and answer[-1].subtype == "success"


async def test_disconnect_mid_reply_leaves_the_session_resumable(store: SessionStore, project: Path) -> None:
    stall = Stall("Half an answer")
    with StallingAnthropicServer([stall]) as server:
        client = AgentClient(options_for(server, project, session_store=store, include_partial_messages=True))
        await client.connect()
        session_id = client.session_id
        await client.query("A long question")
        received = ""
        async for message in client.receive_messages():  # the client has the text, not just the server sent it
            received += streamed_text(message)
            if received == stall.text:
                break
        await client.disconnect()
    with StallingAnthropicServer(["the whole answer"]) as later:
        options = options_for(later, project, session_store=store, resume=session_id)
        messages = (await run_query("Try again", options)).messages
    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "the whole answer"
    assert history(later.requests[0])[0] == ("user", ["A long question"])
    assert history(later.requests[0])[-1][1][-1] == "Try again"
