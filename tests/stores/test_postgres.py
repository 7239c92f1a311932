"""PostgresStore beyond the conformance suite: schema migrations, forks without copies, reclaiming space."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest

from tether._vocabulary.store import SessionKey
from tether.errors import ConfigurationError, SessionConflictError, SessionNotFoundError

psycopg = pytest.importorskip("psycopg")
from tether.sessions.stores.postgres import SCHEMA_VERSION, PostgresStore  # noqa: E402

pytestmark = [pytest.mark.postgres]
WORKERS = str(Path(__file__).with_name("workers.py"))


def chain(session_id: str, count: int, parent: str | None = None) -> list[dict[str, Any]]:
    entries = []
    for index in range(count):
        entry: dict[str, Any] = {"type": "user", "uuid": str(uuid.uuid4()), "parentUuid": parent, "n": index}
        parent = entry["uuid"]
        entries.append(entry)
    return entries


def key(session_id: str) -> SessionKey:
    return SessionKey(project_key="-p", session_id=session_id)


def scalar(url: str, sql: str) -> Any:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


def test_many_processes_migrate_an_empty_database_at_once(empty_database: str) -> None:
    workers = [
        subprocess.Popen([sys.executable, WORKERS, "open", empty_database, f"s{i}"], stdout=subprocess.PIPE, text=True)
        for i in range(6)
    ]
    assert [w.communicate(timeout=60)[0].strip() for w in workers] == ["ok"] * 6
    assert scalar(empty_database, "SELECT version FROM tether_schema") == SCHEMA_VERSION
    assert scalar(empty_database, "SELECT count(*) FROM tether_schema") == 1
    assert scalar(empty_database, "SELECT count(*) FROM tether_sessions") == 6


@pytest.mark.anyio
async def test_a_database_with_a_newer_schema_is_refused(empty_database: str) -> None:
    store = PostgresStore(empty_database)
    await store.append(key("s1"), chain("s1", 1))
    await store.close()
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("UPDATE tether_schema SET version = version + 1")
    newer = PostgresStore(empty_database)
    with pytest.raises(ConfigurationError, match="upgrade tether"):
        await newer.load(key("s1"))
    await newer.close()


@pytest.mark.anyio
async def test_fork_copies_nothing_and_delete_frees_what_no_fork_needs(postgres_url: str) -> None:
    store = PostgresStore(postgres_url, scope="gc-test")
    a, b, c = (f"{n}-{uuid.uuid4()}" for n in "abc")
    history = chain(a, 100)
    await store.append(key(a), history)
    before = scalar(postgres_url, "SELECT count(*) FROM tether_entries")
    await store.fork(key(a), key(b), history[39]["uuid"])
    assert scalar(postgres_url, "SELECT count(*) FROM tether_entries") == before
    b_more = chain(b, 10, history[39]["uuid"])
    await store.append(key(b), b_more)
    await store.fork(key(b), key(c), b_more[4]["uuid"])
    await store.delete(key(a))
    assert scalar(postgres_url, "SELECT count(*) FROM tether_entries") == before - 100 + 40 + 10
    await store.delete(key(b))
    assert await store.load(key(c)) == history[:40] + b_more[:5]
    assert scalar(postgres_url, "SELECT count(*) FROM tether_entries") == before - 100 + 40 + 5
    await store.delete(key(c))
    assert scalar(postgres_url, "SELECT count(*) FROM tether_entries") == before - 100
    assert scalar(postgres_url, "SELECT count(*) FROM tether_sessions WHERE scope = 'gc-test'") == 0
    await store.close()


@pytest.mark.anyio
async def test_concurrent_deletes_and_forks_keep_every_live_session_whole(postgres_url: str) -> None:
    """Many tasks on a pool fork, append and delete in one family at once; survivors load intact."""
    store = PostgresStore(postgres_url, scope=f"race-{uuid.uuid4()}", max_size=8)
    root = "root"
    history = chain(root, 30)
    await store.append(key(root), history)
    expected: dict[str, list[dict[str, Any]]] = {root: history}
    some_forked = anyio.Event()
    forked: list[str] = []

    async def delete_root_midway() -> None:
        await some_forked.wait()
        await store.delete(key(root))

    async def branch(index: int) -> None:
        name = f"f{index}"
        cut = history[index]["uuid"]
        try:
            await store.fork(key(root), key(name), cut)
        except SessionNotFoundError:
            return  # the root was deleted first
        forked.append(name)
        if len(forked) == 5:
            some_forked.set()
        more = chain(name, 3, cut)
        await store.append(key(name), more, expected_leaf=cut)
        expected[name] = history[: index + 1] + more
        if index % 3 == 0:
            await store.delete(key(name))
            del expected[name]

    async with anyio.create_task_group() as group:
        for index in range(0, 30, 2):
            group.start_soon(branch, index)
        group.start_soon(delete_root_midway)
    del expected[root]
    assert len(expected) >= 3
    for name, entries in expected.items():
        assert await store.load(key(name)) == entries
    await store.close()


@pytest.mark.anyio
async def test_a_losing_writer_on_another_connection_writes_nothing(postgres_url: str) -> None:
    first, second = PostgresStore(postgres_url, scope="conn"), PostgresStore(postgres_url, scope="conn")
    sid = f"s-{uuid.uuid4()}"
    base = chain(sid, 1)
    await first.append(key(sid), base)
    await first.append(key(sid), chain(sid, 1, base[0]["uuid"]), expected_leaf=base[0]["uuid"])
    with pytest.raises(SessionConflictError):
        await second.append(key(sid), chain(sid, 1, base[0]["uuid"]), expected_leaf=base[0]["uuid"])
    loaded = await second.load(key(sid))
    assert loaded is not None and len(loaded) == 2
    await first.close()
    await second.close()
