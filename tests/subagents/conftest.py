"""Fixtures of the subagent tests: every kind of session store, and a project with a file to read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.stores.conftest import postgres_url, redis_prefix, redis_url  # noqa: F401 (fixtures)

from tether.sessions.stores.memory import MemoryStore

STORE_KINDS = ["memory", "sqlite", "jsonl", "postgres", "redis", "sdk"]


@pytest.fixture(params=STORE_KINDS)
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Each store in turn: tether's five, and the Claude SDK's own `InMemorySessionStore` (which has
    no `fork`, so forks are copies)."""
    kind = request.param
    if kind == "memory":
        yield MemoryStore()
    elif kind == "sqlite":
        from tether.sessions.stores.sqlite import SQLiteStore

        store: Any = SQLiteStore(tmp_path / "sessions.db")
        yield store
        await store.close()
    elif kind == "jsonl":
        from tether.sessions.stores.jsonl import JsonlStore

        yield JsonlStore(tmp_path / "claude")
    elif kind == "postgres":
        from tether.sessions.stores.postgres import PostgresStore

        store = PostgresStore(request.getfixturevalue("postgres_url"))
        yield store
        await store.close()
    elif kind == "redis":
        from tether.sessions.stores.redis import RedisStore

        store = RedisStore(request.getfixturevalue("redis_url"), prefix=request.getfixturevalue("redis_prefix"))
        yield store
        await store.close()
    else:
        sdk = pytest.importorskip("claude_agent_sdk")
        yield sdk.InMemorySessionStore()


@pytest.fixture
def app(project: Path) -> Path:
    """The project, with an `app.py` for a reviewer to read."""
    (project / "app.py").write_text("print('hi')\n")
    return project
