"""RedisStore beyond the conformance suite: layout version, forks without copies, reclaiming keys."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tether._vocabulary.store import SessionKey
from tether.errors import ConfigurationError

redis = pytest.importorskip("redis")
from tether.sessions.stores.redis import SCHEMA_VERSION, RedisStore  # noqa: E402

pytestmark = [pytest.mark.redis, pytest.mark.anyio]


def chain(count: int, parent: str | None = None) -> list[dict[str, Any]]:
    entries = []
    for index in range(count):
        entry: dict[str, Any] = {"type": "user", "uuid": str(uuid.uuid4()), "parentUuid": parent, "n": index}
        parent = entry["uuid"]
        entries.append(entry)
    return entries


def key(session_id: str) -> SessionKey:
    return SessionKey(project_key="-p", session_id=session_id)


async def keys_of(client: Any, prefix: str) -> set[str]:
    return {k.decode() async for k in client.scan_iter(match=f"{{{prefix}}}*")}


async def test_fork_copies_nothing_and_delete_leaves_no_keys_behind(redis_url: str, redis_prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url)
    store = RedisStore(client=client, prefix=redis_prefix)
    history = chain(100)
    await store.append(key("a"), history)
    await store.append(SessionKey(project_key="-p", session_id="a", subpath="subagents/x"), chain(3))
    lists_before = {k for k in await keys_of(client, redis_prefix) if ":e:" in k}
    await store.fork(key("a"), key("b"), history[39]["uuid"])
    assert {k for k in await keys_of(client, redis_prefix) if ":e:" in k} == lists_before
    b_more = chain(10, history[39]["uuid"])
    await store.append(key("b"), b_more)
    await store.fork(key("b"), key("c"), b_more[4]["uuid"])
    await store.delete(key("a"))
    entry_lists = [k for k in await keys_of(client, redis_prefix) if ":e:" in k]
    assert sorted([await client.llen(k) for k in entry_lists]) == [10, 40]  # a keeps 40 for b and c
    await store.delete(key("b"))
    assert await store.load(key("c")) == history[:40] + b_more[:5]
    await store.delete(key("c"))
    bookkeeping = {f"{{{redis_prefix}}}:{name}" for name in ("next", "clock", "schema")}
    assert await keys_of(client, redis_prefix) == bookkeeping
    await store.close()
    assert await client.ping()  # a client passed in stays open
    await client.aclose()


async def test_a_newer_layout_is_refused(redis_url: str, redis_prefix: str) -> None:
    store = RedisStore(redis_url, prefix=redis_prefix)
    await store.append(key("s1"), chain(1))
    await store.close()
    client = redis.asyncio.Redis.from_url(redis_url)
    assert int(await client.get(f"{{{redis_prefix}}}:schema")) == SCHEMA_VERSION
    await client.set(f"{{{redis_prefix}}}:schema", SCHEMA_VERSION + 1)
    await client.aclose()
    newer = RedisStore(redis_url, prefix=redis_prefix)
    with pytest.raises(ConfigurationError, match="upgrade tether"):
        await newer.load(key("s1"))
    await newer.close()


async def test_prefixes_are_separate_namespaces(redis_url: str, redis_prefix: str) -> None:
    one, two = RedisStore(redis_url, prefix=redis_prefix), RedisStore(redis_url, prefix=redis_prefix + "-2")
    await one.append(key("s1"), chain(1))
    assert await two.load(key("s1")) is None
    await two.append(key("s1"), chain(2))  # the same id in another prefix is another session
    await two.delete(key("s1"))
    loaded = await one.load(key("s1"))
    assert loaded is not None and len(loaded) == 1
    await one.close()
    await two.close()


def test_a_prefix_with_braces_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="prefix"):
        RedisStore("redis://127.0.0.1:6379/0", prefix="{x}")
