"""Following a session from anywhere (`tether.sessions.follow`), on SQLite, PostgreSQL and Redis.

A turn is held at a model call (its model waits on an event) so a follower joins at a known
point; followers read through store objects of their own, in this process or in another one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from tether import (
    AgentClient,
    AgentOptions,
    AssistantMessage,
    ConfigurationError,
    FollowTimeoutError,
    Message,
    ResultMessage,
    SessionNotFoundError,
    UserMessage,
    follow,
    project_key_for_directory,
)
from tether._vocabulary.store import SessionKey, SessionStore, SessionStoreEntry
from tether.models.base import ModelRequest, ModelResponse
from tether.sessions.capabilities import store_access
from tether.sessions.follow import RESULT_ENTRY_TYPE, follow_entries, message_of_entry
from tether.sessions.store import StoredTexts
from tether.sessions.stores.sqlite import SQLiteStore
from tether.sessions.urls import open_store
from tether.testing import FunctionModel, ScriptedModel, run_query, text_reply, tool_use_reply

pytestmark = pytest.mark.anyio

SRC = str(Path(__file__).resolve().parents[2] / "src")
FOLLOWED_KINDS = (
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
)


@pytest.fixture(params=FOLLOWED_KINDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a fresh store of each kind, which this process and others open on their own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sessions.db'}"
    if request.param == "postgres":
        return f"{request.getfixturevalue('postgres_url')}?scope=follow-{uuid.uuid4().hex[:12]}"
    return f"{request.getfixturevalue('redis_url')}?prefix={request.getfixturevalue('redis_prefix')}"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[SessionStore]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        await store_access(opened).close()


class HeldModel:
    """Replies with a Glob call, then (once `release` is set) with another, then with text."""

    def __init__(self) -> None:
        self.held = anyio.Event()
        self.release = anyio.Event()
        self.model = FunctionModel(self._reply)

    async def _reply(self, request: ModelRequest) -> ModelResponse:
        calls = len(self.model.requests)
        if calls == 1:
            self.held.set()
            await self.release.wait()
            return tool_use_reply("Glob", {"pattern": "*.txt"}, id="toolu_1")
        if calls == 2:
            return tool_use_reply("Glob", {"pattern": "*.md"}, id="toolu_2")
        return text_reply("done following")


async def first_turn(store: SessionStore, project: Path) -> str:
    messages = (
        await run_query("hello", AgentOptions(model=ScriptedModel(["hi"]), session_store=store, cwd=project))
    ).messages
    assert isinstance(messages[-1], ResultMessage)
    return messages[-1].session_id


def turn_options(held: HeldModel, store: SessionStore, project: Path, session_id: str) -> AgentOptions:
    return AgentOptions(model=held.model, session_store=store, cwd=project, resume=session_id, allowed_tools=["Glob"])


def key_of(project: Path, session_id: str) -> SessionKey:
    return SessionKey(project_key=project_key_for_directory(project), session_id=session_id)


def identity(message: Message) -> tuple[str, str | None]:
    return type(message).__name__, getattr(message, "uuid", None)


async def test_a_follower_in_another_process_sees_each_entry_once_in_order_to_the_result(
    store: SessionStore, store_url: str, project: Path
) -> None:
    session_id = await first_turn(store, project)
    key = key_of(project, session_id)
    before = await store_access(store).load(key) or []
    leaf = next(e["uuid"] for e in reversed(before) if e.get("uuid"))
    script = (
        "import anyio, json, sys\n"
        "from tether.sessions.follow import follow_entries\n"
        "from tether.sessions.urls import open_store\n"
        "async def main():\n"
        "    key = json.loads(sys.argv[2])\n"
        "    async for entry in follow_entries(open_store(sys.argv[1]), key, after_uuid=sys.argv[3], timeout=60):\n"
        "        print(json.dumps(entry), flush=True)\n"
        "anyio.run(main)\n"
    )
    environ = {**os.environ, "PYTHONPATH": SRC}
    command = [sys.executable, "-c", script, store_url, json.dumps(dict(key)), leaf]
    held = HeldModel()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ) as follower:
        assert follower.stdout is not None
        async with anyio.create_task_group() as group:
            run: list[Message] = []

            async def turn() -> None:
                run.extend((await run_query("follow me", turn_options(held, store, project, session_id))).messages)

            group.start_soon(turn)
            await held.held.wait()  # the prompt is stored, the model call held
            seen: list[dict[str, Any]] = []
            while not seen or seen[-1].get("type") != "user":  # the turn before's last metadata, then the prompt
                seen.append(json.loads(await anyio.to_thread.run_sync(follower.stdout.readline)))
            assert seen[-1]["message"]["content"] == "follow me"
            held.release.set()  # everything else is stored while the other process waits for it
        rest, errors = await anyio.to_thread.run_sync(follower.communicate)
    assert follower.returncode == 0, errors
    seen += [json.loads(line) for line in rest.splitlines()]
    stored = await store_access(store).load(key) or []
    after = [e.get("uuid") for e in stored].index(leaf) + 1
    assert seen == stored[after:]  # each entry once, in store order, to the turn's end
    assert seen[-1]["type"] == RESULT_ENTRY_TYPE
    messages = [m for m in map(message_of_entry, seen) if m is not None]
    assert isinstance(messages[0], ResultMessage)  # the turn before's end, stored after `leaf`
    messages = messages[1:]
    yielded = [m for m in run if isinstance(m, AssistantMessage | UserMessage | ResultMessage)]
    assert [identity(m) for m in messages[1:]] == [identity(m) for m in yielded]
    result = messages[-1]
    assert isinstance(result, ResultMessage) and isinstance(run[-1], ResultMessage)
    assert (result.subtype, result.num_turns, result.result, result.usage) == (
        run[-1].subtype,
        run[-1].num_turns,
        run[-1].result,
        run[-1].usage,
    )


async def test_the_cli_joins_a_running_turn_from_its_start(store: SessionStore, store_url: str, project: Path) -> None:
    session_id = await first_turn(store, project)
    held = HeldModel()
    command = [sys.executable, "-m", "tether.cli", "sessions", "follow", session_id, "--from-start", "--json"]
    command += ["--store", store_url, "--timeout", "60"]
    environ = {**os.environ, "PYTHONPATH": SRC}
    async with anyio.create_task_group() as group:
        run: list[Message] = []

        async def turn() -> None:
            run.extend((await run_query("join me", turn_options(held, store, project, session_id))).messages)

        group.start_soon(turn)
        await held.held.wait()  # mid-turn: the prompt is stored, nothing else yet
        follower = subprocess.Popen(
            command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ
        )
        assert follower.stdout is not None
        first = json.loads(await anyio.to_thread.run_sync(follower.stdout.readline))
        held.release.set()
    rest, errors = await anyio.to_thread.run_sync(follower.communicate)
    assert follower.returncode == 0, errors
    lines = [first, *(json.loads(line) for line in rest.splitlines())]
    assert (lines[0]["type"], lines[0]["message"]["content"]) == ("user", "join me")
    yielded = [m for m in run if isinstance(m, AssistantMessage | UserMessage | ResultMessage)]
    assert [line.get("uuid") for line in lines[1:]] == [m.uuid for m in yielded]
    assert [line["type"] for line in lines] == ["user", "assistant", "user", "assistant", "user", "assistant", "result"]
    assert lines[-1]["result"] == "done following"


async def test_followers_joining_mid_turn_in_this_process(store: SessionStore, store_url: str, project: Path) -> None:
    session_id = await first_turn(store, project)
    held = HeldModel()
    other = open_store(store_url)  # the followers' own store object (own connections)
    from_start: list[Message] = []
    from_now: list[Message] = []

    async def collect(into: list[Message], start: bool) -> None:
        async for message in follow(
            session_id, session_store=other, from_start=start, timeout=60, options=AgentOptions(cwd=project)
        ):
            into.append(message)

    try:
        async with anyio.create_task_group() as group:
            run: list[Message] = []

            async def turn() -> None:
                run.extend((await run_query("mid turn", turn_options(held, store, project, session_id))).messages)

            group.start_soon(turn)
            await held.held.wait()
            group.start_soon(collect, from_start, True)
            group.start_soon(collect, from_now, False)
            await anyio.wait_all_tasks_blocked()
            held.release.set()
    finally:
        await store_access(other).close()
    yielded = [identity(m) for m in run if isinstance(m, AssistantMessage | UserMessage | ResultMessage)]
    assert isinstance(from_start[0], UserMessage) and from_start[0].content == "mid turn"
    assert [identity(m) for m in from_start[1:]] == yielded
    # whatever it saw first, the other follower saw the rest of the turn, each message once, to its end
    assert from_now and [identity(m) for m in from_now] == [identity(from_start[0]), *yielded][-len(from_now) :]
    assert isinstance(from_now[-1], ResultMessage)


async def test_a_finished_turn_is_replayed_from_its_start(store: SessionStore, project: Path) -> None:
    session_id = await first_turn(store, project)
    messages = [
        m async for m in follow(session_id, session_store=store, from_start=True, options=AgentOptions(cwd=project))
    ]
    assert [type(m).__name__ for m in messages] == ["UserMessage", "AssistantMessage", "ResultMessage"]
    assert messages[0].content == "hello"  # type: ignore[union-attr]


async def test_an_unknown_session_is_a_typed_error(store: SessionStore, project: Path) -> None:
    with pytest.raises(SessionNotFoundError):
        async for _ in follow(str(uuid.uuid4()), session_store=store, options=AgentOptions(cwd=project)):
            pass
    with pytest.raises(SessionNotFoundError):
        async for _ in follow_entries(store, key_of(project, str(uuid.uuid4()))):
            pass


async def test_a_follower_gives_up_after_its_timeout(store: SessionStore, project: Path) -> None:
    session_id = await first_turn(store, project)
    with pytest.raises(FollowTimeoutError) as raised:
        async for _ in follow(session_id, session_store=store, timeout=0.3, options=AgentOptions(cwd=project)):
            pass
    assert raised.value.session_id == session_id


async def test_server_stores_notify_their_watchers(store: SessionStore, store_url: str, project: Path) -> None:
    access = store_access(store)
    if store_url.startswith("sqlite"):
        assert not access.can("watch")  # polled
        return
    assert access.can("watch")
    key = key_of(project, str(uuid.uuid4()))
    writer = open_store(store_url)
    try:
        async with access.watch(key) as feed:
            assert await feed.wait(0.05) is False
            await store_access(writer).append(key, [{"type": "note", "n": 1}])
            assert await feed.wait(60) is True  # woken by the other store object's append
            await store_access(writer).append({**key, "subpath": "subagents/agent-x"}, [{"type": "note"}])
            assert await feed.wait(0.05) is False  # another transcript's channel
    finally:
        await store_access(writer).close()


async def test_bad_arguments_are_refused(store: SessionStore, project: Path) -> None:
    session_id = await first_turn(store, project)
    key = key_of(project, session_id)
    with pytest.raises(ValueError, match="poll_interval"):
        async for _ in follow_entries(store, key, poll_interval=0):
            pass
    with pytest.raises(LookupError):
        async for _ in follow_entries(store, key, after_uuid="no-such-uuid"):
            pass
    entries: list[dict[str, Any]] = [e async for e in follow_entries(store, key)]
    assert entries[-1]["type"] == RESULT_ENTRY_TYPE


async def test_the_client_follows_its_session_without_connecting(store: SessionStore, project: Path) -> None:
    session_id = await first_turn(store, project)
    client = AgentClient(AgentOptions(resume=session_id, session_store=store, cwd=project))
    messages = [m async for m in client.follow(from_start=True, timeout=30)]
    assert [type(m).__name__ for m in messages] == ["UserMessage", "AssistantMessage", "ResultMessage"]
    with pytest.raises(ConfigurationError):
        async for _ in AgentClient(AgentOptions(session_store=store)).follow():
            pass


LONG = 3000
"""Entries already stored in the long session a follower joins."""


async def follow_appends(store: SessionStore, key: SessionKey, appended: int) -> list[dict[str, Any]]:
    """Store a session of `LONG` entries, follow it from its end while `appended` entries and a turn
    end are stored one by one (each once the follower has the one before), and give what it saw."""
    access = store_access(store)
    await access.append(key, [{"type": "user", "uuid": f"old-{n}", "n": n} for n in range(LONG)])
    sent, received = anyio.create_memory_object_stream[dict[str, Any]](1)
    seen: list[dict[str, Any]] = []

    async def follower() -> None:
        async with sent:
            async for entry in follow_entries(store, key, after_uuid=f"old-{LONG - 1}", poll_interval=0.01):
                await sent.send(entry)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(follower)
        async with received:
            for n in range(appended):
                await access.append(key, [{"type": "user", "uuid": f"new-{n}", "n": n}])
                seen.append(await received.receive())
            await access.append(key, [{"type": RESULT_ENTRY_TYPE, "resultMessage": {}}])
            seen.extend([entry async for entry in received])
    return seen


async def test_a_long_session_is_followed_entry_by_entry(store: SessionStore, project: Path) -> None:
    seen = await follow_appends(store, key_of(project, str(uuid.uuid4())), 40)
    assert [entry.get("uuid") for entry in seen] == [*(f"new-{n}" for n in range(40)), None]
    assert seen[-1]["type"] == RESULT_ENTRY_TYPE


class ReadCountingStore(SQLiteStore):
    """A SQLite store that counts the entries it read, whole (`load`, `load_texts`) or from the end
    (`load_tail`): a store of the caller's own."""

    whole = 0
    tail = 0

    async def load(self, key: SessionKey) -> list[SessionStoreEntry] | None:
        entries = await super().load(key)
        self.whole += len(entries or [])
        return entries

    async def load_texts(self, key: SessionKey) -> StoredTexts | None:
        stored = await super().load_texts(key)
        self.whole += len(stored.texts) if stored else 0
        return stored

    async def load_tail(self, key: SessionKey, limit: int) -> list[SessionStoreEntry] | None:
        entries = await super().load_tail(key, limit)
        self.tail += len(entries or [])
        return entries


async def test_a_wake_reads_what_is_new_not_the_whole_session(tmp_path: Path, project: Path) -> None:
    """A follower reads the session whole once; each of its 40 wakes then reads a short tail of the
    3,000 entries (the old follower read all of them at every wake: 123,000 entries)."""
    store = ReadCountingStore(tmp_path / "sessions.db")
    try:
        seen = await follow_appends(store, key_of(project, str(uuid.uuid4())), 40)
    finally:
        await store_access(store).close()
    assert len(seen) == 41
    assert store.whole in (LONG, LONG + 1)  # read once: before the first append, or just after it
    assert 0 < store.tail <= 41 * 2 * 16  # a wake or two per append, each a window of 16 at first


async def test_a_burst_longer_than_the_window_and_metadata_entries_are_each_followed_once(
    store: SessionStore, project: Path
) -> None:
    key = key_of(project, str(uuid.uuid4()))
    access = store_access(store)
    await access.append(key, [{"type": "user", "uuid": "first"}, {"type": "note", "n": -1}])
    burst = [{"type": "user", "uuid": f"u-{n}"} if n % 3 else {"type": "note", "n": n} for n in range(200)]
    seen: list[dict[str, Any]] = []
    async with anyio.create_task_group() as tasks:

        async def follower() -> None:
            async for entry in follow_entries(store, key, after_uuid="first", poll_interval=0.01):
                seen.append(entry)
                if entry.get("n") == -1:  # caught up: the burst follows
                    tasks.start_soon(write)

        async def write() -> None:
            await access.append(key, burst[:5])
            await anyio.sleep(0.05)
            await access.append(key, burst[5:])
            await access.append(key, [{"type": "user", "uuid": "last"}, {"type": RESULT_ENTRY_TYPE}])

        tasks.start_soon(follower)
    assert seen == [{"type": "note", "n": -1}, *burst, {"type": "user", "uuid": "last"}, {"type": RESULT_ENTRY_TYPE}]
