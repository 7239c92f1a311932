"""Every store tether ships passes the public conformance suite, against real backends.

Each persistent store runs it twice: with `with_scope` views of one store (shared connections),
and with a separate store object per scope over the same backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tether.sessions.stores.memory import MemoryStore
from tether.sessions.stores.sqlite import SQLiteStore
from tether.testing.conformance import run_store_conformance

pytestmark = pytest.mark.anyio

SHARING = ["views", "separate"]


async def conforms(root: Any, make_separate: Any, sharing: str) -> None:
    report = await run_store_conformance(root.with_scope if sharing == "views" else make_separate)
    assert not report.skipped
    assert len(report.passed) >= 24
    await root.close()


async def test_memory_store_conforms() -> None:
    backend = MemoryStore()
    report = await run_store_conformance(backend.with_scope)
    assert not report.skipped
    assert len(report.passed) >= 24


@pytest.mark.parametrize("sharing", SHARING)
async def test_sqlite_store_conforms(tmp_path: Path, sharing: str) -> None:
    path = tmp_path / "sessions.db"
    await conforms(SQLiteStore(path), lambda scope: SQLiteStore(path, scope=scope), sharing)


@pytest.mark.postgres
@pytest.mark.parametrize("sharing", SHARING)
async def test_postgres_store_conforms(postgres_url: str, sharing: str) -> None:
    from tether.sessions.stores.postgres import PostgresStore

    await conforms(PostgresStore(postgres_url), lambda scope: PostgresStore(postgres_url, scope=scope), sharing)


@pytest.mark.redis
@pytest.mark.parametrize("sharing", SHARING)
async def test_redis_store_conforms(redis_url: str, redis_prefix: str, sharing: str) -> None:
    from tether.sessions.stores.redis import RedisStore

    def make(scope: str | None) -> RedisStore:
        return RedisStore(redis_url, prefix=redis_prefix, scope=scope)

    await conforms(RedisStore(redis_url, prefix=redis_prefix), make, sharing)


async def test_a_broken_store_fails_with_the_contract_named() -> None:
    class HeadInsteadOfTail(MemoryStore):
        async def load_tail(self, key: Any, limit: int) -> Any:
            entries = await self.load(key)
            return None if entries is None else entries[:limit]

    shared = MemoryStore()

    def make(scope: str | None) -> MemoryStore:
        store = HeadInsteadOfTail(scope=scope)
        store._data = shared._data
        return store

    with pytest.raises(AssertionError, match=r"store contract\(s\) broken") as caught:
        await run_store_conformance(make)
    assert "[load_tail] load_tail(3) is not the last 3 entries" in str(caught.value)


async def test_a_minimal_store_is_checked_and_its_missing_capabilities_listed() -> None:
    class MinimalStore:
        def __init__(self) -> None:
            self.inner = MemoryStore()

        async def append(self, key: Any, entries: list[Any]) -> None:
            await self.inner.append(key, entries)

        async def load(self, key: Any) -> Any:
            return await self.inner.load(key)

    report = await run_store_conformance(lambda scope: MinimalStore(), scopes=False)
    assert "append then load returns the same entries in order" in report.passed
    assert "fork shares history and is independent afterwards" in report.skipped
    assert "scope isolation for read, list, fork, delete and find" in report.skipped
