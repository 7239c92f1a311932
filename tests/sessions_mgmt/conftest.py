"""Fixtures of the session-management tests: every store the helpers must work on.

`any_store` runs a test on MemoryStore and SQLiteStore, and on PostgreSQL and Redis when their
test servers answer (`TETHER_TEST_POSTGRES_URL`, `TETHER_TEST_REDIS_URL`; skipped otherwise).
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.sessions.memory import MemoryStore
from tether.sessions.store import SessionStore

POSTGRES_URL = os.environ.get("TETHER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TETHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

KINDS: list[Any] = [
    "memory",
    pytest.param("sqlite", marks=pytest.mark.skipif(not importlib.util.find_spec("tether.sessions.sqlite"), reason="")),
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("redis", marks=pytest.mark.redis),
]


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the module (dropped afterwards); skips without a server."""
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc}")
    from urllib.parse import urlsplit, urlunsplit

    name = f"tether_mgmt_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(POSTGRES_URL)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
        finally:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _redis_or_skip() -> None:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    finally:
        client.close()


@pytest.fixture(params=KINDS)
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SessionStore]:
    """Each store kind in turn, empty."""
    kind = request.param
    if kind == "memory":
        yield MemoryStore()
        return
    store: Any
    if kind == "sqlite":
        from tether.sessions.sqlite import SQLiteStore

        store = SQLiteStore(tmp_path / "sessions.db")
    elif kind == "postgres":
        from tether.sessions.postgres import PostgresStore

        store = PostgresStore(request.getfixturevalue("postgres_database"), scope=uuid.uuid4().hex)
    else:
        _redis_or_skip()
        from tether.sessions.redis import RedisStore

        prefix = f"tether-mgmt-{uuid.uuid4().hex[:12]}"
        store = RedisStore(REDIS_URL, prefix=prefix)
    try:
        yield store
    finally:
        await store.close()
        if kind == "redis":
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            try:
                keys = list(client.scan_iter(match=f"{{{prefix}*", count=1000))
                if keys:
                    client.delete(*keys)
            finally:
                client.close()
