"""Turn leases: a turn in progress is visible to every other agent on the store, in every store.

Two agents in one process are two lease owners, exactly as two processes are: each test runs a
turn that holds its session (its model or its tool waits on an event) while a second agent tries
the same session.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
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
    tool,
)
from tether._vocabulary.store import SessionKey, SessionStore
from tether.models.base import ModelRequest
from tether.sessions.capabilities import LEASE_SUBPATH, store_access
from tether.sessions.entries import active_chain
from tether.sessions.lease import SessionLease
from tether.sessions.stores.jsonl import JsonlStore
from tether.sessions.stores.memory import MemoryStore
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import FunctionModel, ScriptedModel, run_query, tool_use_reply

pytestmark = pytest.mark.anyio


async def started_session(store: SessionStore, project: Path) -> str:
    messages = (
        await run_query("base", AgentOptions(model=ScriptedModel(["ok"]), session_store=store, cwd=project))
    ).messages
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
        await run_query(
            "first", AgentOptions(model=held.model, session_store=any_store, cwd=project, resume=session_id)
        )

    async def second() -> None:
        await held.started.wait()
        before = await any_store.load(key_of(project, session_id))
        with pytest.raises(SessionBusyError) as caught:
            await run_query(
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
    after = (
        await run_query(
            "third",
            AgentOptions(
                model=ScriptedModel(["third answer"]), session_store=any_store, cwd=project, resume=session_id
            ),
        )
    ).messages
    assert isinstance(after[-1], ResultMessage) and after[-1].result == "third answer"


async def test_session_busy_timeout_waits_for_the_turn_and_continues_after_it(
    any_store: SessionStore, project: Path
) -> None:
    session_id = await started_session(any_store, project)
    held = HeldTurn("first answer")
    waiter = ScriptedModel(["second answer"])
    results: list[ResultMessage] = []

    async def first() -> None:
        messages = (
            await run_query(
                "first", AgentOptions(model=held.model, session_store=any_store, cwd=project, resume=session_id)
            )
        ).messages
        assert isinstance(messages[-1], ResultMessage)

    async def second() -> None:
        await held.started.wait()
        options = AgentOptions(
            model=waiter, session_store=any_store, cwd=project, resume=session_id, session_busy_timeout=30
        )
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: _release_soon(held))
            messages = (await run_query("second", options)).messages
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
    # Once every task waits, the waiter has been refused the lease and is polling it (with a store
    # that answers over a socket it may still be asking: it then gets the lease at once, also fine).
    await anyio.wait_all_tasks_blocked()
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
        results.extend((await run_query("build it", options)).messages)

    async def resumer() -> None:
        await _wait_for_tool_use(store, project, session_id)
        with pytest.raises(SessionBusyError):
            await run_query(
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
        await run_query("now", options)
    options.session_busy_timeout = 10  # long enough for the lease to lapse
    messages = (await run_query("a bit later", options)).messages
    assert isinstance(messages[-1], ResultMessage) and messages[-1].result == "late"


async def test_the_lease_lives_beside_the_transcript_and_goes_with_it(any_store: SessionStore, project: Path) -> None:
    session_id = await started_session(any_store, project)
    access = store_access(any_store)
    lease_key = SessionKey(project_key=project_key_for_directory(project), session_id=session_id, subpath=LEASE_SUBPATH)
    transcript = await access.load(key_of(project, session_id))
    assert transcript is not None and not any(e["type"] == "tether-lease" for e in transcript)
    if access.can("swap_lease"):  # one lease per session, kept by the store apart from its transcripts
        assert await access.list_subkeys(key_of(project, session_id)) == []
    else:  # the fallback: a chain of lease records under a subpath
        records = await access.load(lease_key)
        assert records is not None and [r["type"] for r in records] == [
            "tether-lease",
            "tether-lease",
        ]  # taken, given back
        assert records[-1]["expiresAt"] == 0
    # The turn gave its lease back: another owner takes it at once.
    other = SessionLease(access, key_of(project, session_id))
    assert await other.acquire() is False
    await other.release()
    if access.can("delete"):
        await access.delete(key_of(project, session_id))
        assert await access.load(lease_key) is None


async def test_swap_lease_takes_a_free_lapsed_own_or_dead_lease_and_reports_a_live_one(
    any_store: SessionStore, project: Path
) -> None:
    session_id = await started_session(any_store, project)
    access = store_access(any_store)
    key = key_of(project, session_id)
    now = 10**12
    assert await access.swap_lease(key, "a", now + 1000, now_ms=now) is None  # free (the turn gave it back)
    assert await access.swap_lease(key, "b", now + 5000, now_ms=now) == ("a", now + 1000)  # a's, untouched
    assert await access.swap_lease(key, "a", now + 2000, now_ms=now) is None  # a renews
    assert await access.swap_lease(key, "b", now + 5000, now_ms=now + 1999) == ("a", now + 2000)
    assert await access.swap_lease(key, "b", now + 5000, now_ms=now + 2000) is None  # lapsed: b takes it
    assert await access.swap_lease(key, "c", now + 6000, now_ms=now, take_from="b") is None  # b found dead
    assert await access.swap_lease(key, "c", 0, now_ms=now) is None  # released
    assert await access.swap_lease(key, "d", now + 1000, now_ms=now) is None
    fork = SessionKey(project_key=key["project_key"], session_id=str(uuid.uuid4()))
    await access.fork(key, fork)  # a fork does not inherit d's lease
    assert await access.swap_lease(fork, "f", now + 1000, now_ms=now) is None
    other_session = await started_session(any_store, project)  # leases are per session
    assert await access.swap_lease(key_of(project, other_session), "e", now + 1000, now_ms=now) is None


LEASE_STORE_KINDS = (
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
)


def lease_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> SessionStore:
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "sessions.db")
    if kind == "postgres":
        from tether.sessions.stores.postgres import PostgresStore

        return PostgresStore(request.getfixturevalue("postgres_url"))
    from tether.sessions.stores.redis import RedisStore

    return RedisStore(request.getfixturevalue("redis_url"), prefix=request.getfixturevalue("redis_prefix"))


async def stored_leases(kind: str, request: pytest.FixtureRequest, store: SessionStore, session_id: str) -> int:
    """How many lease rows (keys, for Redis) the store's own tables hold for `session_id`."""
    if isinstance(store, SQLiteStore):
        with contextlib.closing(sqlite3.connect(store.path)) as db:
            row = db.execute("SELECT count(*) FROM tether_leases WHERE session_id = ?", (session_id,)).fetchone()
        return int(row[0])
    if kind == "postgres":
        import psycopg

        async with await psycopg.AsyncConnection.connect(request.getfixturevalue("postgres_url")) as conn:
            cursor = await conn.execute("SELECT count(*) FROM tether_leases WHERE session_id = %s", (session_id,))
            found = await cursor.fetchone()
        assert found is not None
        return int(found[0])
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(request.getfixturevalue("redis_url"))
    try:
        prefix = request.getfixturevalue("redis_prefix")
        return len([key async for key in client.scan_iter(match=f"{{{prefix}}}:lease:*{session_id}")])
    finally:
        await client.aclose()


@pytest.mark.parametrize("kind", LEASE_STORE_KINDS)
async def test_fifty_turns_leave_one_lease_row_which_goes_with_the_session(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, project: Path
) -> None:
    store = lease_store(kind, request, tmp_path)
    access = store_access(store)
    try:
        session_id = await started_session(store, project)
        for turn in range(49):
            options = AgentOptions(
                model=ScriptedModel([f"answer {turn}"]), session_store=store, cwd=project, resume=session_id
            )
            messages = (await run_query(f"turn {turn}", options)).messages
            assert isinstance(messages[-1], ResultMessage) and not messages[-1].is_error
        assert await stored_leases(kind, request, store, session_id) == 1
        assert await access.list_subkeys(key_of(project, session_id)) == []  # no log of lease records
        await access.delete(key_of(project, session_id))
        assert await stored_leases(kind, request, store, session_id) == 0
    finally:
        await access.close()


class TwoMethodStore:
    """Only the SDK's two methods: no compare-and-set append, no lease of its own."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str, str], list[Any]] = {}

    async def append(self, key: Any, entries: list[Any]) -> None:
        self.data.setdefault((key["project_key"], key["session_id"], key.get("subpath") or ""), []).extend(entries)

    async def load(self, key: Any) -> list[Any] | None:
        entries = self.data.get((key["project_key"], key["session_id"], key.get("subpath") or ""))
        return None if entries is None else list(entries)


@pytest.mark.parametrize("kind", ["jsonl", "two-method"])
async def test_the_fallback_lease_refuses_a_second_owner_until_the_first_gives_it_up(
    kind: str, tmp_path: Path, project: Path
) -> None:
    store: SessionStore = JsonlStore(tmp_path / "claude") if kind == "jsonl" else TwoMethodStore()
    access = store_access(store)
    assert not access.can("swap_lease")
    session_id = await started_session(store, project)
    first, second = SessionLease(access, key_of(project, session_id)), SessionLease(access, key_of(project, session_id))
    assert await first.acquire() is False and first.held
    with pytest.raises(SessionBusyError, match=first.owner):
        await second.acquire()
    await first.release()
    assert await second.acquire() is False and second.held
    await second.release()
    records = await access.load(
        SessionKey(project_key=key_of(project, session_id)["project_key"], session_id=session_id, subpath=LEASE_SUBPATH)
    )
    assert records is not None and [r["owner"] for r in records][-2:] == [second.owner, second.owner]


@pytest.mark.parametrize(
    ("name", "value"), [("session_lease_ttl", 0), ("session_lease_ttl", float("nan")), ("session_busy_timeout", -1)]
)
async def test_bad_lease_options_fail_before_anything_is_written(project: Path, name: str, value: float) -> None:
    store = MemoryStore()
    options = AgentOptions(model=ScriptedModel(["x"]), session_store=store, cwd=project)
    setattr(options, name, value)
    with pytest.raises(ConfigurationError, match=name):
        await run_query("hello", options)
    assert await store.list_sessions(project_key_for_directory(project)) == []
