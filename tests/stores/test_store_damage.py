"""Damaged data in a store: one bad row or line hides nothing else, and a broken store says so.

Garbage is written straight into each store's own storage (SQL rows, Redis keys, JSONL lines),
as another program or a damaged disk would, after real sessions were made through `query()`.
Every other session must still list, load and resume; the damaged one loads with what is
readable and `get_session_info` counts what was skipped. Driver errors and damaged node rows
raise `StoreError` naming the store and the operation; fork chains written with a cycle are
read up to the cycle; a stored leaf that disagrees with the entries is repaired on load.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tether import AgentOptions, Message, StoreError, SystemMessage, get_session_info_async
from tether._vocabulary.store import SessionKey
from tether.sessions.entries import make_entry
from tether.sessions.stores.jsonl import JsonlStore
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing import ScriptedModel, run_query

pytestmark = pytest.mark.anyio

GARBAGE = [
    "not json {",
    "[1, 2]",
    "null",
    '"a string"',
    "[" * 20_000 + "]" * 20_000,  # nests deeper than any JSON decoder recurses
    '{"type": "user", "uuid": 7, "message": {"role": "user", "content": "a uuid that is a number"}}',
]


@dataclass
class Damageable:
    """A store, and how to write garbage into its storage for one session."""

    store: Any
    add_entries: Callable[[SessionKey, list[str]], Awaitable[None]]
    """Append raw texts to the session's own entries (its stored length grows with them)."""
    break_summary: Callable[[SessionKey], Awaitable[None]] | None
    """Replace the stored summary by non-JSON text (None: the store keeps no summary)."""
    set_node: Callable[[SessionKey, dict[str, Any]], Awaitable[None]] | None
    """Overwrite fields of the session's node row (`length`, `leaf`, `parent`, `cutoff`)."""


def sqlite_damageable(path: Path) -> Damageable:
    store = SQLiteStore(path)

    def node(db: sqlite3.Connection, key: SessionKey) -> tuple[int, int]:
        row = db.execute(
            "SELECT id, length FROM tether_sessions WHERE session_id = ? AND project_key = ? AND subpath = ''"
            " AND deleted = 0",
            (key["session_id"], key["project_key"]),
        ).fetchone()
        assert row is not None
        return row[0], row[1]

    async def add_entries(key: SessionKey, texts: list[str]) -> None:
        with sqlite3.connect(path) as db:
            node_id, length = node(db, key)
            rows = [((node_id << 32) + length + i, text) for i, text in enumerate(texts)]
            db.executemany("INSERT INTO tether_entries (id, data) VALUES (?, ?)", rows)
            db.execute("UPDATE tether_sessions SET length = ? WHERE id = ?", (length + len(texts), node_id))

    async def break_summary(key: SessionKey) -> None:
        with sqlite3.connect(path) as db:
            db.execute("UPDATE tether_sessions SET summary = '{not json' WHERE id = ?", (node(db, key)[0],))

    async def set_node(key: SessionKey, values: dict[str, Any]) -> None:
        with sqlite3.connect(path) as db:
            node_id = node(db, key)[0]
            for column, value in values.items():
                value = node_id if value == "self" else value
                db.execute(f"UPDATE tether_sessions SET {column} = ? WHERE id = ?", (value, node_id))

    return Damageable(store, add_entries, break_summary, set_node)


def postgres_damageable(url: str) -> Damageable:
    import psycopg

    from tether.sessions.stores.postgres import PostgresStore

    store = PostgresStore(url)

    def node(db: psycopg.Connection[Any], key: SessionKey) -> tuple[int, int]:
        row = db.execute(
            "SELECT id, length FROM tether_sessions WHERE session_id = %s AND project_key = %s AND subpath = ''"
            " AND NOT deleted",
            (key["session_id"], key["project_key"]),
        ).fetchone()
        assert row is not None
        return row[0], row[1]

    async def add_entries(key: SessionKey, texts: list[str]) -> None:
        with psycopg.connect(url, autocommit=True) as db:
            node_id, length = node(db, key)
            for offset, text in enumerate(texts):
                db.execute(
                    "INSERT INTO tether_entries (session, pos, data) VALUES (%s, %s, %s)",
                    (node_id, length + offset, text),
                )
            db.execute("UPDATE tether_sessions SET length = %s WHERE id = %s", (length + len(texts), node_id))

    async def break_summary(key: SessionKey) -> None:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("UPDATE tether_sessions SET summary = '{not json' WHERE id = %s", (node(db, key)[0],))

    async def set_node(key: SessionKey, values: dict[str, Any]) -> None:
        with psycopg.connect(url, autocommit=True) as db:
            node_id = node(db, key)[0]
            for column, value in values.items():
                value = node_id if value == "self" else value
                db.execute(f"UPDATE tether_sessions SET {column} = %s WHERE id = %s", (value, node_id))

    return Damageable(store, add_entries, break_summary, set_node)


def redis_damageable(url: str, prefix: str) -> Damageable:
    import redis.asyncio

    from tether.sessions.stores.redis import RedisStore

    store = RedisStore(url, prefix=prefix)
    base = "{" + prefix + "}"

    async def node(client: redis.asyncio.Redis, key: SessionKey) -> str:
        field = f"{quote(key['project_key'], safe='')}:{key['session_id']}:"
        node_id = await client.hget(f"{base}:k:", field)
        assert isinstance(node_id, bytes)
        return node_id.decode()

    async def add_entries(key: SessionKey, texts: list[str]) -> None:
        client = redis.asyncio.Redis.from_url(url)
        node_id = await node(client, key)
        await client.rpush(f"{base}:e:{node_id}", *texts)
        await client.hincrby(f"{base}:s:{node_id}", "length", len(texts))
        await client.aclose()

    async def break_summary(key: SessionKey) -> None:
        client = redis.asyncio.Redis.from_url(url)
        await client.hset(f"{base}:s:{await node(client, key)}", "summary", "{not json")
        await client.aclose()

    async def set_node(key: SessionKey, values: dict[str, Any]) -> None:
        client = redis.asyncio.Redis.from_url(url)
        node_id = await node(client, key)
        for name, value in values.items():
            await client.hset(f"{base}:s:{node_id}", name, node_id if value == "self" else str(value))
        await client.aclose()

    return Damageable(store, add_entries, break_summary, set_node)


def jsonl_damageable(root: Path) -> Damageable:
    store = JsonlStore(root)

    async def add_entries(key: SessionKey, texts: list[str]) -> None:
        with store.path_of(key).open("a", encoding="utf-8") as file:
            file.writelines(text + "\n" for text in texts)

    return Damageable(store, add_entries, None, None)


POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)
REDIS = pytest.param("redis", marks=pytest.mark.redis)


async def open_damageable(request: pytest.FixtureRequest, tmp_path: Path) -> Damageable:
    kind = request.param
    if kind == "sqlite":
        return sqlite_damageable(tmp_path / "sessions.db")
    if kind == "jsonl":
        return jsonl_damageable(tmp_path / "claude")
    if kind == "postgres":
        return postgres_damageable(request.getfixturevalue("empty_database"))
    return redis_damageable(request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix"))


@pytest.fixture(params=["sqlite", "jsonl", POSTGRES, REDIS])
async def damageable(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Damageable]:
    """Every persistent store."""
    made = await open_damageable(request, tmp_path)
    yield made
    await made.store.close()


@pytest.fixture(params=["sqlite", POSTGRES, REDIS])
async def node_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Damageable]:
    """The stores that keep a node per transcript (its length, leaf and fork parent)."""
    made = await open_damageable(request, tmp_path)
    yield made
    await made.store.close()


@pytest.fixture(params=["sqlite", REDIS])
async def untyped_node_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Damageable]:
    """The node stores whose fields can hold text where a number belongs (PostgreSQL's columns are typed)."""
    made = await open_damageable(request, tmp_path)
    yield made
    await made.store.close()


def init_data(messages: list[Message]) -> dict[str, Any]:
    first = messages[0]
    assert isinstance(first, SystemMessage) and first.subtype == "init"
    return first.data


async def run(prompt: str, reply: str, store: Any, cwd: Path, **options: Any) -> tuple[list[Message], ScriptedModel]:
    model = ScriptedModel([reply])
    agent_options = AgentOptions(model=model, session_store=store, cwd=cwd, **options)
    return (await run_query(prompt, agent_options)).messages, model


def said(request_messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) of each message the model was sent."""
    return [
        (m["role"], " ".join(b.get("text", "") for b in m["content"] if b.get("type") == "text"))
        for m in request_messages
    ]


async def make_sessions(store: Any, cwd: Path, names: list[str]) -> tuple[str, dict[str, SessionKey]]:
    keys: dict[str, SessionKey] = {}
    project = ""
    for name in names:
        messages, _ = await run(f"I am {name}", f"Hello {name}", store, cwd)
        data = init_data(messages)
        project = data["project_key"]
        keys[name] = SessionKey(project_key=project, session_id=data["session_id"])
    return project, keys


async def test_garbage_in_one_session_hides_no_other_and_the_damaged_one_reads_what_it_can(
    damageable: Damageable, tmp_path: Path
) -> None:
    store = damageable.store
    project, keys = await make_sessions(store, tmp_path, ["ann", "bob", "cid"])
    before = {name: await store.load(key) for name, key in keys.items()}
    await damageable.add_entries(keys["bob"], GARBAGE)
    if damageable.break_summary is not None:
        await damageable.break_summary(keys["bob"])

    ids = {key["session_id"] for key in keys.values()}
    assert {item["session_id"] for item in await store.list_sessions(project)} == ids
    assert {item["session_id"] for item in await store.list_session_summaries(project)} == ids
    assert {item["data"].get("first_prompt") for item in (await store.list_page(project)).items} >= {
        "I am ann",
        "I am cid",
    }
    for name in ("ann", "cid", "bob"):
        assert await store.load(keys[name]) == before[name]  # bob: everything readable, nothing else
        _, model = await run("Who am I?", f"You are {name}", store, tmp_path, resume=keys[name]["session_id"])
        assert said(model.requests[0].messages) == [
            ("user", f"I am {name}"),
            ("assistant", f"Hello {name}"),
            ("user", "Who am I?"),
        ]
    info = await get_session_info_async(keys["bob"]["session_id"], tmp_path, store=store)
    assert info.skipped_entries == len(GARBAGE)
    assert (await get_session_info_async(keys["ann"]["session_id"], tmp_path, store=store)).skipped_entries == 0


async def test_a_session_row_of_the_wrong_types_is_a_store_error_for_it_alone(
    untyped_node_store: Damageable, tmp_path: Path
) -> None:
    store, set_node = untyped_node_store.store, untyped_node_store.set_node
    assert set_node is not None
    project, keys = await make_sessions(store, tmp_path, ["ann", "bob"])
    await set_node(keys["bob"], {"length": "many"})
    with pytest.raises(StoreError, match="load") as caught:
        await store.load(keys["bob"])
    assert type(store).__name__ in str(caught.value) and caught.value.operation == "load"
    assert await store.load(keys["ann"]) is not None
    assert len(await store.list_session_summaries(project)) == 2


async def test_a_fork_chain_written_with_a_cycle_is_read_up_to_the_cycle(
    node_store: Damageable, tmp_path: Path
) -> None:
    store, set_node = node_store.store, node_store.set_node
    assert set_node is not None
    _, keys = await make_sessions(store, tmp_path, ["ann"])
    entries = await store.load(keys["ann"])
    assert entries is not None and len(entries) > 2
    await set_node(keys["ann"], {"parent": "self", "cutoff": 2})  # its own parent
    loaded = await store.load(keys["ann"])  # the node's own entries, once: where they start is the store's
    assert loaded is not None and len(loaded) == len(entries) - 2 and all(entry in entries for entry in loaded)
    assert await store.load_tail(keys["ann"], 1) == loaded[-1:]
    fork = SessionKey(project_key=keys["ann"]["project_key"], session_id=str(uuid.uuid4()))
    await store.fork(keys["ann"], fork)
    assert await store.load(fork) == loaded
    await store.delete(keys["ann"])
    await store.delete(fork)
    assert await store.load(keys["ann"]) is None


async def test_a_stored_leaf_that_disagrees_with_the_entries_is_repaired_on_load(
    node_store: Damageable, tmp_path: Path
) -> None:
    store, set_node = node_store.store, node_store.set_node
    assert set_node is not None
    _, keys = await make_sessions(store, tmp_path, ["ann"])
    key = keys["ann"]
    await set_node(key, {"leaf": "not-a-uuid-of-this-session"})
    _, model = await run("Still there?", "Yes", store, tmp_path, resume=key["session_id"])
    assert said(model.requests[0].messages)[-1] == ("user", "Still there?")
    entries = await store.load(key)
    assert entries is not None
    assert [e for e in entries if e.get("type") == "assistant"][-1]["message"]["content"][0]["text"] == "Yes"
    found = await store.find(key["session_id"])
    assert found is not None and found.leaf == [e for e in entries if e.get("uuid")][-1]["uuid"]


# -- driver errors ------------------------------------------------------------------------------


async def test_a_damaged_sqlite_page_found_after_open_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteStore(path)
    key = SessionKey(project_key="-p", session_id="s1")
    entries = [
        make_entry("user", {"role": "user", "content": "x" * 2000}, session_id="s1", parent_uuid=None, cwd="/p")
        for _ in range(50)
    ]
    await store.append(key, entries)
    await store.close()  # checkpoints the WAL into the file
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    data[page:] = b"\xff" * (len(data) - page)  # every page but the header and schema page
    path.write_bytes(bytes(data))
    reopened = SQLiteStore(path)
    try:
        with pytest.raises(StoreError) as caught:
            await reopened.load(key)
        assert "SQLiteStore(" in str(caught.value) and caught.value.operation == "load"
        assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    finally:
        await reopened.close()


@pytest.mark.postgres
async def test_a_postgres_error_during_an_operation_is_a_store_error(empty_database: str) -> None:
    import psycopg

    from tether.sessions.stores.postgres import PostgresStore

    store = PostgresStore(empty_database)
    key = SessionKey(project_key="-p", session_id="s1")
    try:
        await store.append(key, [{"type": "user", "uuid": "u1", "message": {"role": "user", "content": "hi"}}])
        with psycopg.connect(empty_database, autocommit=True) as db:
            db.execute("DROP TABLE tether_entries")
        with pytest.raises(StoreError) as caught:
            await store.load(key)
        assert "PostgresStore(" in str(caught.value) and caught.value.operation == "load"
        assert isinstance(caught.value.__cause__, psycopg.Error)
    finally:
        await store.close()


@pytest.mark.redis
async def test_a_redis_error_during_an_operation_is_a_store_error(redis_url: str, redis_prefix: str) -> None:
    import redis.exceptions

    made = redis_damageable(redis_url, redis_prefix)
    key = SessionKey(project_key="-p", session_id="s1")
    try:
        await made.store.append(key, [{"type": "user", "uuid": "u1", "message": {"role": "user", "content": "hi"}}])
        assert made.set_node is not None
        await made.set_node(key, {"cutoff": "none"})
        with pytest.raises(StoreError, match="damaged data") as caught:
            await made.store.load(key)
        assert "RedisStore(" in str(caught.value) and caught.value.operation == "load"
        assert isinstance(caught.value.__cause__, redis.exceptions.RedisError)
    finally:
        await made.store.close()


async def test_a_sqlite_text_that_is_not_utf8_is_skipped_like_other_garbage(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "sessions.db")
    key = SessionKey(project_key="-utf8", session_id=str(uuid.uuid4()))
    good = {"type": "user", "uuid": "u1", "message": {"role": "user", "content": "café ✓"}}
    await store.append(key, [good])
    await store.close()
    with sqlite3.connect(tmp_path / "sessions.db") as db:
        node_id, length = db.execute("SELECT id, length FROM tether_sessions").fetchone()
        db.execute(  # TEXT whose bytes are not UTF-8, as another writer could leave it
            "INSERT INTO tether_entries (id, data) VALUES (?, CAST(X'7b2275756964223a2278ff227d' AS TEXT))",
            ((node_id << 32) + length,),
        )
        db.execute("UPDATE tether_sessions SET length = length + 1 WHERE id = ?", (node_id,))
    assert await store.load(key) == [good]
    found = await store.find(key["session_id"])
    assert found is not None and found.skipped_entries == 1
