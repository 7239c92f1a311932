"""Turn leases: a turn in progress is visible to every other agent on the store, in every store.

Two agents in one process are two lease owners, exactly as two processes are: each test runs a
turn that holds its session (its model or its tool waits on an event) while a second agent tries
the same session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from tether import (
    AgentOptions,
    ConfigurationError,
    Message,
    ResultMessage,
    SessionBusyError,
    create_sdk_mcp_server,
    project_key_for_directory,
    query,
    tool,
)
from tether.models.base import ModelRequest
from tether.sessions.capabilities import store_access
from tether.sessions.entries import active_chain
from tether.sessions.lease import LEASE_SUBPATH, SessionLease
from tether.sessions.memory import MemoryStore
from tether.sessions.store import SessionKey, SessionStore
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import FunctionModel, ScriptedModel, tool_use_reply

pytestmark = pytest.mark.anyio


async def collect(prompt: str, options: AgentOptions) -> list[Message]:
    return [message async for message in query(prompt=prompt, options=options)]


async def started_session(store: SessionStore, project: Path) -> str:
    messages = await collect("base", AgentOptions(model=ScriptedModel(["ok"]), session_store=store, cwd=project))
    assert isinstance(messages[-1], ResultMessage)
    return messages[-1].session_id


def key_of(project: Path, session_id: str) -> SessionKey:
    return SessionKey(project_key=project_key_for_directory(project), session_id=session_id)


class HeldTurn:
    """A model whose reply waits until `release` is set (`started` is set once it is called)."""

    def __init__(self, answer: str) -> None:
        self.started = anyio.Event()
        self.release = anyio.Event()
        self.model = FunctionModel(self._reply)
        self.answer = answer

    async def _reply(self, request: ModelRequest) -> str:
        self.started.set()
        await self.release.wait()
        return self.answer


async def test_a_second_agent_gets_session_busy_while_a_turn_runs_and_writes_nothing(
    any_store: SessionStore, project: Path
) -> None:
    session_id = await started_session(any_store, project)
    held = HeldTurn("first answer")
    refused: list[BaseException] = []

    async def first() -> None:
        await collect("first", AgentOptions(model=held.model, session_store=any_store, cwd=project, resume=session_id))

    async def second() -> None:
        await held.started.wait()
        before = await any_store.load(key_of(project, session_id))
        with pytest.raises(SessionBusyError) as caught:
            await collect(
                "second",
                AgentOptions(model=ScriptedModel(["x"]), session_store=any_store, cwd=project, resume=session_id),
            )
        refused.append(caught.value)
        assert await any_store.load(key_of(project, session_id)) == before  # nothing written
        held.release.set()

    async with anyio.create_task_group() as group:
        group.start_soon(first)
        group.start_soon(second)
    assert isinstance(refused[0], SessionBusyError) and session_id in str(refused[0])
    # The lease is free again once the turn ended: the next resume runs.
    after = await collect(
        "third",
        AgentOptions(model=ScriptedModel(["third answer"]), session_store=any_store, cwd=project, resume=session_id),
    )
    assert isinstance(after[-1], ResultMessage) and after[-1].result == "third answer"


async def test_session_busy_timeout_waits_for_the_turn_and_continues_after_it(
    any_store: SessionStore, project: Path
) -> None:
    session_id = await started_session(any_store, project)
    held = HeldTurn("first answer")
    waiter = ScriptedModel(["second answer"])
    results: list[ResultMessage] = []

    async def first() -> None:
        messages = await collect(
            "first", AgentOptions(model=held.model, session_store=any_store, cwd=project, resume=session_id)
        )
        assert isinstance(messages[-1], ResultMessage)

    async def second() -> None:
        await held.started.wait()
        options = AgentOptions(
            model=waiter, session_store=any_store, cwd=project, resume=session_id, session_busy_timeout=30
        )
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: _release_soon(held))
            messages = await collect("second", options)
        assert isinstance(messages[-1], ResultMessage)
        results.append(messages[-1])

    async with anyio.create_task_group() as group:
        group.start_soon(first)
        group.start_soon(second)
    assert results[0].result == "second answer"
    # The waiting turn went on after the one it waited for: its model saw that turn.
    sent = [block["text"] for m in waiter.requests[0].messages for block in m["content"] if block["type"] == "text"]
    assert sent == ["base", "ok", "first", "first answer", "second"]
    entries = await any_store.load(key_of(project, session_id))
    assert entries is not None and len(active_chain(entries)) == 6


async def _release_soon(held: HeldTurn) -> None:
    await anyio.sleep(0.3)  # the waiter is polling the lease by now (or gets it at once: both are fine)
    held.release.set()


@tool("slow_step", "A step that takes a while", {"name": str})
async def slow_step(args: dict[str, Any]) -> dict[str, Any]:
    await STEP_RELEASE.wait()
    return {"content": [{"type": "text", "text": f"{args['name']} done"}]}


STEP_RELEASE = anyio.Event()
TOOLS = {"steps": create_sdk_mcp_server("steps", tools=[slow_step])}


async def test_a_resumer_leaves_a_live_tool_call_open(project: Path, tmp_path: Path) -> None:
    global STEP_RELEASE
    STEP_RELEASE = anyio.Event()
    store = SQLiteStore(tmp_path / "sessions.db")
    session_id = await started_session(store, project)
    model = ScriptedModel([tool_use_reply("mcp__steps__slow_step", {"name": "build"}, id="call_1"), "built"])
    options = AgentOptions(
        model=model,
        session_store=store,
        cwd=project,
        resume=session_id,
        mcp_servers=TOOLS,
        tools=[],
        allowed_tools=["mcp__steps"],
    )
    results: list[Message] = []

    async def runner() -> None:
        results.extend(await collect("build it", options))

    async def resumer() -> None:
        await _wait_for_tool_use(store, project, session_id)
        with pytest.raises(SessionBusyError):
            await collect(
                "meanwhile",
                AgentOptions(model=ScriptedModel(["x"]), session_store=store, cwd=project, resume=session_id),
            )
        STEP_RELEASE.set()

    async with anyio.create_task_group() as group:
        group.start_soon(runner)
        group.start_soon(resumer)
    assert isinstance(results[-1], ResultMessage) and results[-1].result == "built"
    entries = await store.load(key_of(project, session_id))
    assert entries is not None
    tool_results = [
        block
        for entry in active_chain(entries)
        if entry["type"] == "user" and isinstance(entry["message"]["content"], list)
        for block in entry["message"]["content"]
        if block.get("type") == "tool_result"
    ]
    # One result for the call, the tool's own: the resumer did not close it as interrupted.
    assert [(r["tool_use_id"], r.get("is_error", False)) for r in tool_results] == [("call_1", False)]
    await store.close()


async def _wait_for_tool_use(store: SessionStore, project: Path, session_id: str) -> None:
    with anyio.fail_after(10):
        while True:
            entries = await store.load(key_of(project, session_id)) or []
            if any(e.get("type") == "assistant" and "tool_use" in str(e.get("message")) for e in entries):
                return
            await anyio.sleep(0.02)


async def test_a_lease_of_a_process_elsewhere_lapses_after_its_ttl(any_store: SessionStore, project: Path) -> None:
    session_id = await started_session(any_store, project)
    elsewhere = SessionLease(store_access(any_store), key_of(project, session_id), ttl=0.5)
    elsewhere.owner = "another-host:4242:deadbeef"  # a machine we cannot ask whether its process lives
    await elsewhere.acquire()  # ... and then it dies without releasing

    options = AgentOptions(model=ScriptedModel(["late"]), session_store=any_store, cwd=project, resume=session_id)
    with pytest.raises(SessionBusyError, match="another-host:4242"):
        await collect("now", options)
    options.session_busy_timeout = 10  # long enough for the lease to lapse
    messages = await collect("a bit later", options)
    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "late"


async def test_lease_records_live_beside_the_transcript_and_go_with_it(any_store: SessionStore, project: Path) -> None:
    session_id = await started_session(any_store, project)
    access = store_access(any_store)
    lease_key = SessionKey(project_key=project_key_for_directory(project), session_id=session_id, subpath=LEASE_SUBPATH)
    records = await access.load(lease_key)
    assert records is not None and [r["type"] for r in records] == ["tether-lease", "tether-lease"]  # taken, given back
    assert records[-1]["expiresAt"] == 0
    transcript = await access.load(key_of(project, session_id))
    assert transcript is not None and not any(e["type"] == "tether-lease" for e in transcript)
    if access.can("delete"):
        await access.delete(key_of(project, session_id))
        assert await access.load(lease_key) is None


@pytest.mark.parametrize(
    ("name", "value"), [("session_lease_ttl", 0), ("session_lease_ttl", float("nan")), ("session_busy_timeout", -1)]
)
async def test_bad_lease_options_fail_before_anything_is_written(project: Path, name: str, value: float) -> None:
    store = MemoryStore()
    options = AgentOptions(model=ScriptedModel(["x"]), session_store=store, cwd=project)
    setattr(options, name, value)
    with pytest.raises(ConfigurationError, match=name):
        await collect("hello", options)
    assert await store.list_sessions(project_key_for_directory(project)) == []
