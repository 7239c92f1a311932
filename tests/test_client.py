"""AgentClient: one session across prompts, its id right after connect, concurrent writers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from tether import (
    AgentClient,
    AgentOptions,
    ClaudeSDKClient,
    ResultMessage,
    SessionBusyError,
    SessionConflictError,
    SystemMessage,
    project_key_for_directory,
    query,
)
from tether._vocabulary.store import SessionStore
from tether.sessions.entries import active_chain
from tether.testing import FunctionModel, ScriptedModel

pytestmark = pytest.mark.anyio


async def test_session_id_is_known_right_after_connect_and_is_resumable(store: SessionStore, project: Path) -> None:
    model = ScriptedModel(["one", "two"])
    async with AgentClient(AgentOptions(model=model, session_store=store, cwd=project)) as client:
        session_id = client.session_id
        assert model.requests == []
        await client.query("first")
        first = [m async for m in client.receive_response()]
        await client.query("second")
        second = [m async for m in client.receive_response()]
    assert isinstance(first[0], SystemMessage) and first[0].data["session_id"] == session_id
    assert isinstance(first[-1], ResultMessage) and isinstance(second[-1], ResultMessage)
    assert second[-1].session_id == session_id
    assert [b["text"] for m in model.requests[1].messages for b in m["content"]] == ["first", "one", "second"]

    # connected but never asked: the session still exists and resumes
    async with AgentClient(AgentOptions(model=ScriptedModel([]), session_store=store, cwd=project)) as idle:
        idle_id = idle.session_id
    later = ScriptedModel(["hello"])
    messages = [
        m
        async for m in query(
            prompt="hi", options=AgentOptions(model=later, session_store=store, cwd=project, resume=idle_id)
        )
    ]
    assert isinstance(messages[-1], ResultMessage) and messages[-1].session_id == idle_id


async def test_claude_sdk_client_is_the_same_class() -> None:
    assert ClaudeSDKClient is AgentClient


async def test_receive_messages_runs_every_queued_prompt(store: SessionStore, project: Path) -> None:
    async with AgentClient(AgentOptions(model=ScriptedModel(["a", "b"]), session_store=store, cwd=project)) as client:
        await client.query("1")
        await client.query("2")
        results: list[ResultMessage] = []
        async for message in client.receive_messages():  # long-lived: it ends when the client disconnects
            if isinstance(message, ResultMessage):
                results.append(message)
                if len(results) == 2:
                    break
    assert [r.result for r in results] == ["a", "b"]


async def test_interrupt_stops_the_run_and_leaves_a_consistent_session(store: SessionStore, project: Path) -> None:
    thinking = anyio.Event()

    async def slow(request: Any) -> str:
        if not thinking.is_set():  # the first call: the model takes forever
            thinking.set()
            await anyio.sleep_forever()
        return "after the interrupt"

    client = AgentClient(AgentOptions(model=FunctionModel(slow), session_store=store, cwd=project))
    await client.connect()
    await client.query("go")
    seen: list[Any] = []

    async def read() -> None:
        seen.extend([m async for m in client.receive_response()])

    async with anyio.create_task_group() as group:
        group.start_soon(read)
        await thinking.wait()
        await client.interrupt()
    await client.query("again")
    after = [m async for m in client.receive_response()]
    await client.disconnect()
    result = seen[-1]
    assert isinstance(result, ResultMessage) and result.is_error and result.errors is not None
    assert "interrupted" in result.errors[0]
    assert isinstance(after[-1], ResultMessage) and after[-1].result == "after the interrupt"


async def test_two_writers_on_one_session_never_interleave_silently(store: SessionStore, project: Path) -> None:
    """Both resume the same leaf; the second to write gets SessionConflictError; one chain remains."""
    start = [
        m
        async for m in query(
            prompt="base", options=AgentOptions(model=ScriptedModel(["ok"]), session_store=store, cwd=project)
        )
    ]
    assert isinstance(start[-1], ResultMessage)
    session_id = start[-1].session_id

    first = AgentClient(
        AgentOptions(model=ScriptedModel(["from first"]), session_store=store, cwd=project, resume=session_id)
    )
    second = AgentClient(
        AgentOptions(model=ScriptedModel(["from second"]), session_store=store, cwd=project, resume=session_id)
    )
    await first.connect()
    await second.connect()
    await first.query("first writer")
    assert isinstance([m async for m in first.receive_response()][-1], ResultMessage)
    await second.query("second writer")
    with pytest.raises(SessionConflictError):
        [m async for m in second.receive_response()]
    await first.disconnect()
    await second.disconnect()

    entries = await store.load({"project_key": project_key_for_directory(project), "session_id": session_id})
    assert entries is not None
    chain_texts = [
        block.get("text") if isinstance(block, dict) else block
        for entry in active_chain(entries)
        for block in (
            entry["message"]["content"]
            if isinstance(entry["message"]["content"], list)
            else [entry["message"]["content"]]
        )
    ]
    assert chain_texts == ["base", "ok", "first writer", "from first"]
    assert not any(e.get("message", {}).get("content") == "second writer" for e in entries)


async def test_concurrent_runs_on_one_session_in_tasks(store: SessionStore, project: Path) -> None:
    start = [
        m
        async for m in query(
            prompt="base", options=AgentOptions(model=ScriptedModel(["ok"]), session_store=store, cwd=project)
        )
    ]
    assert isinstance(start[-1], ResultMessage)
    session_id = start[-1].session_id
    outcomes: list[str] = []

    async def slow(request: Any) -> str:
        await anyio.sleep(0.01)
        return "answer"

    async def worker(name: str) -> None:
        options = AgentOptions(model=FunctionModel(slow), session_store=store, cwd=project, resume=session_id)
        try:
            async for _ in query(prompt=name, options=options):
                pass
            outcomes.append("ok")
        except (SessionConflictError, SessionBusyError):  # another run wrote first, or is running now
            outcomes.append("refused")

    async with anyio.create_task_group() as group:
        for name in ("a", "b", "c"):
            group.start_soon(worker, name)
    assert outcomes.count("ok") >= 1 and outcomes.count("ok") + outcomes.count("refused") == 3
    entries = await store.load({"project_key": project_key_for_directory(project), "session_id": session_id})
    assert entries is not None
    chain = active_chain(entries)
    answers = [e for e in chain if e["type"] == "assistant" and e["message"]["content"][0]["text"] == "answer"]
    assert len(answers) == outcomes.count("ok")
    assert len({e["uuid"] for e in entries if e.get("uuid")}) == len([e for e in entries if e.get("uuid")])
    # no sibling branches: every uuid entry lies on the one chain
    assert len(chain) == len([e for e in entries if e.get("uuid")])
